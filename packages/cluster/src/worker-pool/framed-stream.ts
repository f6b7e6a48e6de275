import type { Duplex } from 'node:stream';
import { errorRecord } from '@switchboard/sip';
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame, FrameDecoder } from './frame-codec.js';

export interface FramedStreamHandlers {
  /** One frame's payload (a view: copy what outlives the call). */
  frame(payload: Buffer): void;
  /**
   * The stream can no longer be used: a frame over the limit, a read or write error, or its end.
   * `code` is ERR_SWITCHBOARD_WORKER_FRAME_TOO_LARGE or ERR_SWITCHBOARD_WORKER_STREAM. Said once.
   */
  failed(code: string, message: string): void;
}

/**
 * Length-prefixed frames over a byte stream (the process pool's per-worker socketpair). Sends made
 * in one turn of the event loop leave in one write (the stream is corked until the next tick), so
 * a burst of hand-offs costs one system call, not one each. Nothing here throws at its caller: a
 * frame that cannot be sent, or bytes that cannot be read, end the stream and are reported once.
 */
export class FramedStream {
  readonly #stream: Duplex;
  readonly #handlers: FramedStreamHandlers;
  readonly #decoder: FrameDecoder;
  readonly #maxFrameBytes: number;
  #corked = false;
  #failed = false;

  constructor(stream: Duplex, handlers: FramedStreamHandlers, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {
    this.#stream = stream;
    this.#handlers = handlers;
    this.#maxFrameBytes = maxFrameBytes;
    this.#decoder = new FrameDecoder(maxFrameBytes);
    stream.on('data', (chunk: Buffer) => this.#read(chunk));
    stream.on('error', (error: Error) => this.#fail('ERR_SWITCHBOARD_WORKER_STREAM', `stream error: ${error.message}`));
    stream.on('end', () => this.#fail('ERR_SWITCHBOARD_WORKER_STREAM', 'the stream ended'));
    stream.on('close', () => this.#fail('ERR_SWITCHBOARD_WORKER_STREAM', 'the stream closed'));
  }

  /** Whether a frame sent now can leave. */
  get usable(): boolean {
    return !this.#failed && this.#stream.writable;
  }

  /** Bytes written but not yet handed to the kernel. */
  get pendingBytes(): number {
    return this.#stream.writableLength;
  }

  /** Sends one frame; false (and nothing sent) when the stream is gone or the payload over the limit. */
  send(payload: Uint8Array): boolean {
    if (!this.usable) return false;
    let frame: Buffer;
    try {
      frame = encodeFrame(payload, this.#maxFrameBytes);
    } catch {
      return false;
    }
    if (!this.#corked) {
      this.#corked = true;
      this.#stream.cork();
      process.nextTick(() => {
        this.#corked = false;
        this.#stream.uncork();
      });
    }
    this.#stream.write(frame);
    return true;
  }

  /** Ends the stream here (no report follows). */
  close(): void {
    this.#failed = true;
    this.#stream.destroy();
  }

  #read(chunk: Buffer): void {
    if (this.#failed) return;
    let frames: Buffer[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (error) {
      const record = errorRecord(error, 'ERR_SWITCHBOARD_WORKER_STREAM');
      this.#fail(record.code, record.message);
      return;
    }
    for (const frame of frames) this.#handlers.frame(frame);
  }

  #fail(code: string, message: string): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#stream.destroy();
    this.#handlers.failed(code, message);
  }
}
