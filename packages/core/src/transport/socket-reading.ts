import type net from 'node:net';

/** The parts of a socket's libuv handle that start and stop reading (Node's own net.js uses them). */
interface ReadingHandle {
  reading: boolean;
  readStop(): number;
  readStart(): number;
}

function handleOf(socket: net.Socket): ReadingHandle | undefined {
  const handle = (socket as unknown as { _handle?: Partial<ReadingHandle> | null })._handle;
  return handle !== null && handle !== undefined && typeof handle.readStop === 'function' && typeof handle.readStart === 'function' ? (handle as ReadingHandle) : undefined;
}

/**
 * Stops reading the socket in the kernel, not only in the stream: `socket.pause()` alone stops
 * the 'data' events, but libuv goes on reading what arrives (each read a chunk of its own, kept
 * until resumed, up to the stream's high-water mark), so a pause saves no read. With the handle's
 * reading stopped, what the peer sends waits in the kernel and comes in one read when resumed.
 * Node does the same for sockets read into a static buffer (net.js, `onread`).
 */
export function stopReading(socket: net.Socket): void {
  socket.pause();
  const handle = handleOf(socket);
  if (handle === undefined || !handle.reading || socket.destroyed) return;
  handle.reading = false;
  const error = handle.readStop();
  if (error !== 0) socket.destroy(new Error(`readStop failed (${error})`));
}

/** Reads again after stopReading (or a plain pause). */
export function startReading(socket: net.Socket): void {
  if (socket.destroyed) return;
  const handle = handleOf(socket);
  if (handle !== undefined && !handle.reading) {
    handle.reading = true;
    const error = handle.readStart();
    if (error !== 0) {
      socket.destroy(new Error(`readStart failed (${error})`));
      return;
    }
  }
  socket.resume();
}
