import { SipError } from './errors.js';
import { quote, scanQuotedString, scanToken, skipWhitespace, unquote, isToken } from './lexer.js';
import { formatParams, scanHeaderParams, splitCheckedParams, type Params } from './params.js';
import { memoizedParse } from './parse-memo.js';
import { parseUri, type Uri } from './uri.js';

/**
 * A From, To, Contact, Route or Record-Route value: `[display-name] <URI> *params` or
 * `addr-spec *params` (RFC 3261 §20.10, §25.1).
 */
export interface NameAddr {
  /** Display name with quotes and escapes removed, or undefined. */
  readonly displayName: string | undefined;
  readonly uri: Uri;
  /** The URI exactly as written. */
  readonly uriText: string;
  /** Header parameters (tag, expires, q ...), not URI parameters. */
  readonly params: Params;
}

function invalid(text: string, why: string, offset: number, at: number): SipError {
  return new SipError('ERR_SIP_INVALID_NAME_ADDR', `Invalid address "${text}": ${why}`, offset >= 0 ? offset + at : -1);
}

/** Parses one name-addr or addr-spec with its header parameters. */
export function parseNameAddr(text: string, offset = -1): NameAddr {
  return fastNameAddr(text) ?? parseNameAddrStrictly(text, offset);
}

/**
 * parseNameAddr for values that recur (Route, Record-Route, Contact; see parse-memo.ts): the same
 * result for the same text, parsed once.
 */
export const parseNameAddrMemoized: (text: string, offset?: number) => NameAddr = memoizedParse(parseNameAddr);

/**
 * The common shape `"Display" <URI>;tag=x` or `Display <URI>;tag=x` with no blanks inside the
 * parameters and no quoted parameter values, read by one regular expression; anything else goes
 * to the full scanner.
 */
