import { isUtf8 } from 'node:buffer';

/**
 * Character classes and small scanners shared by the header grammars (RFC 3261 §25.1).
 * All work on strings holding one header value whose folding has been undone.
 */

/** A table of 256 flags: 1 for each character of `chars` and of the inclusive `ranges`. */
export function charTable(chars: string, ranges: Array<[string, string]> = []): Uint8Array {
  const table = new Uint8Array(256);
  for (const ch of chars) table[ch.charCodeAt(0)] = 1;
  for (const [from, to] of ranges) {
    for (let c = from.charCodeAt(0); c <= to.charCodeAt(0); c++) table[c] = 1;
  }
  return table;
}

const ALPHANUM: Array<[string, string]> = [
  ['a', 'z'],
  ['A', 'Z'],
  ['0', '9'],
];

/** token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") */
export const TOKEN_CHARS = charTable("-.!%*_+`'~", ALPHANUM);

/** Characters of a URI parameter name or value besides escapes (paramchar, RFC 3261 §25.1). */
export const PARAM_CHARS = charTable("[]/:&+$-_.!~*'()", ALPHANUM);

/** Characters of a hostname or IPv4 address. */
export const HOST_CHARS = charTable('-.', ALPHANUM);

/** Characters of the user part of a SIP URI besides escapes (unreserved / user-unreserved). */
export const USER_CHARS = charTable("-_.!~*'()&=+$,;?/", ALPHANUM);

/** Characters of the password of a SIP URI besides escapes. */
export const PASSWORD_CHARS = charTable("-_.!~*'()&=+$,", ALPHANUM);

/** Characters of a URI header name or value besides escapes (hnv-unreserved / unreserved). */
export const URI_HEADER_CHARS = charTable("[]/?:+$-_.!~*'()", ALPHANUM);

/** Characters allowed in a generic parameter value that is not quoted (gen-value: token / host). */
export const GEN_VALUE_CHARS = charTable("-.!%*_+`'~:[]", ALPHANUM);

export function isTokenChar(code: number): boolean {
  return code < 256 && TOKEN_CHARS[code] === 1;
}

export function isToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    if (!isTokenChar(text.charCodeAt(i))) return false;
  }
  return true;
}

export function isWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/** Index of the first non-blank character at or after `index`. */
export function skipWhitespace(text: string, index: number): number {
  while (index < text.length && isWhitespace(text.charCodeAt(index))) index++;
  return index;
}

/** Index just past the token starting at `index` (equal to `index` when there is none). */
export function scanToken(text: string, index: number): number {
  while (index < text.length && isTokenChar(text.charCodeAt(index))) index++;
  return index;
}

/** Index just past the run of characters of `table` starting at `index`. */
export function scanChars(text: string, index: number, table: Uint8Array): number {
  while (index < text.length) {
    const code = text.charCodeAt(index);
    if (code < 256 && table[code] === 1) index++;
    else break;
  }
  return index;
}

/**
 * Index just past the quoted string whose opening quote is at `index`, or -1 when it is not
 * closed. Backslash escapes any character (quoted-pair).
 */
export function scanQuotedString(text: string, index: number): number {
  for (let i = index + 1; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x5c) i++;
    else if (code === 0x22) return i + 1;
  }
  return -1;
}

/** The content of a quoted string (quotes included in `quoted`) with its escapes resolved. */
export function unquote(quoted: string): string {
  const inner = quoted.slice(1, -1);
  return inner.includes('\\') ? inner.replace(/\\(.)/gs, '$1') : inner;
}

export function quote(text: string): string {
  return `"${text.replace(/["\\]/g, '\\$&')}"`;
}

/** Replaces each folded line break with the blanks around it (LWS, RFC 3261 §7.3.1) by one space. */
export function unfold(text: string): string {
  return text.includes('\r') ? text.replace(/[ \t]*\r\n[ \t]+/g, ' ') : text;
}

export interface ListItem {
  readonly text: string;
  /** Index of the item's first character in the list string. */
  readonly start: number;
}

/**
 * Splits a comma-separated header value into its items, ignoring commas inside quoted strings
 * and inside `<...>`. Items are trimmed; an empty item is kept as an empty string so the caller
 * can reject it.
 */
export function splitList(value: string): ListItem[] {
  if (value.indexOf(',') < 0) return [trimmedItem(value, 0, value.length)];
  const items: ListItem[] = [];
  let itemStart = 0;
  let inAngle = false;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code === 0x22) {
      const end = scanQuotedString(value, i);
      if (end < 0) break;
      i = end - 1;
    } else if (code === 0x3c) {
      inAngle = true;
    } else if (code === 0x3e) {
      inAngle = false;
    } else if (code === 0x2c && !inAngle) {
      items.push(trimmedItem(value, itemStart, i));
      itemStart = i + 1;
    }
  }
  items.push(trimmedItem(value, itemStart, value.length));
  return items;
}

function trimmedItem(value: string, start: number, end: number): ListItem {
  while (start < end && isWhitespace(value.charCodeAt(start))) start++;
  while (end > start && isWhitespace(value.charCodeAt(end - 1))) end--;
  return { text: value.slice(start, end), start };
}

/**
 * Decodes %HH escapes. Invalid escapes are left as they are. The decoded bytes are read as UTF-8;
 * a byte that is not part of a valid UTF-8 sequence becomes the lone surrogate U+DC00 + byte
 * (as Python's "surrogateescape"), which valid UTF-8 never yields: distinct byte sequences stay
 * distinct strings (`%FF` and `%FE` do not both become U+FFFD and compare equal).
 */
export function unescape(text: string): string {
  if (!text.includes('%')) return text;
  const bytes: number[] = [];
  let plain = true;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x25 && isHex(text.charCodeAt(i + 1)) && isHex(text.charCodeAt(i + 2))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
      plain = false;
    } else if (code < 0x80) {
      bytes.push(code);
    } else {
      const point = text.codePointAt(i) ?? code;
      if (point > 0xffff) i++;
      for (const b of Buffer.from(String.fromCodePoint(point), 'utf8')) bytes.push(b);
    }
  }
  return plain ? text : decodeUtf8Escaping(Buffer.from(bytes));
}

/** UTF-8 to text, with each byte outside a valid sequence as U+DC00 + byte (see unescape). */
export function decodeUtf8Escaping(bytes: Buffer): string {
  if (isUtf8(bytes)) return bytes.toString('utf8');
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i] as number;
    const length = lead < 0x80 ? 1 : lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
    if (length > 0 && i + length <= bytes.length && isUtf8(bytes.subarray(i, i + length))) {
      out += bytes.toString('utf8', i, i + length);
      i += length;
    } else {
      out += String.fromCharCode(0xdc00 + lead);
      i++;
    }
  }
  return out;
}

export function isHex(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x46) || (code >= 0x61 && code <= 0x66);
}

/** True when every `%` in `text` starts a valid %HH escape. */
export function hasValidEscapes(text: string): boolean {
  for (let i = text.indexOf('%'); i >= 0; i = text.indexOf('%', i + 1)) {
    if (!(isHex(text.charCodeAt(i + 1)) && isHex(text.charCodeAt(i + 2)))) return false;
  }
  return true;
}

/** Parses a string of decimal digits as a non-negative integer no greater than `max`, else -1. */
export function parseDecimal(text: string, max: number): number {
  if (text.length === 0) return -1;
  let start = 0;
  while (start < text.length - 1 && text.charCodeAt(start) === 0x30) start++;
  if (text.length - start > 15) return -1;
  let value = 0;
  for (let i = start; i < text.length; i++) {
    const digit = text.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value <= max ? value : -1;
}
