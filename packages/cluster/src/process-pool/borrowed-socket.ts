import type net from 'node:net';

/**
 * A socket handle received over IPC for writing only. Node starts reading a received socket at
 * once, which would steal bytes from the connection's owner; reading is stopped before control
 * returns to the event loop (the handle arrives in a process.nextTick, before any poll), so this
 * copy never reads. It must be closed with `destroy` (closes this process's fd), never `end`
 * (which would shut down the connection for every process).
 */
export function borrowForWriting(socket: net.Socket): net.Socket {
  const handle = (socket as unknown as { _handle?: { reading: boolean; readStop(): number } })._handle;
  if (handle !== undefined) {
    handle.reading = false;
    handle.readStop();
  }
  socket.on('error', () => {
    // A write on a connection that died: the owner reports it; this copy is simply dropped.
  });
  return socket;
}
