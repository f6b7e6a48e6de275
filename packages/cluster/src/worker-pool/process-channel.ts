import type { Worker } from 'node:cluster';
import type net from 'node:net';
import type { Channel, ChannelHandlers, LifecycleToWorker } from './channel.js';

/** How messages of one protocol become bytes on the IPC channel and back (decode throws on bytes that are not one). */
export interface ProcessCodec<Out, In> {
  encode(message: Out | LifecycleToWorker): Uint8Array;
  decode(raw: unknown): In;
}

/**
 * A worker process (node:cluster) as a Channel: messages as checked bytes on Node's IPC channel, a
 * socket handle beside some of them. Nothing waits for a send: each completes in a callback, and
 * one that fails is reported, never thrown.
 */
export class ProcessChannel<Out, In> implements Channel<Out, net.Socket> {
  readonly #worker: Worker;
  readonly #codec: ProcessCodec<Out, In>;
  readonly #handlers: ChannelHandlers<In, net.Socket>;
  #pendingSends = 0;

  constructor(worker: Worker, codec: ProcessCodec<Out, In>, handlers: ChannelHandlers<In, net.Socket>) {
    this.#worker = worker;
    this.#codec = codec;
    this.#handlers = handlers;
    // A failed send without a callback or a failed kill: an 'error' event nobody listened to
    // would end the pool's process.
    worker.on('error', (error: Error) => handlers.ipcError(error.message));
    worker.on('message', (raw: unknown, handle?: net.Socket) => {
      let message: In;
      try {
        message = codec.decode(raw);
      } catch (error) {
        handle?.destroy();
        handlers.ipcError((error as Error).message);
        return;
      }
      handlers.message(message, handle);
    });
    worker.on('exit', (code: number | null, signal: string | null) => handlers.exit(code, signal ?? null));
  }

  get id(): number {
    return this.#worker.process.pid ?? 0;
  }

  get connected(): boolean {
    return this.#worker.isConnected();
  }

  get pendingSends(): number {
    return this.#pendingSends;
  }

  send(message: Out | LifecycleToWorker, handle?: net.Socket, keepOpen = true): void {
    this.#pendingSends++;
    const done = (error: Error | null): void => {
      this.#pendingSends--;
      if (error !== null) this.#handlers.ipcError(error.message);
    };
    try {
      if (handle === undefined) this.#worker.send(this.#codec.encode(message), done);
      else this.#worker.send(this.#codec.encode(message), handle, { keepOpen }, done);
    } catch (error) {
      done(error as Error);
      if (!keepOpen) handle?.destroy();
    }
  }

  kill(): void {
    if (!this.#worker.isDead()) this.#worker.process.kill('SIGKILL');
  }
}
