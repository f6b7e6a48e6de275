import {
  GEN_VALUE_CHARS,
  PARAM_CHARS,
  hasValidEscapes,
  scanChars,
  scanQuotedString,
  scanToken,
  skipWhitespace,
  unescape,
} from './lexer.js';

/**
 * Parameters by lower-case name. A parameter without a value maps to `null`. Values keep their
 * written form: quoted strings keep their quotes, URI parameters keep their escapes.
 */
export type Params = Map<string, string | null>;

export interface ParamsScan {
  readonly params: Params;
  /** Index of the first character after the parameters. */
  readonly end: number;
  /** Set when a `;` was not followed by a valid parameter: the index where it failed. */
  readonly errorAt: number;
}

/**
 * Scans header parameters: `*( SEMI generic-param )` where SEMI and EQUAL allow blanks around
 * them, names are tokens and values are tokens, hosts or quoted strings.
 */
export function scanHeaderParams(text: string, index: number): ParamsScan {
  const params: Params = new Map();
  let i = index;
  for (;;) {
    const semi = skipWhitespace(text, i);
    if (semi >= text.length || text.charCodeAt(semi) !== 0x3b) return { params, end: i, errorAt: -1 };
    const nameStart = skipWhitespace(text, semi + 1);
    const nameEnd = scanToken(text, nameStart);
    if (nameEnd === nameStart) return { params, end: i, errorAt: nameStart };
    const name = text.slice(nameStart, nameEnd).toLowerCase();
    const equals = skipWhitespace(text, nameEnd);
    if (equals < text.length && text.charCodeAt(equals) === 0x3d) {
      const valueStart = skipWhitespace(text, equals + 1);
      let valueEnd: number;
      if (text.charCodeAt(valueStart) === 0x22) {
        valueEnd = scanQuotedString(text, valueStart);
        if (valueEnd < 0) return { params, end: i, errorAt: valueStart };
      } else {
        valueEnd = scanChars(text, valueStart, GEN_VALUE_CHARS);
        if (valueEnd === valueStart) return { params, end: i, errorAt: valueStart };
      }
      params.set(name, text.slice(valueStart, valueEnd));
      i = valueEnd;
    } else {
      params.set(name, null);
      i = nameEnd;
    }
  }
}

const PARAM_OR_PERCENT = (() => {
  const table = new Uint8Array(PARAM_CHARS);
  table[0x25] = 1;
  return table;
})();

/**
 * Scans URI parameters `*( ";" pname [ "=" pvalue ] )` starting at `index`. Names are unescaped
 * and lower-cased; values keep their escapes.
 */
export function scanUriParams(text: string, index: number): ParamsScan {
  const params: Params = new Map();
  let i = index;
  while (i < text.length && text.charCodeAt(i) === 0x3b) {
    const nameStart = i + 1;
    const nameEnd = scanChars(text, nameStart, PARAM_OR_PERCENT);
    const rawName = text.slice(nameStart, nameEnd);
    if (nameEnd === nameStart || !hasValidEscapes(rawName)) return { params, end: i, errorAt: nameStart };
    const name = unescape(rawName).toLowerCase();
    if (text.charCodeAt(nameEnd) === 0x3d) {
      const valueEnd = scanChars(text, nameEnd + 1, PARAM_OR_PERCENT);
      const value = text.slice(nameEnd + 1, valueEnd);
      if (valueEnd === nameEnd + 1 || !hasValidEscapes(value)) return { params, end: i, errorAt: nameEnd + 1 };
      params.set(name, value);
      i = valueEnd;
    } else {
      params.set(name, null);
      i = nameEnd;
    }
  }
  return { params, end: i, errorAt: -1 };
}

/** Writes parameters back in `;name=value` form, in insertion order. */
export function formatParams(params: Params): string {
  let out = '';
  for (const [name, value] of params) out += value === null ? `;${name}` : `;${name}=${value}`;
  return out;
}

/**
 * Parameters from a string such as `;transport=udp;lr` that a fast-path pattern has already
 * checked (no blanks, quotes or escapes): names lower-cased, values as written.
 */
export function splitCheckedParams(text: string): Params {
  const params: Params = new Map();
  let i = 1;
  while (i <= text.length) {
    let end = text.indexOf(';', i);
    if (end < 0) end = text.length;
    const equals = text.indexOf('=', i);
    if (equals >= 0 && equals < end) params.set(text.slice(i, equals).toLowerCase(), text.slice(equals + 1, end));
    else params.set(text.slice(i, end).toLowerCase(), null);
    i = end + 1;
  }
  return params;
}
