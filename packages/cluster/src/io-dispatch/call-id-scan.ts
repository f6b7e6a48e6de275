const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;
const SPACE = 0x20;
const TAB = 0x09;
/** `call-id`, lower case, to compare with the bytes of a header name. */
const CALL_ID = Buffer.from('call-id');

function lower(byte: number): number {
  return byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte;
}

/** Whether a header line starting at `at` is Call-ID (long or compact form); the offset after its colon, or -1. */
function callIdValueStart(buffer: Buffer, at: number, end: number): number {
  let i = at;
  if (i + CALL_ID.length <= end && CALL_ID.every((byte, k) => lower(buffer[i + k] as number) === byte)) i += CALL_ID.length;
  else if (i < end && lower(buffer[i] as number) === 0x69 /* i */) i += 1;
  else return -1;
  while (i < end && (buffer[i] === SPACE || buffer[i] === TAB)) i++;
  return i < end && buffer[i] === COLON ? i + 1 : -1;
}

/**
 * The Call-ID of a SIP message, read from its raw bytes without a parse (long or compact header
 * name, any case; folded values are not followed), or undefined when the header section has none.
 * What io-dispatch keeps the messages of one call together by: a hostile message that fools it
 * only loses that affinity, never its handling.
 */
export function scanCallId(bytes: Uint8Array): string | undefined {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = buffer.length;
  let line = buffer.indexOf(LF);
  while (line >= 0 && line + 1 < end) {
    const start = line + 1;
    // A blank line ends the headers.
    if (buffer[start] === CR || buffer[start] === LF) return undefined;
    const value = callIdValueStart(buffer, start, end);
    const next = buffer.indexOf(LF, start);
    if (value >= 0) {
      const stop = next < 0 ? end : next;
      const text = buffer.toString('latin1', value, stop).trim();
      return text === '' ? undefined : text;
    }
    line = next;
  }
  return undefined;
}
