import { SCAN_LIMIT } from './message-class.js';
import { withOcParams } from './oc-params.js';

export interface OverloadResponseOptions {
  /** The To tag to add (see OVERLOAD_TAG_PREFIX: its ACK is then recognised before a parse). */
  readonly toTag: string;
  /** Retry-After, in seconds. */
  readonly retryAfterSeconds: number;
  /** RFC 7339 parameters to set on the top Via when it carries `oc` (called only then). */
  readonly ocParams?: () => ReadonlyArray<readonly [string, string]>;
}

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;

const VIA = 0;
const FROM = 1;
const TO = 2;
const CALL_ID = 3;
const CSEQ = 4;
const OTHER = -1;
/** The top Via with RFC 7339's parameters set (written from a copy, not from the input). */
const EDITED_VIA = 5;
/** The header names written, by kind. */
const WRITTEN = ['Via: ', 'From: ', 'To: ', 'Call-ID: ', 'CSeq: '].map((name) => Buffer.from(name, 'latin1'));
const STATUS_LINE = Buffer.from('SIP/2.0 503 Service Unavailable\r\n', 'latin1');
const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');
const trailers = new Map<number, Buffer>();

/**
 * The 503 Service Unavailable with Retry-After that overload control answers new work with,
 * built from the request's bytes without a parse (as rejectionResponse is) and without turning
 * them into a string: its Via, From, To, Call-ID and CSeq lines copied byte for byte (every Via,
 * the first of the others; To with our tag, the top Via with RFC 7339's parameters when it asked
 * for them), and nothing else. Undefined when a header the client needs to match it is missing or
 * a header line is folded: the request is then dropped and counted. It is the whole cost of a
 * refusal besides the read and the send, so it is one scan, one allocation and a few copies.
 */
export function overloadResponse(input: Buffer, options: OverloadResponseOptions): Buffer | undefined {
  const limit = Math.min(input.length, SCAN_LIMIT);
  const headerEnd = input.indexOf(HEADER_END);
  if (headerEnd < 0 || headerEnd + 4 > limit) return undefined;
  // What is copied, as [kind, value start, value end] triples (kind -1: the edited top Via in `edited`).
  const copied: number[] = [];
  let edited: Buffer | undefined;
  let seen = 0;
  let firstVia = true;
  const tag = options.toTag;
  let length = STATUS_LINE.length;
  // Past the request line. Lines are found by their LF (indexOf of a byte, memchr) and the colon
  // by a loop over the name: Buffer.indexOf (each line's CRLF and colon, and the header end) had
  // 33 of the 79 profile samples building 503s at 8x over UDP (experiments/bench-overload-2026-12-07e).
  // The header end's CRLF CRLF holds an LF at headerEnd + 1, so every search below finds one.
  let start = input.indexOf(LF, 0) + 1;
  while (start < headerEnd + 2) {
    const lineFeed = input.indexOf(LF, start);
    const end = lineFeed > headerEnd ? headerEnd : lineFeed;
    const first = input[start];
    if (first === SP || first === HT) return undefined;
    let colon = start;
    while (colon < end && input[colon] !== COLON) colon++;
    if (colon > start && colon < end) {
      const kind = headerKind(input, start, trimEnd(input, start, colon));
      if (kind !== OTHER && (kind === VIA || (seen & (1 << kind)) === 0)) {
        const valueStart = trimStart(input, colon + 1, end);
        const valueEnd = trimEnd(input, valueStart, end);
        let written = kind;
        if (kind === VIA && firstVia && options.ocParams !== undefined && mentionsOc(input, valueStart, valueEnd)) {
          const text = withOcParams(input.toString('latin1', valueStart, valueEnd), options.ocParams());
          if (text !== undefined) {
            edited = Buffer.from(text, 'latin1');
            written = EDITED_VIA;
          }
        }
        if (kind === VIA) firstVia = false;
        copied.push(written, valueStart, valueEnd);
        length += (WRITTEN[kind] as Buffer).length + (written === EDITED_VIA ? (edited as Buffer).length : valueEnd - valueStart) + 2;
        if (kind === TO) length += 5 + tag.length;
        seen |= 1 << kind;
      }
    }
    if (end >= headerEnd) break;
    start = end + 1;
  }
  if (seen !== 0b11111) return undefined;
  const end = trailer(options.retryAfterSeconds);
  // One allocation, the copied ranges written into it.
  const out = Buffer.allocUnsafe(length + end.length);
  let at = STATUS_LINE.copy(out, 0);
  for (let n = 0; n < copied.length; n += 3) {
    const written = copied[n] as number;
    at += (WRITTEN[written === EDITED_VIA ? VIA : written] as Buffer).copy(out, at);
    if (written === EDITED_VIA) at += (edited as Buffer).copy(out, at);
    else at += input.copy(out, at, copied[n + 1], copied[n + 2]);
    if (written === TO) at += out.write(`;tag=${tag}`, at, 'latin1');
    out[at++] = CR;
    out[at++] = LF;
  }
  end.copy(out, at);
  return out;
}

