import { isHex } from './lexer.js';
import { isSipUri, type SipUri, type Uri } from './uri.js';

/**
 * URI equality of RFC 3261 §19.1.4, for SIP and SIPS URIs (other schemes: equal when the scheme
 * matches case-insensitively and the rest is equal once escapes are normalized).
 *
 * - `sip:` and `sips:` never match.
 * - user and password compare case-sensitively, host case-insensitively, the rest
 *   case-insensitively; an unreserved character equals its `%HH` escape, a reserved one does not.
 * - user, password and port must be both absent or both present and equal (no default port).
 * - the `transport`, `user`, `ttl`, `method` and `maddr` parameters must match when either URI
 *   has them; other parameters are compared only when both have them.
 * - URI headers are never ignored: the same names with equal values, in any order.
 *
 * The relation is not transitive (`sip:c@h;security=on` and `;security=off` both equal `sip:c@h`
 * but not each other), so no canonical key can stand for it: compare URIs with this function.
 */
export function uriEquals(a: Uri, b: Uri): boolean {
  if (!isSipUri(a) || !isSipUri(b)) {
    if (isSipUri(a) || isSipUri(b)) return false;
    return a.scheme.toLowerCase() === b.scheme.toLowerCase() && normalizeEscapes(a.opaque) === normalizeEscapes(b.opaque);
  }
  return a.scheme === b.scheme && sipPartsEqual(a, b) && paramsEqual(a, b) && headersEqual(a, b);
}

/** Parameters that must match when either URI has one (§19.1.4). */
const SIGNIFICANT_PARAMS = ['transport', 'user', 'ttl', 'method', 'maddr'];

function sipPartsEqual(a: SipUri, b: SipUri): boolean {
  return (
    optionalEqual(a.user, b.user, (x, y) => normalizeEscapes(x) === normalizeEscapes(y)) &&
    optionalEqual(a.password, b.password, (x, y) => normalizeEscapes(x) === normalizeEscapes(y)) &&
    hostKey(a.host) === hostKey(b.host) &&
    a.port === b.port
  );
}

function paramsEqual(a: SipUri, b: SipUri): boolean {
  for (const name of SIGNIFICANT_PARAMS) {
    if (a.params.has(name) !== b.params.has(name)) return false;
  }
  for (const [name, value] of a.params) {
    if (!b.params.has(name)) continue;
    if (!optionalEqual(value ?? undefined, b.params.get(name) ?? undefined, caseInsensitiveEqual)) return false;
  }
  return true;
}

function headersEqual(a: SipUri, b: SipUri): boolean {
  const left = headerMap(a);
  const right = headerMap(b);
  if (left === undefined || right === undefined || left.size !== right.size) return false;
  for (const [name, value] of left) {
    if (right.get(name) !== value) return false;
  }
  return true;
}

/** URI headers by normalized name; undefined when a name repeats (compared as written then). */
function headerMap(uri: SipUri): Map<string, string> | undefined {
  const map = new Map<string, string>();
  for (const [name, value] of uri.headers) {
    const key = normalizeEscapes(name).toLowerCase();
    if (map.has(key)) return undefined;
    map.set(key, normalizeEscapes(value).toLowerCase());
  }
  return map;
}

function optionalEqual(a: string | undefined, b: string | undefined, equal: (x: string, y: string) => boolean): boolean {
  if (a === undefined || b === undefined) return a === b;
  return equal(a, b);
}

function caseInsensitiveEqual(a: string, b: string): boolean {
  return normalizeEscapes(a).toLowerCase() === normalizeEscapes(b).toLowerCase();
}

/** `unreserved` of RFC 3261 §25.1: alphanum and mark. */
function isUnreserved(code: number): boolean {
  return (
    (code >= 0x30 && code <= 0x39) ||
    (code >= 0x41 && code <= 0x5a) ||
    (code >= 0x61 && code <= 0x7a) ||
    code === 0x2d || code === 0x5f || code === 0x2e || code === 0x21 || code === 0x7e || code === 0x2a || code === 0x27 || code === 0x28 || code === 0x29
  );
}

/**
 * One spelling per URI component: escapes of unreserved characters decoded, other escapes
 * upper-cased (`%3b` and `%3B` are the same byte; `%3B` and `;` are not the same URI).
 */
export function normalizeEscapes(text: string): string {
  if (!text.includes('%')) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x25 && isHex(text.charCodeAt(i + 1)) && isHex(text.charCodeAt(i + 2))) {
      const byte = parseInt(text.slice(i + 1, i + 3), 16);
      out += isUnreserved(byte) ? String.fromCharCode(byte) : `%${text.slice(i + 1, i + 3).toUpperCase()}`;
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

/** A host compared case-insensitively; IPv6 references by their address, not their spelling. */
function hostKey(host: string): string {
  const lower = host.toLowerCase();
  return lower.startsWith('[') ? `[${expandIpv6(lower.slice(1, -1))}]` : lower;
}

/** An IPv6 address as eight groups of four hex digits (the IPv4-suffixed form kept as two groups). */
function expandIpv6(text: string): string {
  let address = text;
  const lastColon = address.lastIndexOf(':');
  if (address.indexOf('.', lastColon) >= 0) {
    const octets = address.slice(lastColon + 1).split('.').map(Number);
    const hex = (high: number, low: number): string => ((high << 8) | low).toString(16);
    address = `${address.slice(0, lastColon + 1)}${hex(octets[0] ?? 0, octets[1] ?? 0)}:${hex(octets[2] ?? 0, octets[3] ?? 0)}`;
  }
  const [head = '', tail] = address.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = tail === undefined ? headGroups : [...headGroups, ...new Array<string>(Math.max(0, missing)).fill('0'), ...tailGroups];
  return groups.map((group) => group.padStart(4, '0')).join(':');
}
