import { SipError } from './errors.js';
import { resolveLimits, type SipLimits } from './limits.js';

/** What the framer found in a stream: a whole message, or an RFC 5626 keep-alive. */
export type FrameEvent =
  | { readonly kind: 'message'; readonly bytes: Buffer }
  /** `CRLF CRLF`: the peer asks for a pong. */
  | { readonly kind: 'ping' }
  /** A lone `CRLF`: the answer to our ping. */
  | { readonly kind: 'pong' };

export interface FramerOptions {
  readonly limits?: Partial<SipLimits>;
}

const CR = 0x0d;
const LF = 0x0a;
const CRLFCRLF = Buffer.from('\r\n\r\n');
/**
 * Bytes of a new chunk first joined to a message begun in the last one whose length is not known
 * yet (more, four times as many each time, until its header section ends): most SIP messages fit.
 */
const FIRST_TAKE = 4096;

/**
 * Cuts a TCP or TLS byte stream into SIP messages (RFC 3261 §18.3): the header section ends at
 * the first empty line and the body is Content-Length bytes (none when Content-Length is
 * missing). Gives the same messages for any split of the stream into chunks, several messages
 * per chunk included. Between messages, `CRLF CRLF` is a ping and a lone `CRLF` a pong
 * (RFC 5626 §3.5.1); a lone CRLF at the very end of the data is held until the next byte tells
 * which it is.
 *
 * A framing error (limits, unreadable Content-Length) throws a SipError; the stream cannot be
 * resynchronised after one, so its connection should be closed.
 */
export class StreamFramer {
  readonly #limits: SipLimits;
  #pending: Buffer | undefined;
  /** Offset in #pending where the search for the header terminator resumes. */
  #scanFrom = 0;
  /** Length of the message at the start of #pending once its header section has been read. */
  #frameLength = -1;

  constructor(options: FramerOptions = {}) {
    this.#limits = resolveLimits(options.limits);
  }

  /** Bytes received that do not yet form a whole message. */
  get bufferedBytes(): number {
    return this.#pending?.length ?? 0;
  }

