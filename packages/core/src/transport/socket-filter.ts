import type dgram from 'node:dgram';
import { createRequire } from 'node:module';

/**
 * Classic BPF socket filters (SO_ATTACH_FILTER, Linux): a program the kernel runs on every
 * datagram before it is queued on the socket, which drops it (returns 0) or keeps it. Node has
 * no binding for setsockopt with a pointer, so it is called in libc through koffi (an FFI with
 * prebuilt binaries). Where that is not possible (another OS or architecture than Linux on x64
 * or arm64, no libc, koffi missing) `attachSocketFilter` says so and nothing is filtered. Never throws.
 * A socket shared between processes (the process-pool's UDP socket) has one filter, whichever
 * process attached it; `readSocketFilter` reads it back.
 */

const SOL_SOCKET = 1;
const SO_ATTACH_FILTER = 26;
const SO_DETACH_FILTER = 27;
/** getsockopt: the socket's filter as attached (SO_GET_FILTER is SO_ATTACH_FILTER's number). */
const SO_GET_FILTER = SO_ATTACH_FILTER;
/** The longest filter `readSocketFilter` reads back, in instructions. */
const LONGEST_READ = 128;
/** struct sock_filter: u16 code, u8 jt, u8 jf, u32 k. */
export const INSTRUCTION_BYTES = 8;

/** Where filters can be set at all: Linux, and the structures below (little-endian, 64-bit pointers). */
export const SOCKET_FILTER_PLATFORM = process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'arm64');

interface Libc {
  setsockopt(fd: number, level: number, name: number, value: Buffer | null, length: number): number;
  /** `length` in and out: [its value] (for SO_GET_FILTER, in instructions). */
  getsockopt(fd: number, level: number, name: number, value: Buffer, length: [number]): number;
  address(buffer: Buffer): bigint;
}

let libc: Libc | null | undefined;

function loadLibc(): Libc | null {
  if (libc !== undefined) return libc;
  libc = null;
  if (!SOCKET_FILTER_PLATFORM) return libc;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as {
      load(name: string): { func(signature: string): (...args: unknown[]) => unknown };
      address(value: unknown): bigint;
    };
    const library = koffi.load('libc.so.6');
    const setsockopt = library.func('int setsockopt(int fd, int level, int name, const void *value, uint32_t length)');
    const getsockopt = library.func('int getsockopt(int fd, int level, int name, void *value, _Inout_ uint32_t *length)');
    libc = {
      setsockopt: (fd, level, name, value, length) => setsockopt(fd, level, name, value, length) as number,
      getsockopt: (fd, level, name, value, length) => getsockopt(fd, level, name, value, length) as number,
      address: (buffer) => koffi.address(buffer),
    };
  } catch {
    libc = null;
  }
  return libc;
}

/** The file descriptor of a bound dgram socket (Node keeps it in an internal handle), or undefined. */
export function datagramSocketFd(socket: dgram.Socket): number | undefined {
  const state = Object.getOwnPropertySymbols(socket).find((symbol) => symbol.description === 'state symbol');
  if (state === undefined) return undefined;
  const fd = (socket as unknown as Record<symbol, { handle?: { fd?: unknown } } | undefined>)[state]?.handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * Attaches `program` (INSTRUCTION_BYTES per instruction, host byte order) to the socket `fd`,
 * replacing any filter it had. Returns whether the kernel took it.
 */
export function attachSocketFilter(fd: number, program: Buffer): boolean {
  const c = loadLibc();
  if (c === null || program.length === 0 || program.length % INSTRUCTION_BYTES !== 0) return false;
  // struct sock_fprog: u16 len, (padding), struct sock_filter *filter: 16 bytes on 64-bit Linux.
  const fprog = Buffer.alloc(16);
  fprog.writeUInt16LE(program.length / INSTRUCTION_BYTES, 0);
  try {
    fprog.writeBigUInt64LE(c.address(program), 8);
    // The kernel copies the program during the call; `program` is referenced until it returns.
    return c.setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, fprog, fprog.length) === 0;
  } catch {
    return false;
  }
}

/** Removes the socket's filter (everything is queued again). Returns whether one was removed. */
export function detachSocketFilter(fd: number): boolean {
  const c = loadLibc();
  if (c === null) return false;
  try {
    return c.setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, Buffer.alloc(4), 4) === 0;
  } catch {
    return false;
  }
}

/**
 * The filter the socket `fd` has now, as it was attached (by any process holding the socket: a
 * socket shared between processes has one filter): its program, an empty buffer when it has
 * none, or undefined when it cannot be read (no filters here, or one longer than LONGEST_READ
 * instructions).
 */
export function readSocketFilter(fd: number): Buffer | undefined {
  const c = loadLibc();
  if (c === null) return undefined;
  const program = Buffer.alloc(LONGEST_READ * INSTRUCTION_BYTES);
  const length: [number] = [LONGEST_READ];
  try {
    if (c.getsockopt(fd, SOL_SOCKET, SO_GET_FILTER, program, length) !== 0) return undefined;
  } catch {
    return undefined;
  }
  const instructions = length[0];
  return instructions >= 0 && instructions <= LONGEST_READ ? program.subarray(0, instructions * INSTRUCTION_BYTES) : undefined;
}
