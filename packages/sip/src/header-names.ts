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