  /** Feeds the next chunk of the stream; returns the messages and keep-alives it completes. */
  push(chunk: Buffer): FrameEvent[] {
    const events: FrameEvent[] = [];
    let pos = 0;
    const pending = this.#pending;
    if (pending !== undefined) {
      // What the last chunk began is completed with as few of this chunk's bytes as it needs, and
      // the rest of the chunk framed where it lies: joining the pending bytes to the whole chunk
      // copied a full read (64 KiB) for nearly every read of a busy connection (a 64 KiB read
      // seldom ends between messages): 23 of 624 samples of the event-loop's CPU profile at 8x over
      // TCP on 0.15 core (one run, experiments/bench-overload-2026-12-06i).
      this.#pending = undefined;
      let take = Math.min(chunk.length, this.#frameLength >= 0 ? this.#frameLength - pending.length : FIRST_TAKE);
      for (;;) {
        const joined = Buffer.concat([pending, chunk.subarray(0, take)]);
        const next = this.#next(joined, 0, events);
        if (next >= 0) {
          pos = next - pending.length;
          break;
        }
        if (take >= chunk.length) {
          this.#pending = joined;
          return events;
        }
        take = Math.min(chunk.length, this.#frameLength >= 0 ? this.#frameLength - pending.length : take * 4);
      }
    }
    while (pos < chunk.length) {
      const next = this.#next(chunk, pos, events);
      if (next < 0) break;
      pos = next;
    }
    if (pos < chunk.length) this.#pending = chunk.subarray(pos);
    return events;
  }

  /**
   * Frames the message or keep-alive at `pos` into `events`; returns where the next begins, or
   * -1 when it has not all arrived (what was learnt of it is kept: #frameLength, #scanFrom).
   */
  #next(buffer: Buffer, pos: number, events: FrameEvent[]): number {
    if (this.#frameLength < 0) {
      if (buffer[pos] === CR || buffer[pos] === LF) {
        const consumed = this.#keepAlive(buffer, pos, events);
        return consumed === 0 ? -1 : pos + consumed;
      }
      const length = this.#measure(buffer, pos);
      if (length < 0) return -1;
      this.#frameLength = length;
    }
    if (buffer.length - pos < this.#frameLength) return -1;
    events.push({ kind: 'message', bytes: buffer.subarray(pos, pos + this.#frameLength) });
    const next = pos + this.#frameLength;
    this.#frameLength = -1;
    this.#scanFrom = 0;
    return next;
  }

  /** Recognises keep-alive CRLFs at `pos`; returns the bytes consumed (0: need more data). */
  #keepAlive(buffer: Buffer, pos: number, events: FrameEvent[]): number {
    const remaining = buffer.length - pos;
    if (buffer[pos] !== CR || (remaining >= 2 && buffer[pos + 1] !== LF)) {
      throw new SipError('ERR_SIP_INVALID_START_LINE', 'Stray CR or LF between messages', pos);
    }
    if (remaining < 3) return 0;
    if (buffer[pos + 2] !== CR) {
      events.push({ kind: 'pong' });
      return 2;
    }
    if (remaining < 4) return 0;
    if (buffer[pos + 3] !== LF) throw new SipError('ERR_SIP_INVALID_START_LINE', 'Stray CR between messages', pos + 3);
    events.push({ kind: 'ping' });
    return 4;
  }

  /**
   * Length of the message starting at `pos` (header section plus Content-Length), or -1 when its
   * header section has not all arrived.
   */
  #measure(buffer: Buffer, pos: number): number {
    const limits = this.#limits;
    const terminator = buffer.indexOf(CRLFCRLF, Math.max(pos, pos + this.#scanFrom - 3));
    if (terminator < 0 || terminator + 4 - pos > limits.maxHeaderBytes) {
      if (buffer.length - pos > limits.maxHeaderBytes || terminator >= 0) {
        throw new SipError('ERR_SIP_HEADERS_TOO_LARGE', `Header section exceeds ${limits.maxHeaderBytes} bytes`, pos);
      }
      this.#scanFrom = buffer.length - pos;
      return -1;
    }
    const headerLength = terminator + 4 - pos;
    const bodyLength = findContentLength(buffer, pos, terminator + 2) ?? 0;
    if (bodyLength > limits.maxBodyBytes) {
      throw new SipError('ERR_SIP_BODY_TOO_LARGE', `Content-Length ${bodyLength} exceeds ${limits.maxBodyBytes}`, pos);
    }
    return headerLength + bodyLength;
  }
}

const CONTENT_LENGTH = Buffer.from('content-length');

/**
 * The Content-Length in the header section [from, to) (fields ending in CRLF), or undefined when
 * there is none. Reads only the lines that start with `l` or `content-length`.
 */
export function findContentLength(buffer: Buffer, from: number, to: number): number | undefined {
  let found: number | undefined;
  let line = buffer.indexOf(0x0a, from) + 1;
  while (line > 0 && line < to) {
    const first = buffer[line] as number;
    if (first === 0x6c || first === 0x4c || first === 0x63 || first === 0x43) {
      let nameEnd = line;
      if ((first | 0x20) === 0x6c) {
        nameEnd = line + 1;
      } else if (matchesLower(buffer, line, CONTENT_LENGTH)) {
        nameEnd = line + CONTENT_LENGTH.length;
      }
      if (nameEnd > line) {
        let i = nameEnd;
        while (buffer[i] === 0x20 || buffer[i] === 0x09) i++;
        if (buffer[i] === 0x3a) {
          const value = readNumber(buffer, i + 1, to);
          if (value < 0) throw new SipError('ERR_SIP_INVALID_CONTENT_LENGTH', 'Unreadable Content-Length', i + 1);
          if (found !== undefined && found !== value) {
            throw new SipError('ERR_SIP_DUPLICATE_HEADER', 'Conflicting Content-Length headers', line);
          }
          found = value;
        }
      }
    }
    line = buffer.indexOf(0x0a, line) + 1;
  }
  return found;
}

function matchesLower(buffer: Buffer, at: number, lower: Buffer): boolean {
  if (at + lower.length > buffer.length) return false;
  for (let k = 0; k < lower.length; k++) {
    if (((buffer[at + k] as number) | 0x20) !== lower[k]) return false;
  }
  return true;
}

/** Reads blanks (folding included) then decimal digits up to the end of the field; -1 if invalid. */
function readNumber(buffer: Buffer, from: number, to: number): number {
  let i = from;
  for (;;) {
    const byte = buffer[i];
    if (byte === 0x20 || byte === 0x09) i++;
    else if (byte === CR && buffer[i + 1] === LF && (buffer[i + 2] === 0x20 || buffer[i + 2] === 0x09)) i += 2;
    else break;
  }
  let value = 0;
  let digits = 0;
  while (i < to && (buffer[i] as number) >= 0x30 && (buffer[i] as number) <= 0x39) {
    value = value * 10 + ((buffer[i] as number) - 0x30);
    digits++;
    i++;
    if (value > Number.MAX_SAFE_INTEGER) return -1;
  }
  while (buffer[i] === 0x20 || buffer[i] === 0x09) i++;
  if (digits === 0 || buffer[i] !== CR) return -1;
  return value;
}
