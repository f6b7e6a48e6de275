import { SOL_SOCKET, socketLibc } from './socket-libc.js';

/** getsockopt: the socket's memory use, u32 sk_meminfo[SK_MEMINFO_VARS] (Linux 3.10 and later). */
const SO_MEMINFO = 55;
/** sk_meminfo: what is queued for reading (truesize, bytes), and the receive buffer's size. */
const SK_MEMINFO_RMEM_ALLOC = 0;
const SK_MEMINFO_RCVBUF = 1;
/** Room for the kernel's sk_meminfo (9 values in Linux 4.x to 6.x; later kernels may add some). */
const MEMINFO_BYTES = 64;

/**
 * How full the socket `fd`'s receive queue is now: the bytes queued for reading (as the kernel
 * counts them, each datagram with its overhead) over the receive buffer's size, 0 to 1 (about 1:
 * the kernel drops what arrives). Whoever reads the socket: a socket shared between processes has
 * one queue. Undefined where it cannot be read (socket-libc.ts). Never throws. A getsockopt
 * through koffi: for once a sample, not per datagram.
 */
export function readReceiveQueueFill(fd: number): number | undefined {
  const c = socketLibc();
  if (c === null) return undefined;
  const meminfo = Buffer.alloc(MEMINFO_BYTES);
  const length: [number] = [MEMINFO_BYTES];
  try {
    if (c.getsockopt(fd, SOL_SOCKET, SO_MEMINFO, meminfo, length) !== 0) return undefined;
  } catch {
    return undefined;
  }
  if (length[0] < (SK_MEMINFO_RCVBUF + 1) * 4) return undefined;
  const queued = meminfo.readUInt32LE(SK_MEMINFO_RMEM_ALLOC * 4);
  const size = meminfo.readUInt32LE(SK_MEMINFO_RCVBUF * 4);
  return size > 0 ? Math.min(1, queued / size) : undefined;
}
