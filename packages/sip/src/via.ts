import { SipError } from './errors.js';
import { GEN_VALUE_CHARS, HOST_CHARS, TOKEN_CHARS, charTable, parseDecimal, scanChars, scanToken, skipWhitespace, isToken } from './lexer.js';
import { formatParams, scanHeaderParams, type Params } from './params.js';
import { isIpv6Address } from './uri.js';

/** One Via value (RFC 3261 §20.42, RFC 3581). */
export interface Via {
  /** `SIP/2.0` as the sender wrote it, blanks removed. */
  readonly protocol: string;
  /** Upper-case transport: UDP, TCP, TLS, SCTP, WS ... */
  readonly transport: string;
  /** sent-by host as written; an IPv6 reference keeps its brackets. */
  readonly host: string;
  readonly port: number | undefined;
  readonly params: Params;
  readonly branch: string | undefined;
  readonly received: string | undefined;
  /** Port from `rport=N`; `null` when `rport` is present without a value; undefined when absent. */
  readonly rport: number | null | undefined;
}

/** The branch prefix of RFC 3261 transaction identifiers (§8.1.1.7). */
export const MAGIC_COOKIE = 'z9hG4bK';

function invalid(text: string, why: string, offset: number, at: number): SipError {
  return new SipError('ERR_SIP_INVALID_VIA', `Invalid Via "${text}": ${why}`, offset >= 0 ? offset + at : -1);
}

function expectSlash(text: string, index: number, offset: number): number {
  const i = skipWhitespace(text, index);
  if (text.charCodeAt(i) !== 0x2f) throw invalid(text, 'expected "/" in sent-protocol', offset, i);
  return skipWhitespace(text, i + 1);
}

/** Parses one Via value (one item of a comma-separated Via header). */
export function parseVia(text: string, offset = -1): Via {
  return fastVia(text, offset) ?? parseViaStrictly(text, offset);
}

const ALPHA = charTable('', [['a', 'z'], ['A', 'Z']]);
const IPV6_REFERENCE_CHARS = charTable(':.', [['0', '9'], ['a', 'f'], ['A', 'F']]);
const DIGIT = charTable('', [['0', '9']]);

/**
 * The common shape `SIP/2.0/UDP host:port;params` without blanks or quoted values, read in one
 * pass without a regular expression (the language of
 * `^SIP\/2\.0\/([A-Za-z]+) ([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?((?:;token(?:=gen-value-chars)?)*)$`,
 * parameter values being token, host or IPv6 characters); undefined sends anything else, a port
 * above 65535 included, to the full scanner.
 */
function fastVia(text: string, offset: number): Via | undefined {
  const length = text.length;
  if (!text.startsWith('SIP/2.0/')) return undefined;
  const transportEnd = scanChars(text, 8, ALPHA);
  if (transportEnd === 8 || text.charCodeAt(transportEnd) !== 0x20) return undefined;
  const hostStart = transportEnd + 1;
  let i: number;
  if (text.charCodeAt(hostStart) === 0x5b) {
    i = scanChars(text, hostStart + 1, IPV6_REFERENCE_CHARS);
    if (i === hostStart + 1 || text.charCodeAt(i) !== 0x5d) return undefined;
    i++;
  } else {
    i = scanChars(text, hostStart, HOST_CHARS);
    if (i === hostStart) return undefined;
  }
  const host = text.slice(hostStart, i);
  let port: number | undefined;
  if (text.charCodeAt(i) === 0x3a) {
    const portEnd = scanChars(text, i + 1, DIGIT);
    if (portEnd === i + 1 || portEnd - i - 1 > 5) return undefined;
    let value = 0;
    for (let k = i + 1; k < portEnd; k++) value = value * 10 + text.charCodeAt(k) - 0x30;
    if (value > 65535) return undefined;
    port = value;
    i = portEnd;
  }
  const params: Params = new Map();
  while (i < length) {
    if (text.charCodeAt(i) !== 0x3b) return undefined;
    const nameEnd = scanChars(text, i + 1, TOKEN_CHARS);
    if (nameEnd === i + 1) return undefined;
    const name = text.slice(i + 1, nameEnd).toLowerCase();
    if (text.charCodeAt(nameEnd) === 0x3d) {
      const valueEnd = scanChars(text, nameEnd + 1, GEN_VALUE_CHARS);
      if (valueEnd === nameEnd + 1) return undefined;
      params.set(name, text.slice(nameEnd + 1, valueEnd));
      i = valueEnd;
    } else {
      params.set(name, null);
      i = nameEnd;
    }
  }
  return checkedVia(text, offset, 'SIP/2.0', text.slice(8, transportEnd).toUpperCase(), host, port, params);
}