const FAST_NAME_ADDR =
  /^(?:"((?:[^"\\\r\n]|\\.)*)" ?|([A-Za-z0-9\-.!%*_+`'~]+(?: [A-Za-z0-9\-.!%*_+`'~]+)*) ?)?<([^<>"\s]+)>((?:;[A-Za-z0-9\-.!%*_+`'~]+(?:=[A-Za-z0-9\-.!%*_+`'~:[\]]+)?)*)$/;

function fastNameAddr(text: string): NameAddr | undefined {
  const match = FAST_NAME_ADDR.exec(text);
  if (match === null) return undefined;
  const uriText = match[3] as string;
  let uri: Uri;
  try {
    uri = parseUri(uriText);
  } catch {
    return undefined;
  }
  const quoted = match[1];
  const displayName = quoted === undefined ? match[2] : quoted.includes('\\') ? quoted.replace(/\\(.)/gs, '$1') : quoted;
  return { displayName, uri, uriText, params: splitCheckedParams(match[4] as string) };
}

/** Parses one name-addr or addr-spec with the full scanner, which also says what is wrong. */
export function parseNameAddrStrictly(text: string, offset = -1): NameAddr {
  let i = skipWhitespace(text, 0);
  let displayName: string | undefined;
  let bracketStart = -1;

  if (text.charCodeAt(i) === 0x22) {
    const end = scanQuotedString(text, i);
    if (end < 0) throw invalid(text, 'unterminated quoted display name', offset, i);
    displayName = unquote(text.slice(i, end));
    bracketStart = skipWhitespace(text, end);
    if (text.charCodeAt(bracketStart) !== 0x3c) throw invalid(text, 'display name not followed by <URI>', offset, bracketStart);
  } else if (text.charCodeAt(i) === 0x3c) {
    bracketStart = i;
  } else {
    // Either `token *(LWS token) <URI>` or an addr-spec such as `sip:user@host;tag=1`.
    let j = i;
    let lastTokenEnd = i;
    for (;;) {
      const tokenEnd = scanToken(text, j);
      if (tokenEnd === j) break;
      lastTokenEnd = tokenEnd;
      j = skipWhitespace(text, tokenEnd);
    }
    if (lastTokenEnd > i && text.charCodeAt(j) === 0x3c) {
      displayName = text.slice(i, lastTokenEnd);
      bracketStart = j;
    } else if (text.indexOf('<', i) >= 0) {
      throw invalid(text, 'display name holds characters that are not token characters', offset, lastTokenEnd);
    }
  }

  let uriText: string;
  let uriStart: number;
  let paramsStart: number;
  if (bracketStart >= 0) {
    const close = text.indexOf('>', bracketStart + 1);
    if (close < 0) throw invalid(text, 'missing ">"', offset, bracketStart);
    uriStart = bracketStart + 1;
    uriText = text.slice(uriStart, close);
    paramsStart = close + 1;
  } else {
    // In an addr-spec the URI ends at the first ';' or blank after its user part; it may not
    // carry URI headers (RFC 3261 §20.10: such a URI must be enclosed in <>).
    const at = text.indexOf('@', i);
    let end = at >= 0 ? at : i;
    while (end < text.length && !/[;\s]/.test(text[end] ?? '')) end++;
    uriStart = i;
    uriText = text.slice(i, end);
    const afterUser = at >= 0 ? at - i : uriText.indexOf(':');
    if (uriText.indexOf('?', afterUser) >= 0 || uriText.indexOf(',', afterUser) >= 0) {
      throw invalid(text, 'a URI with headers, commas or parameters must be enclosed in <>', offset, i);
    }
    paramsStart = end;
  }
  if (uriText.length === 0) throw invalid(text, 'empty URI', offset, uriStart);
  let uri: Uri;
  try {
    uri = parseUri(uriText, offset >= 0 ? offset + uriStart : -1);
  } catch (error) {
    throw invalid(text, (error as Error).message, offset, uriStart);
  }
  const scan = scanHeaderParams(text, paramsStart);
  const end = skipWhitespace(text, scan.end);
  if (scan.errorAt >= 0 || end !== text.length) {
    throw invalid(text, 'bad header parameter', offset, scan.errorAt >= 0 ? scan.errorAt : end);
  }
  return { displayName, uri, uriText, params: scan.params };
}

/** Writes a name-addr back as text: `"Display" <uri>;params` or `<uri>;params`. */
export function formatNameAddr(value: { displayName?: string | undefined; uriText: string; params?: Params }): string {
  let out = '';
  if (value.displayName !== undefined && value.displayName !== '') {
    out += `${isTokenSequence(value.displayName) ? value.displayName : quote(value.displayName)} `;
  }
  out += `<${value.uriText}>`;
  if (value.params !== undefined) out += formatParams(value.params);
  return out;
}

function isTokenSequence(text: string): boolean {
  return text.split(' ').every(isToken);
}

/**
 * A From or To value as the parser keeps it: its text, where it is, and its tag. The full
 * name-addr is parsed when first asked for (`SipMessage.from`, `.to`).
 */
export interface TaggedAddress {
  readonly text: string;
  /** Byte offset of the value in the message. */
  readonly offset: number;
  readonly tag: string | undefined;
}

/**
 * Reads the tag of a From or To value and checks the outline the tag depends on: a closed quoted
 * display name, a closed `<URI>`, the parameters after it. Everything else is checked when the
 * value is parsed in full.
 */
export function scanTaggedAddress(text: string, offset = -1): TaggedAddress {
  let i = skipWhitespace(text, 0);
  if (text.charCodeAt(i) === 0x22) {
    i = scanQuotedString(text, i);
    if (i < 0) throw invalid(text, 'unterminated quoted display name', offset, 0);
  }
  let paramsStart: number;
  const open = text.indexOf('<', i);
  if (open >= 0) {
    paramsStart = text.indexOf('>', open + 1) + 1;
    if (paramsStart === 0) throw invalid(text, 'missing ">"', offset, open);
  } else {
    if (i > 0 && text.charCodeAt(i - 1) === 0x22) throw invalid(text, 'display name not followed by <URI>', offset, i);
    const at = text.indexOf('@', i);
    paramsStart = text.indexOf(';', at >= 0 ? at : i);
    if (paramsStart < 0) paramsStart = text.length;
  }
  return { text, offset, tag: tagAfter(text, paramsStart) };
}

/**
 * The value of the first `;tag=` parameter at or after `from`, as the regular expression
 * `/;[ \t]*tag[ \t]*=[ \t]*([^;\s]+)/i` finds it in `text.slice(from)`, without the slice.
 */
function tagAfter(text: string, from: number): string | undefined {
  for (let semi = text.indexOf(';', from); semi >= 0; semi = text.indexOf(';', semi + 1)) {
    let i = skipBlanks(text, semi + 1);
    if ((text.charCodeAt(i) | 0x20) !== 0x74 || (text.charCodeAt(i + 1) | 0x20) !== 0x61 || (text.charCodeAt(i + 2) | 0x20) !== 0x67) continue;
    i = skipBlanks(text, i + 3);
    if (text.charCodeAt(i) !== 0x3d) continue;
    const valueStart = skipBlanks(text, i + 1);
    let valueEnd = valueStart;
    while (valueEnd < text.length && !endsTag(text.charCodeAt(valueEnd))) valueEnd++;
    if (valueEnd > valueStart) return text.slice(valueStart, valueEnd);
  }
  return undefined;
}

/** SP and HTAB only (the expression's `[ \t]*`). */
function skipBlanks(text: string, index: number): number {
  while (text.charCodeAt(index) === 0x20 || text.charCodeAt(index) === 0x09) index++;
  return index;
}

/** `;` or a character of JavaScript's `\s` class: where a tag value ends. */
function endsTag(code: number): boolean {
  if (code === 0x3b || code === 0x20 || (code >= 0x09 && code <= 0x0d)) return true;
  if (code < 0xa0) return false;
  return code === 0xa0 || code === 0x1680 || (code >= 0x2000 && code <= 0x200a) || code === 0x2028 || code === 0x2029 || code === 0x202f || code === 0x205f || code === 0x3000 || code === 0xfeff;
}

/** The `tag` parameter of a From or To value. */
export function tagOf(value: NameAddr | undefined): string | undefined {
  const tag = value?.params.get('tag');
  return tag === null ? undefined : tag;
}
