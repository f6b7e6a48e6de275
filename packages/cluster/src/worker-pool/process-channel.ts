import type { Worker } from 'node:cluster';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Channel, ChannelHandlers, LifecycleToWorker } from './channel.js';
import { FramedStream } from './framed-stream.js';

/** How messages of one protocol become bytes and back (decode throws on bytes that are not one). */
export interface ProcessCodec<Out, In> {
  encode(message: Out | LifecycleToWorker): Uint8Array;
  decode(raw: unknown): In;
}

/**
 * A worker process (node:cluster) as a Channel, over two ways: a message with a socket handle goes
 * on Node's IPC channel, every other message as a length-prefixed frame on the worker's own byte
 * stream (a socketpair made at fork). Node queues every IPC message behind each handle in flight,
 * so one channel for both would hold hand-offs and fd answers behind handle transfers; two keep
 * them apart. The IPC channel still carries what a worker sends there (it is read either way).
 * Nothing waits for a send: a failure is reported, never thrown.
 */
export class ProcessChannel<Out, In> implements Channel<Out, net.Socket> {
  readonly #worker: Worker;
  readonly #codec: ProcessCodec<Out, In>;
  readonly #handlers: ChannelHandlers<In, net.Socket>;
  readonly #stream: FramedStream | undefined;
  #pendingSends = 0;

  constructor(worker: Worker, stream: Duplex | undefined, codec: ProcessCodec<Out, In>, handlers: ChannelHandlers<In, net.Socket>) {
    this.#worker = worker;
    this.#codec = codec;
    this.#handlers = handlers;
    // A failed send without a callback or a failed kill: an 'error' event nobody listened to
    // would end the pool's process.
    worker.on('error', (error: Error) => handlers.ipcError(error.message));
    worker.on('message', (raw: unknown, handle?: net.Socket) => this.#receive(raw, handle));
    worker.on('exit', (code: number | null, signal: string | null) => handlers.exit(code, signal ?? null));
    this.#stream =
      stream === undefined
        ? undefined
        : new FramedStream(stream, {
            frame: (payload) => this.#receive(payload, undefined),
            failed: (code, message) => {
              // One out of step cannot be read on: that worker is replaced.
              if (code === 'ERR_SWITCHBOARD_WORKER_FRAME_TOO_LARGE') {
                handlers.ipcError(`${code}: ${message}`);
                this.kill();
                return;
              }
              // A stream that ends or resets is most often a worker exiting (its exit follows);
              // sends go on the IPC channel from now on, so it is reported only if the worker lives on.
              setTimeout(() => {
                if (!worker.isDead() && worker.isConnected()) handlers.ipcError(`${code}: ${message}`);
              }, 2000).unref();
            },
          });
  }

  #receive(raw: unknown, handle: net.Socket | undefined): void {
    let message: In;
    try {
      message = this.#codec.decode(raw);
    } catch (error) {
      handle?.destroy();
      this.#handlers.ipcError((error as Error).message);
      return;
    }
    this.#handlers.message(message, handle);
  }

  get id(): number {
    return this.#worker.process.pid ?? 0;
  }

  get connected(): boolean {
    return this.#worker.isConnected();
  }

  /** IPC sends not yet flushed, plus one while frames wait on the stream. */
  get pendingSends(): number {
    return this.#pendingSends + ((this.#stream?.pendingBytes ?? 0) > 0 ? 1 : 0);
  }

  send(message: Out | LifecycleToWorker, handle?: net.Socket, keepOpen = true): void {
    if (handle === undefined && this.#stream?.usable === true) {
      let bytes: Uint8Array;
      try {
        bytes = this.#codec.encode(message);
      } catch (error) {
        this.#handlers.ipcError((error as Error).message);
        return;
      }
      if (!this.#stream.send(bytes)) this.#handlers.ipcError('a frame could not be sent on the worker stream');
      return;
    }
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
