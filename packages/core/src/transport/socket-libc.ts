import { createRequire } from 'node:module';

/**
 * setsockopt and getsockopt with pointers, which Node has no binding for, called in libc through
 * koffi (an FFI with prebuilt binaries): for socket filters (socket-filter.ts) and the receive
 * queue's fill (receive-queue.ts). Where that is not possible (another OS or architecture than
 * Linux on x64 or arm64, no libc, koffi missing) `socketLibc` is null and callers go without.
 */

export const SOL_SOCKET = 1;

/** Linux, and the structures its callers pass (little-endian, 64-bit pointers). */
export const SOCKET_LIBC_PLATFORM = process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'arm64');

export interface SocketLibc {
  setsockopt(fd: number, level: number, name: number, value: Buffer | null, length: number): number;
  /** `length` in and out: [its value] (bytes; for SO_GET_FILTER, instructions). */
  getsockopt(fd: number, level: number, name: number, value: Buffer, length: [number]): number;
  address(buffer: Buffer): bigint;
}

let libc: SocketLibc | null | undefined;

/** The binding, loaded on first use; null where it cannot be. Never throws. */
export function socketLibc(): SocketLibc | null {
  if (libc !== undefined) return libc;
  libc = null;
  if (!SOCKET_LIBC_PLATFORM) return libc;
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
