import { SipError } from './errors.js';
import { parseDecimal, scanToken, skipWhitespace } from './lexer.js';

export interface CSeq {
  readonly seq: number;
  readonly method: string;
}

/** Largest CSeq number: RFC 3261 §8.1.1.5 requires it to be below 2^31. */
export const MAX_CSEQ = 2 ** 31 - 1;

/** Parses `CSeq: 1*DIGIT LWS Method`. */
export function parseCSeq(text: string, offset = -1): CSeq {
  let i = skipWhitespace(text, 0);
  const digitsStart = i;
  while (i < text.length && text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39) i++;
  const seq = parseDecimal(text.slice(digitsStart, i), MAX_CSEQ);
  const methodStart = skipWhitespace(text, i);
  const methodEnd = scanToken(text, methodStart);
  if (seq < 0 || methodStart === i || methodEnd === methodStart || skipWhitespace(text, methodEnd) !== text.length) {
    throw new SipError('ERR_SIP_INVALID_CSEQ', `Invalid CSeq "${text}"`, offset);
  }
  return { seq, method: text.slice(methodStart, methodEnd) };
}
