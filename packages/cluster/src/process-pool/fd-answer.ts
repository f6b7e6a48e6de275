import type net from 'node:net';

/**
 * How the supervisor, which keeps a handle of every TCP connection, answers a worker's write on a
 * connection another worker owns. Node sends handles on an IPC channel one at a time, each after
 * the receiver's acknowledgement, which waits for the receiver's next event-loop turn: under load
 * a handle per write queued fd answers for seconds (measured: about 470 queued, round trips up to
 * 5 s, a third of calls timed out at 1,000 TCP clients). So the supervisor writes the bytes
 * itself on its own handle, at once, and passes the handle only when the worker wants it for its
 * fd cache and no other handle is queued to that worker: the cache fills as fast as the channel
 * allows, and nothing ever waits behind a handle.
 */
export interface FdAnswer {
  /** The request's bytes were written here (false when it carried none). */
  readonly written: boolean;
  /** Attach the handle to the answer (for the worker's fd cache). */
  readonly passHandle: boolean;
}

/** `onWriteError` hears of a write of `bytes` here that fails (the asking worker's transaction must). */
export function answerFdRequest(socket: net.Socket, bytes: Uint8Array | undefined | null, wantsHandle: boolean, handlesQueued: number, onWriteError?: (error: Error) => void): FdAnswer {
  const written = bytes !== undefined && bytes !== null;
  if (written && !socket.destroyed) {
    socket.write(bytes, (error) => {
      if (error) onWriteError?.(error);
    });
  }
  // A request without bytes (an older worker) can only be answered with the handle.
  return { written: written && !socket.destroyed, passHandle: !written || (wantsHandle && handlesQueued === 0) };
}
