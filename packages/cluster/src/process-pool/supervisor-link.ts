/**
 * A worker process's two ways to its supervisor (see ProcessChannel): socket handles on Node's IPC
 * channel, everything else as frames on the byte stream the supervisor gave it at fork (the fd in
 * SWITCHBOARD_WORKER_STREAM_FD). Messages arrive from both; what it sends goes on the stream unless
 * a handle rides with it, or the stream is gone (then IPC, so nothing is lost while it is replaced).
 */
import net from 'node:net';
import { FramedStream } from '../worker-pool/framed-stream.js';

/** The fd of the worker's end of its stream (stdio entry 4: 0-2, then 'ipc' at 3). */
export const WORKER_STREAM_FD = 4;

export interface SupervisorLinkHandlers {
  message(raw: Uint8Array, handle: net.Socket | undefined): void;
  /** A send or the stream failed (counted as an IPC error by the worker). */
  failed(message: string): void;
}

export interface SupervisorLink {
  send(bytes: Uint8Array, handle?: net.Socket): void;
}

export function openSupervisorLink(handlers: SupervisorLinkHandlers, env: NodeJS.ProcessEnv = process.env): SupervisorLink {
  process.on('message', (raw: Uint8Array, handle?: net.Socket) => handlers.message(raw, handle));
  const fd = Number(env.SWITCHBOARD_WORKER_STREAM_FD);
  let stream: FramedStream | undefined;
  if (Number.isInteger(fd) && fd > 2) {
    try {
      stream = new FramedStream(new net.Socket({ fd, readable: true, writable: true }), {
        frame: (payload) => handlers.message(payload, undefined),
        failed: (code, message) => handlers.failed(`${code}: ${message}`),
      });
    } catch (error) {
      const message = `no worker stream on fd ${fd}: ${(error as Error).message}`;
      queueMicrotask(() => handlers.failed(message));
    }
  }
  return {
    send(bytes, handle) {
      if (handle === undefined && stream?.usable === true && stream.send(bytes)) return;
      if (!process.connected) return;
      // A send that fails (the channel closing under it) is counted; without a callback it would
      // be an 'error' event nobody listens to, and kill the worker.
      process.send?.(bytes, handle, { keepOpen: true }, (error: Error | null) => {
        if (error !== null) handlers.failed(error.message);
      });
    },
  };
}
