/**
 * Overload control's look at a message before the full parse (study 004 §6, RFC 7339 §5): from
 * the first line and the To, Call-ID and CSeq headers alone, is it new work that may be shed, or work
 * that must go on? New work: an out-of-dialog request (no To tag) other than ACK, BYE, CANCEL and
 * PRACK: an initial INVITE, REGISTER, SUBSCRIBE, OPTIONS ... Must go on: every response, ACK,
 * BYE, CANCEL, PRACK and every in-dialog request (To has a tag), since shedding them would waste
 * the work already spent on the call and leave dialogs hanging.
 *
 * Every byte is hostile: on any doubt (no header end within SCAN_LIMIT, a folded or repeated To,
 * Call-ID or CSeq, an odd method token, a missing header) the answer is MUST_PROCESS, so the message
 * takes the normal path and gets the parser's answer.
 */

/** Process normally: a response, ACK, BYE, CANCEL, PRACK, an in-dialog request, or anything in doubt. */
export const MUST_PROCESS = -1;
/** The ACK of a 503 overload control sent (its To tag starts with OVERLOAD_TAG_PREFIX): absorbed. */
export const OVERLOAD_ACK = -2;

/** The To tag prefix of the 503s overload control sends, so their ACKs are known before a parse. */
export const OVERLOAD_TAG_PREFIX = 'sbol-';

/** Header bytes read at most; a header section longer than this is processed normally. */
export const SCAN_LIMIT = 8192;

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;
const SEMI = 0x3b;
const EQUALS = 0x3d;
const GT = 0x3e;

