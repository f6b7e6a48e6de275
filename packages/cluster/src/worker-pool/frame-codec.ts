import { WorkerError } from '../worker-error.js';

/** Bytes of the length prefix of every frame (unsigned, big-endian). */
export const FRAME_HEADER_BYTES = 4;

/** The largest frame either side accepts unless told otherwise: a SIP message handed over, with room to spare. */
export const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;

/** One frame: a 4-byte big-endian length, then that many bytes. */
export function encodeFrame(payload: Uint8Array, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Buffer {
  if (payload.byteLength > maxFrameBytes) throw new WorkerError('ERR_SWITCHBOARD_WORKER_FRAME_TOO_LARGE', `a frame of ${payload.byteLength} bytes is over the limit of ${maxFrameBytes}`);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.byteLength);
  frame.writeUInt32BE(payload.byteLength, 0);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * Cuts a byte stream into frames. Chunks may split a frame anywhere (its header too) or carry
 * many. A length over the limit throws ERR_SWITCHBOARD_WORKER_FRAME_TOO_LARGE before any of its
 * bytes are kept: after that the stream cannot be trusted to be in step, and its reader closes it.
 * Frames come back as views of the chunks when they lie in one, so nothing is copied twice.
 */
export class FrameDecoder {
  readonly #maxFrameBytes: number;
  #buffered: Buffer[] = [];
  #bufferedBytes = 0;
  #broken = false;

  constructor(maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Bytes held of a frame not yet complete. */
  get pendingBytes(): number {
    return this.#bufferedBytes;
  }

  /** The frames `chunk` completes, in order. */
  push(chunk: Buffer): Buffer[] {
    if (this.#broken) throw new WorkerError('ERR_SWITCHBOARD_WORKER_FRAME_TOO_LARGE', 'the stream already carried a frame over the limit');
    let data = chunk;
    if (this.#bufferedBytes > 0) {
      this.#buffered.push(chunk);
      data = Buffer.concat(this.#buffered, this.#bufferedBytes + chunk.byteLength);
      this.#buffered = [];
      this.#bufferedBytes = 0;
    }
    const frames: Buffer[] = [];
    let offset = 0;
    while (data.byteLength - offset >= FRAME_HEADER_BYTES) {
      const length = data.readUInt32BE(offset);
      if (length > this.#maxFrameBytes) {
        this.#broken = true;
        throw new WorkerError('ERR_SWITCHBOARD_WORKER_FRAME_TOO_LARGE', `a frame of ${length} bytes is over the limit of ${this.#maxFrameBytes}`);
      }
      const end = offset + FRAME_HEADER_BYTES + length;
      if (end > data.byteLength) break;
      frames.push(data.subarray(offset + FRAME_HEADER_BYTES, end));
      offset = end;
    }
    if (offset < data.byteLength) {
      // Keep the rest; a copy, so a large chunk's other frames are not kept alive by it.
      const rest = Buffer.from(data.subarray(offset));
      this.#buffered.push(rest);
      this.#bufferedBytes = rest.byteLength;
    }
    return frames;
  }
}
