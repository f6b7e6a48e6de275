import { SipError } from './errors.js';
import { quote, scanQuotedString, scanToken, skipWhitespace, unquote, isToken } from './lexer.js';
import { formatParams, scanHeaderParams, type Params } from './params.js';
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

/** The `tag` parameter of a From or To value. */
export function tagOf(value: NameAddr | undefined): string | undefined {
  const tag = value?.params.get('tag');
  return tag === null ? undefined : tag;
}