/** RFC 3261 token characters (a method is a token). */
const TOKEN = new Uint8Array(256);
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`\'~') TOKEN[c.charCodeAt(0)] = 1;


/** Where classifyMessage puts the hash of a new request's CSeq value (its transaction within the Call-ID). */
export interface NewRequestKey {
  cseqHash: number;
}

/**
 * A guess from the first two bytes, for counting the load carried while nothing is shed (a few
 * comparisons, no scan): whether the message may be new work, i.e. starts like INVITE, REGISTER,
 * SUBSCRIBE, OPTIONS, MESSAGE or PUBLISH. It counts in-dialog requests of those methods (a
 * re-INVITE) and INFO too; classifyMessage decides.
 */
export function mayBeNewWork(bytes: Buffer): boolean {
  if (bytes.length < 2) return false;
  const first = bytes[0];
  const second = bytes[1];
  switch (first) {
    case 0x49: // INVITE (INFO too)
      return second === 0x4e;
    case 0x52: // REGISTER
      return second === 0x45;
    case 0x53: // SUBSCRIBE (not SIP/)
      return second === 0x55;
    case 0x4f: // OPTIONS
      return second === 0x50;
    case 0x4d: // MESSAGE
      return second === 0x45;
    case 0x50: // PUBLISH (not PRACK)
      return second === 0x55;
    default:
      return false;
  }
}

/**
 * MUST_PROCESS, OVERLOAD_ACK, or (new work) a 32-bit hash of the Call-ID's bytes, >= 0: the loss
 * decision is taken on it, so a retransmission meets the same decision as its original while the
 * reduction holds. For new work, `key.cseqHash` gets a hash of the CSeq value: a retransmission
 * has its original's, the next request of the same Call-ID (a REGISTER refresh, a request sent
 * again after a 503's Retry-After) another.
 */
export function classifyMessage(bytes: Buffer, key?: NewRequestKey): number {
  const limit = Math.min(bytes.length, SCAN_LIMIT);
  let i = 0;
  while (i < limit && (bytes[i] === CR || bytes[i] === LF)) i++;
  // A response: "SIP/" (the parser checks the rest).
  if (i + 4 <= limit && bytes[i] === 0x53 && bytes[i + 1] === 0x49 && bytes[i + 2] === 0x50 && bytes[i + 3] === 0x2f) return MUST_PROCESS;
  const methodStart = i;
  while (i < limit && TOKEN[bytes[i] as number] === 1 && i - methodStart <= 32) i++;
  if (i === methodStart || i - methodStart > 32 || bytes[i] !== SP) return MUST_PROCESS;
  const method = methodOf(bytes, methodStart, i);
  if (method === ALWAYS_PROCESSED) return MUST_PROCESS;
  const isAck = method === ACK_METHOD;

  // Past the request line.
  const requestLineEnd = bytes.indexOf(LF, i);
  i = requestLineEnd < 0 || requestLineEnd >= limit ? limit : requestLineEnd + 1;
  let toTag: 'none' | 'ours' | 'other' | undefined;
  let callIdHash = -1;
  let cseqHash = -1;
  let last = OTHER_HEADER;
  for (;;) {
    if (i >= limit) return MUST_PROCESS;
    // indexOf (memchr), not a JavaScript loop over every byte: with the byte comparisons of the
    // names, a SIPp INVITE's classification went from about 1.66 to 0.61 µs (07c; not measured apart).
    const end = bytes.indexOf(LF, i);
    if (end < 0 || end >= limit) return MUST_PROCESS;
    const lineEnd = end > i && bytes[end - 1] === CR ? end - 1 : end;
    if (lineEnd === i) break; // the blank line: end of the headers
    const first = bytes[i];
    if (first === SP || first === HT) {
      // A folded line: harmless unless it continues the To, the Call-ID or the CSeq.
      if (last !== OTHER_HEADER) return MUST_PROCESS;
    } else {
      let colon = i;
      while (colon < lineEnd && bytes[colon] !== COLON) colon++;
      if (colon === lineEnd) return MUST_PROCESS;
      let nameEnd = colon;
      while (nameEnd > i && (bytes[nameEnd - 1] === SP || bytes[nameEnd - 1] === HT)) nameEnd--;
      last = headerOfInterest(bytes, i, nameEnd);
      if (last === TO_HEADER) {
        if (toTag !== undefined) return MUST_PROCESS;
        toTag = toTagOf(bytes, colon + 1, lineEnd);
      } else if (last === CALL_ID_HEADER) {
        if (callIdHash >= 0) return MUST_PROCESS;
        callIdHash = hashValue(bytes, colon + 1, lineEnd);
        if (callIdHash < 0) return MUST_PROCESS;
      } else if (last === CSEQ_HEADER) {
        if (cseqHash >= 0) return MUST_PROCESS;
        cseqHash = hashValue(bytes, colon + 1, lineEnd);
        if (cseqHash < 0) return MUST_PROCESS;
      }
    }
    i = end + 1;
  }
  if (toTag === undefined || callIdHash < 0 || cseqHash < 0) return MUST_PROCESS;
  if (isAck) return toTag === 'ours' ? OVERLOAD_ACK : MUST_PROCESS;
  if (toTag !== 'none') return MUST_PROCESS;
  if (key !== undefined) key.cseqHash = cseqHash;
  return callIdHash;
}

const OTHER_HEADER = 0;
const TO_HEADER = 1;
const CALL_ID_HEADER = 2;
const CSEQ_HEADER = 3;

/** TO_HEADER for To or t, CALL_ID_HEADER for Call-ID or i, CSEQ_HEADER for CSeq (any case), else OTHER_HEADER. */
function headerOfInterest(bytes: Buffer, start: number, end: number): number {
  const length = end - start;
  const first = (bytes[start] as number) | 0x20;
  if (length === 1) return first === 0x74 ? TO_HEADER : first === 0x69 ? CALL_ID_HEADER : OTHER_HEADER;
  if (length === 2) return first === 0x74 && ((bytes[start + 1] as number) | 0x20) === 0x6f ? TO_HEADER : OTHER_HEADER;
  if (length === 4) return first === 0x63 && lettersAre(bytes, start + 1, 'seq') ? CSEQ_HEADER : OTHER_HEADER;
  if (length === 7) return first === 0x63 && lettersAre(bytes, start + 1, 'all') && bytes[start + 4] === 0x2d && lettersAre(bytes, start + 5, 'id') ? CALL_ID_HEADER : OTHER_HEADER;
  return OTHER_HEADER;
}

/** Whether the bytes at `at` are the letters of `lower` (lower case), in any case. */
function lettersAre(bytes: Buffer, at: number, lower: string): boolean {
  for (let k = 0; k < lower.length; k++) {
    if (((bytes[at + k] as number) | 0x20) !== lower.charCodeAt(k)) return false;
  }
  return true;
}

const OTHER_METHOD = 0;
/** BYE, CANCEL, PRACK: processed whatever their To says. */
const ALWAYS_PROCESSED = 1;
const ACK_METHOD = 2;

/** What the method token [start, end) is to the classifier (compared as bytes: no string made). */
function methodOf(bytes: Buffer, start: number, end: number): number {
  switch (end - start) {
    case 3:
      if (bytesAre(bytes, start, 'BYE')) return ALWAYS_PROCESSED;
      return bytesAre(bytes, start, 'ACK') ? ACK_METHOD : OTHER_METHOD;
    case 5:
      return bytesAre(bytes, start, 'PRACK') ? ALWAYS_PROCESSED : OTHER_METHOD;
    case 6:
      return bytesAre(bytes, start, 'CANCEL') ? ALWAYS_PROCESSED : OTHER_METHOD;
    default:
      return OTHER_METHOD;
  }
}

/** Whether the bytes at `at` are exactly `text` (ASCII). */
function bytesAre(bytes: Buffer, at: number, text: string): boolean {
  for (let k = 0; k < text.length; k++) {
    if (bytes[at + k] !== text.charCodeAt(k)) return false;
  }
  return true;
}

/**
 * Whether a To value carries a tag parameter, and whether it is one of our overload 503s. The
 * parameters are looked for after the last `>` (a tag inside the URI's brackets is a URI
 * parameter, not the To tag).
 */
function toTagOf(bytes: Buffer, start: number, end: number): 'none' | 'ours' | 'other' {
  let from = start;
  for (let k = end - 1; k >= start; k--) {
    if (bytes[k] === GT) {
      from = k + 1;
      break;
    }
  }
  for (let k = from; k < end; k++) {
    if (bytes[k] !== SEMI) continue;
    let p = skipBlanks(bytes, k + 1, end);
    if (p + 3 > end || ((bytes[p] as number) | 0x20) !== 0x74 || ((bytes[p + 1] as number) | 0x20) !== 0x61 || ((bytes[p + 2] as number) | 0x20) !== 0x67) continue;
    p = skipBlanks(bytes, p + 3, end);
    if (bytes[p] !== EQUALS) continue;
    p = skipBlanks(bytes, p + 1, end);
    const prefixEnd = p + OVERLOAD_TAG_PREFIX.length;
    return prefixEnd <= end && bytesAre(bytes, p, OVERLOAD_TAG_PREFIX) ? 'ours' : 'other';
  }
  return 'none';
}

function skipBlanks(bytes: Buffer, at: number, end: number): number {
  let p = at;
  while (p < end && (bytes[p] === SP || bytes[p] === HT)) p++;
  return p;
}

/** FNV-1a (finalised) of a header value without its surrounding blanks; -1 when it is empty. */
function hashValue(bytes: Buffer, start: number, end: number): number {
  let s = skipBlanks(bytes, start, end);
  let e = end;
  while (e > s && (bytes[e - 1] === SP || bytes[e - 1] === HT)) e--;
  if (e === s) return -1;
  let hash = 0x811c9dc5;
  for (; s < e; s++) hash = Math.imul(hash ^ (bytes[s] as number), 0x01000193);
  // murmur3's finaliser: Call-IDs that differ in a few bytes spread over the whole range.
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/** True when a new-work hash falls in the shed fraction `reduction` (0 to 1). */
export function inShedFraction(callIdHash: number, reduction: number): boolean {
  return callIdHash < reduction * 0x1_0000_0000;
}
