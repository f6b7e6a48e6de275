import { SipError } from './errors.js';
import {
  HOST_CHARS,
  PASSWORD_CHARS,
  URI_HEADER_CHARS,
  USER_CHARS,
  hasValidEscapes,
  isHex,
  parseDecimal,
  scanChars,
  unescape,
} from './lexer.js';
import { formatParams, scanUriParams, splitCheckedParams, type Params } from './params.js';
import { memoizedParse } from './parse-memo.js';

/** A `sip:` or `sips:` URI (RFC 3261 §19.1). Parts keep their escapes as written. */
export interface SipUri {
  readonly scheme: 'sip' | 'sips';
  readonly user: string | undefined;
  readonly password: string | undefined;
  /** Host as written; an IPv6 reference keeps its brackets. */
  readonly host: string;
  readonly port: number | undefined;
  readonly params: Params;
  readonly headers: ReadonlyArray<readonly [name: string, value: string]>;
}

/** Any other absolute URI (`tel:`, `mailto:`, `urn:` ...), kept opaque. */
export interface OtherUri {
  readonly scheme: string;
  /** Everything after the first colon. */
  readonly opaque: string;
}

export type Uri = SipUri | OtherUri;

export function isSipUri(uri: Uri): uri is SipUri {
  return uri.scheme === 'sip' || uri.scheme === 'sips';
}

const SCHEME_CHARS = (() => {
  const table = new Uint8Array(256);
  for (let c = 0; c < 256; c++) {
    const ch = String.fromCharCode(c);
    if (/[A-Za-z0-9+\-.]/.test(ch)) table[c] = 1;
  }
  return table;
})();

const USER_OR_PERCENT = withPercent(USER_CHARS);
const PASSWORD_OR_PERCENT = withPercent(PASSWORD_CHARS);
const URI_HEADER_OR_PERCENT = withPercent(URI_HEADER_CHARS);

function withPercent(table: Uint8Array): Uint8Array {
  const copy = new Uint8Array(table);
  copy[0x25] = 1;
  return copy;
}

function invalid(text: string, why: string, offset: number, at: number): SipError {
  return new SipError('ERR_SIP_INVALID_URI', `Invalid URI "${text}": ${why}`, offset >= 0 ? offset + at : -1);
}

/**
 * Parses an absolute URI. `sip:`/`sips:` URIs are parsed into their parts; other schemes are kept
 * opaque. `offset` is the byte position of `text` in the message, for error reporting.
 */
export function parseUri(text: string, offset = -1): Uri {
  const fast = text.charCodeAt(0) === 0x73 ? fastSipUri(text) : undefined;
  return fast ?? parseUriStrictly(text, offset);
}

/** parseUri for URIs that recur (the Request-URI of in-dialog requests; see parse-memo.ts). */
export const parseUriMemoized: (text: string, offset?: number) => Uri = memoizedParse(parseUri);

/**
 * The common shape `sip:user:password@host:port;params` with no escapes, headers or unusual
 * characters, read by one regular expression; undefined sends the text to the full scanner.
 */