/** Parses one Via value with the full scanner, which also says what is wrong. */
export function parseViaStrictly(text: string, offset = -1): Via {
  let i = skipWhitespace(text, 0);
  const nameEnd = scanToken(text, i);
  if (nameEnd === i) throw invalid(text, 'missing protocol name', offset, i);
  const name = text.slice(i, nameEnd);
  i = expectSlash(text, nameEnd, offset);
  const versionEnd = scanToken(text, i);
  if (versionEnd === i) throw invalid(text, 'missing protocol version', offset, i);
  const version = text.slice(i, versionEnd);
  i = expectSlash(text, versionEnd, offset);
  const transportEnd = scanToken(text, i);
  if (transportEnd === i) throw invalid(text, 'missing transport', offset, i);
  const transport = text.slice(i, transportEnd).toUpperCase();

  const hostStart = skipWhitespace(text, transportEnd);
  if (hostStart === transportEnd) throw invalid(text, 'no blank before sent-by', offset, hostStart);
  let host: string;
  i = hostStart;
  if (text.charCodeAt(i) === 0x5b) {
    const close = text.indexOf(']', i);
    if (close < 0 || !isIpv6Address(text.slice(i + 1, close))) throw invalid(text, 'bad IPv6 reference', offset, i);
    host = text.slice(i, close + 1);
    i = close + 1;
  } else {
    i = scanChars(text, i, HOST_CHARS);
    host = text.slice(hostStart, i);
    if (host.length === 0) throw invalid(text, 'missing sent-by host', offset, hostStart);
  }
  let port: number | undefined;
  const colon = skipWhitespace(text, i);
  if (text.charCodeAt(colon) === 0x3a) {
    const portStart = skipWhitespace(text, colon + 1);
    let portEnd = portStart;
    while (portEnd < text.length && text.charCodeAt(portEnd) >= 0x30 && text.charCodeAt(portEnd) <= 0x39) portEnd++;
    const value = parseDecimal(text.slice(portStart, portEnd), 65535);
    if (value < 0) throw invalid(text, 'bad port', offset, portStart);
    port = value;
    i = portEnd;
  }

  const scan = scanHeaderParams(text, i);
  const end = skipWhitespace(text, scan.end);
  if (scan.errorAt >= 0 || end !== text.length) {
    throw invalid(text, 'bad parameter', offset, scan.errorAt >= 0 ? scan.errorAt : end);
  }
  return checkedVia(text, offset, `${name}/${version}`, transport, host, port, scan.params);
}

function checkedVia(
  text: string,
  offset: number,
  protocol: string,
  transport: string,
  host: string,
  port: number | undefined,
  params: Params,
): Via {
  if (host.charCodeAt(0) === 0x5b && !isIpv6Address(host.slice(1, -1))) throw invalid(text, 'bad IPv6 reference', offset, 0);
  // Port 0 names no port: a response sent there cannot arrive (and a socket refuses to send there).
  if (port === 0) throw invalid(text, 'sent-by port 0', offset, Math.max(0, text.indexOf(':', text.indexOf(host) + host.length)));
  const at = Math.max(0, text.indexOf(';'));
  const branch = params.get('branch');
  if (branch === null || (branch !== undefined && !isToken(branch))) throw invalid(text, 'bad branch', offset, at);
  const received = params.get('received');
  if (received === null) throw invalid(text, 'received without a value', offset, at);
  const rportText = params.get('rport');
  let rport: number | null | undefined;
  if (rportText === null) rport = null;
  else if (rportText !== undefined) {
    rport = parseDecimal(rportText, 65535);
    if (rport <= 0) throw invalid(text, 'bad rport', offset, at);
  }
  const ttl = params.get('ttl');
  if (ttl !== undefined && (ttl === null || parseDecimal(ttl, 255) < 0)) throw invalid(text, 'bad ttl', offset, at);
  return {
    protocol,
    transport,
    host,
    port,
    params,
    branch: branch ?? undefined,
    received: received ?? undefined,
    rport,
  };
}

/** Writes a Via value: `SIP/2.0/UDP host:port;branch=...`. */
export function formatVia(via: { transport: string; host: string; port?: number | undefined; params?: Params }): string {
  const port = via.port === undefined ? '' : `:${via.port}`;
  return `SIP/2.0/${via.transport} ${via.host}${port}${via.params === undefined ? '' : formatParams(via.params)}`;
}
