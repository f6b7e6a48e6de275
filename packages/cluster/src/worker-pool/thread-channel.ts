import type { TransferListItem, Worker } from 'node:worker_threads';
import type { Channel, ChannelHandlers, LifecycleToWorker } from './channel.js';

/**
 * A worker thread as a Channel: messages posted to it (structured clone; buffers and ports in the
 * transfer list move instead of being copied). A post that throws (a message that cannot be
 * cloned) is reported, never thrown; an uncaught exception in the thread is a crash, its exit
 * follows.
 */
export class ThreadChannel<Out, In> implements Channel<Out, readonly TransferListItem[]> {
  readonly #thread: Worker;
  readonly #handlers: ChannelHandlers<In, readonly TransferListItem[]>;
  #exited = false;
  readonly pendingSends = 0;

  constructor(thread: Worker, handlers: ChannelHandlers<In, readonly TransferListItem[]>) {
    this.#thread = thread;
    this.#handlers = handlers;
    thread.on('message', (message: In) => handlers.message(message, undefined));
    thread.on('messageerror', (error: Error) => handlers.ipcError(error.message));
    thread.on('error', (error: Error) => handlers.crashed(error));
    thread.on('exit', (code: number) => {
      this.#exited = true;
      handlers.exit(code, null);
    });
  }

  get id(): number {
    return this.#thread.threadId;
  }

  get connected(): boolean {
    return !this.#exited;
  }

  send(message: Out | LifecycleToWorker, transfer: readonly TransferListItem[] = []): void {
    try {
      this.#thread.postMessage(message, transfer);
    } catch (error) {
      this.#handlers.ipcError((error as Error).message);
    }
  }

  kill(): void {
    if (!this.#exited) void this.#thread.terminate();
  }
}