function trailer(seconds: number): Buffer {
  let bytes = trailers.get(seconds);
  if (bytes === undefined) {
    bytes = Buffer.from(`Retry-After: ${seconds}\r\nContent-Length: 0\r\n\r\n`, 'latin1');
    if (trailers.size < 16) trailers.set(seconds, bytes);
  }
  return bytes;
}

/** Via, From, To, Call-ID, CSeq (full or compact, any case), else OTHER. */
function headerKind(bytes: Buffer, start: number, end: number): number {
  const length = end - start;
  const c0 = (bytes[start] as number) | 0x20;
  if (length === 1) return c0 === 0x76 ? VIA : c0 === 0x66 ? FROM : c0 === 0x74 ? TO : c0 === 0x69 ? CALL_ID : OTHER;
  if (length === 2) return c0 === 0x74 && ((bytes[start + 1] as number) | 0x20) === 0x6f ? TO : OTHER;
  if (length === 3) return lowerEquals(bytes, start, 'via') ? VIA : OTHER;
  if (length === 4) return lowerEquals(bytes, start, 'from') ? FROM : lowerEquals(bytes, start, 'cseq') ? CSEQ : OTHER;
  if (length === 7) return lowerEquals(bytes, start, 'call-id') ? CALL_ID : OTHER;
  return OTHER;
}

/** Whether the bytes at `start` are `lower` in any case (letters only fold; '-' must match). */
function lowerEquals(bytes: Buffer, start: number, lower: string): boolean {
  for (let k = 0; k < lower.length; k++) {
    const c = bytes[start + k] as number;
    const want = lower.charCodeAt(k);
    if (c !== want && (c | 0x20) !== want) return false;
    if (c !== want && (want < 0x61 || want > 0x7a)) return false;
  }
  return true;
}

function trimStart(bytes: Buffer, start: number, end: number): number {
  let p = start;
  while (p < end && (bytes[p] === SP || bytes[p] === HT)) p++;
  return p;
}

function trimEnd(bytes: Buffer, start: number, end: number): number {
  let p = end;
  while (p > start && (bytes[p - 1] === SP || bytes[p - 1] === HT || bytes[p - 1] === CR || bytes[p - 1] === LF)) p--;
  return p;
}

/** A cheap pre-check before the Via is read as text: does ";oc" appear in it (any case)? */
function mentionsOc(bytes: Buffer, start: number, end: number): boolean {
  for (let k = start; k + 2 < end; k++) {
    if (bytes[k] !== 0x3b) continue;
    let p = k + 1;
    while (p < end && (bytes[p] === SP || bytes[p] === HT)) p++;
    if (p + 1 < end && ((bytes[p] as number) | 0x20) === 0x6f && ((bytes[p + 1] as number) | 0x20) === 0x63) return true;
  }
  return false;
}
