import { detachedString } from './detached-string.js';
import { isToken } from './lexer.js';

/**
 * Header names: compact forms (RFC 3261 §7.3.3 and the extensions that define them), the spelling
 * used when Switchboard writes a header, and which headers hold comma-separated lists.
 */

const COMPACT_FORMS: Record<string, string> = {
  a: 'accept-contact',
  b: 'referred-by',
  c: 'content-type',
  d: 'request-disposition',
  e: 'content-encoding',
  f: 'from',
  i: 'call-id',
  j: 'reject-contact',
  k: 'supported',
  l: 'content-length',
  m: 'contact',
  o: 'event',
  r: 'refer-to',
  s: 'subject',
  t: 'to',
  u: 'allow-events',
  v: 'via',
  x: 'session-expires',
  y: 'identity',
};

const WRITTEN_NAMES: Record<string, string> = {
  'call-id': 'Call-ID',
  cseq: 'CSeq',
  'www-authenticate': 'WWW-Authenticate',
  'mime-version': 'MIME-Version',
  'rack': 'RAck',
  'rseq': 'RSeq',
  'sip-etag': 'SIP-ETag',
  'sip-if-match': 'SIP-If-Match',
};

/** Headers whose value may be a comma-separated list (RFC 3261 §7.3.1). */
const LIST_HEADERS = new Set([
  'via',
  'route',
  'record-route',
  'contact',
  'path',
  'service-route',
  'allow',
  'allow-events',
  'supported',
  'require',
  'proxy-require',
  'unsupported',
  'accept',
  'accept-encoding',
  'accept-language',
  'content-encoding',
  'content-language',
  'alert-info',
  'call-info',
  'error-info',
  'in-reply-to',
  'warning',
  'reason',
  'security-client',
  'security-server',
  'security-verify',
  'p-asserted-identity',
  'accept-contact',
  'reject-contact',
  'request-disposition',
]);

const canonicalCache = new Map<string, string>();

/** Lower-case full name of a header, from any spelling or compact form. */
export function canonicalHeaderName(name: string): string {
  const cached = canonicalCache.get(name);
  if (cached !== undefined) return cached;
  const lower = name.toLowerCase();
  const canonical = lower.length === 1 ? (COMPACT_FORMS[lower] ?? lower) : lower;
  if (canonicalCache.size < 4096) canonicalCache.set(name, canonical);
  return canonical;
}

const writtenCache = new Map<string, string>();

/**
 * The spelling Switchboard writes a header name in: `Via`, `Call-ID`, `Record-Route`, ...
 * Remembered per spelling asked for (up to a bound): a proxy asks for the same few on every message.
 */
export function writtenHeaderName(name: string): string {
  const cached = writtenCache.get(name);
  if (cached !== undefined) return cached;
  const canonical = canonicalHeaderName(name);
  const written =
    WRITTEN_NAMES[canonical] ??
    canonical.replace(/(^|-)([a-z])/g, (_match, dash: string, letter: string) => dash + letter.toUpperCase());
  if (writtenCache.size < 4096) writtenCache.set(name, written);
  return written;
}

export function isListHeader(canonicalName: string): boolean {
  return LIST_HEADERS.has(canonicalName);
}

export interface WireHeaderName {
  /** Canonical lower-case name. */
  readonly name: string;
  /** True for the headers the parser reads at once (Via, From, To, Call-ID, CSeq ...). */
  readonly routing: boolean;
}

const wireNames = new Map<string, WireHeaderName>();

/**
 * The canonical name of a header name as it came off the wire, or undefined when it is not a
 * token. Spellings are remembered (up to a bound), so a name seen before costs one lookup.
 */
export function headerNameFromWire(spelling: string): WireHeaderName | undefined {
  const seen = wireNames.get(spelling);
  if (seen !== undefined) return seen;
  if (!isToken(spelling)) return undefined;
  const name = canonicalHeaderName(spelling);
  const known = { name, routing: ROUTING_HEADERS.has(name) };
  if (wireNames.size < 4096) wireNames.set(spelling, known);
  return known;
}

/** Spellings seen before, by length and first character (see headerNameAt). */
const spellingsByShape: Array<Array<{ readonly spelling: string; readonly known: WireHeaderName }> | undefined> = [];
let spellingsRemembered = 0;
const LONGEST_REMEMBERED = 64;

/**
 * headerNameFromWire for the name at `text[start, end)`, without cutting it out of `text`: a
 * spelling seen before is found by its length and first character and compared in place, so the
 * usual header costs neither a string nor a hash of one.
 */
export function headerNameAt(text: string, start: number, end: number): WireHeaderName | undefined {
  const length = end - start;
  const first = text.charCodeAt(start);
  const shape = length <= LONGEST_REMEMBERED && first < 128 ? (length << 7) | first : -1;
  const candidates = shape < 0 ? undefined : spellingsByShape[shape];
  if (candidates !== undefined) {
    for (const candidate of candidates) if (text.startsWith(candidate.spelling, start)) return candidate.known;
  }
  const known = headerNameFromWire(text.slice(start, end));
  if (known !== undefined && shape >= 0 && spellingsRemembered < 4096) {
    const entry = { spelling: detachedString(text.slice(start, end)), known };
    if (candidates === undefined) spellingsByShape[shape] = [entry];
    else candidates.push(entry);
    spellingsRemembered++;
  }
  return known;
}

/** The headers parsed with the start line (see eager-headers.ts). */
const ROUTING_HEADERS = new Set([
  'via',
  'from',
  'to',
  'call-id',
  'cseq',
  'max-forwards',
  'route',
  'record-route',
  'contact',
  'content-length',
]);

export function isRoutingHeader(canonicalName: string): boolean {
  return ROUTING_HEADERS.has(canonicalName);
}