const FAST_SIP_URI =
  /^(sips?):(?:([A-Za-z0-9\-_.!~*'()&=+$,/]+)(?::([A-Za-z0-9\-_.!~*'()&=+$,]*))?@)?([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?((?:;[A-Za-z0-9\-_.!~*'()[\]/:&+$]+(?:=[A-Za-z0-9\-_.!~*'()[\]/:&+$]+)?)*)$/;

function fastSipUri(text: string): SipUri | undefined {
  const match = FAST_SIP_URI.exec(text);
  if (match === null) return undefined;
  const host = match[4] as string;
  if (host.charCodeAt(0) === 0x5b ? !isIpv6Address(host.slice(1, -1)) : !isHostname(host)) return undefined;
  const portText = match[5];
  const port = portText === undefined ? undefined : parseDecimal(portText, 65535);
  if (port === -1) return undefined;
  return {
    scheme: match[1] as 'sip' | 'sips',
    user: match[2],
    password: match[3],
    host,
    port,
    params: splitCheckedParams(match[6] as string),
    headers: [],
  };
}

/** Parses an absolute URI with the full scanner, which also says what is wrong. */
export function parseUriStrictly(text: string, offset = -1): Uri {
  const colon = text.indexOf(':');
  if (colon <= 0 || scanChars(text, 0, SCHEME_CHARS) !== colon || !/^[A-Za-z]/.test(text)) {
    throw invalid(text, 'no scheme', offset, 0);
  }
  const scheme = text.slice(0, colon).toLowerCase();
  if (scheme === 'sip' || scheme === 'sips') return parseSipUriParts(scheme, text, colon + 1, offset);
  const opaque = text.slice(colon + 1);
  // absoluteURI is ASCII (RFC 3261 §25.1, RFC 2396 uric): other bytes are escaped or invalid.
  if (opaque.length === 0 || /[^\x21-\x7e]|[<>"]/.test(opaque)) throw invalid(text, 'bad characters after the scheme', offset, colon + 1);
  return { scheme, opaque };
}

/** Parses a URI that must be `sip:` or `sips:`. */
export function parseSipUri(text: string, offset = -1): SipUri {
  const uri = parseUri(text, offset);
  if (!isSipUri(uri)) throw invalid(text, 'not a sip or sips URI', offset, 0);
  return uri;
}

function parseSipUriParts(scheme: 'sip' | 'sips', text: string, start: number, offset: number): SipUri {
  let user: string | undefined;
  let password: string | undefined;
  let i = start;
  const at = text.indexOf('@', start);
  if (at >= 0) {
    const userEnd = scanChars(text, start, USER_OR_PERCENT);
    if (userEnd === start) throw invalid(text, 'empty user part', offset, start);
    user = text.slice(start, userEnd);
    if (userEnd < at) {
      if (text.charCodeAt(userEnd) !== 0x3a) throw invalid(text, 'bad character in the user part', offset, userEnd);
      const passwordEnd = scanChars(text, userEnd + 1, PASSWORD_OR_PERCENT);
      if (passwordEnd !== at) throw invalid(text, 'bad character in the password', offset, passwordEnd);
      password = text.slice(userEnd + 1, at);
    }
    if (!hasValidEscapes(user) || (password !== undefined && !hasValidEscapes(password))) {
      throw invalid(text, 'bad escape in the user part', offset, start);
    }
    i = at + 1;
  }

  let host: string;
  if (text.charCodeAt(i) === 0x5b) {
    const close = text.indexOf(']', i);
    if (close < 0 || !isIpv6Address(text.slice(i + 1, close))) throw invalid(text, 'bad IPv6 reference', offset, i);
    host = text.slice(i, close + 1);
    i = close + 1;
  } else {
    const hostEnd = scanChars(text, i, HOST_CHARS);
    host = text.slice(i, hostEnd);
    if (!isHostname(host)) throw invalid(text, 'bad host', offset, i);
    i = hostEnd;
  }

  let port: number | undefined;
  if (text.charCodeAt(i) === 0x3a) {
    let portEnd = i + 1;
    while (portEnd < text.length && text.charCodeAt(portEnd) >= 0x30 && text.charCodeAt(portEnd) <= 0x39) portEnd++;
    const value = parseDecimal(text.slice(i + 1, portEnd), 65535);
    if (value < 0) throw invalid(text, 'bad port', offset, i + 1);
    port = value;
    i = portEnd;
  }

  const scan = scanUriParams(text, i);
  if (scan.errorAt >= 0) throw invalid(text, 'bad parameter', offset, scan.errorAt);
  i = scan.end;

  const headers: Array<[string, string]> = [];
  if (text.charCodeAt(i) === 0x3f) {
    for (;;) {
      const nameEnd = scanChars(text, i + 1, URI_HEADER_OR_PERCENT);
      if (nameEnd === i + 1 || text.charCodeAt(nameEnd) !== 0x3d) throw invalid(text, 'bad header', offset, i + 1);
      const valueEnd = scanChars(text, nameEnd + 1, URI_HEADER_OR_PERCENT);
      headers.push([text.slice(i + 1, nameEnd), text.slice(nameEnd + 1, valueEnd)]);
      i = valueEnd;
      if (text.charCodeAt(i) !== 0x26) break;
    }
  }
  if (i !== text.length) throw invalid(text, `unexpected "${text[i]}"`, offset, i);
  return { scheme, user, password, host, port, params: scan.params, headers };
}

/** Host names: labels of letters, digits and inner hyphens, separated by single dots. */
function isHostname(host: string): boolean {
  const length = host.length;
  if (length === 0 || length > 255) return false;
  let labelStart = 0;
  for (let i = 0; i <= length; i++) {
    const code = i < length ? host.charCodeAt(i) : 0x2e;
    if (code !== 0x2e) continue;
    if (i === labelStart) return i === length && length > 0 && i > 0; // a trailing dot is allowed
    if (host.charCodeAt(labelStart) === 0x2d || host.charCodeAt(i - 1) === 0x2d) return false;
    labelStart = i + 1;
  }
  return true;
}

/** Checks the textual form of an IPv6 address (without brackets), IPv4-suffixed forms included. */
export function isIpv6Address(text: string): boolean {
  if (text.length < 2 || text.length > 45) return false;
  let hexPart = text;
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) >= 0) {
    const ipv4 = text.slice(lastColon + 1);
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ipv4) || ipv4.split('.').some((octet) => Number(octet) > 255)) return false;
    // The dotted quad stands for two groups.
    hexPart = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const doubleColon = hexPart.indexOf('::');
  if (doubleColon >= 0 && hexPart.indexOf('::', doubleColon + 1) >= 0) return false;
  const groups = doubleColon >= 0
    ? [...splitGroups(hexPart.slice(0, doubleColon)), ...splitGroups(hexPart.slice(doubleColon + 2))]
    : hexPart.split(':');
  for (const group of groups) {
    if (group.length === 0 || group.length > 4) return false;
    for (let k = 0; k < group.length; k++) if (!isHex(group.charCodeAt(k))) return false;
  }
  return doubleColon >= 0 ? groups.length < 8 : groups.length === 8;
}

function splitGroups(text: string): string[] {
  return text.length === 0 ? [] : text.split(':');
}

/** Writes a URI back as text. */
export function formatUri(uri: Uri): string {
  if (!isSipUri(uri)) return `${uri.scheme}:${uri.opaque}`;
  let out = `${uri.scheme}:`;
  if (uri.user !== undefined) out += uri.password !== undefined ? `${uri.user}:${uri.password}@` : `${uri.user}@`;
  out += uri.host;
  if (uri.port !== undefined) out += `:${uri.port}`;
  out += formatParams(uri.params);
  if (uri.headers.length > 0) out += `?${uri.headers.map(([name, value]) => `${name}=${value}`).join('&')}`;
  return out;
}

/** The user part with escapes decoded, or undefined. */
export function uriUser(uri: SipUri): string | undefined {
  return uri.user === undefined ? undefined : unescape(uri.user);
}

/** The host without IPv6 brackets, lower-cased (host names compare case-insensitively). */
export function uriHostname(uri: SipUri): string {
  const host = uri.host.startsWith('[') ? uri.host.slice(1, -1) : uri.host;
  return host.toLowerCase();
}
