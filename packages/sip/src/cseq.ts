import { SipError } from './errors.js';
import { isToken, parseDecimal } from './lexer.js';

export interface CSeq {
  readonly seq: number;
  readonly method: string;
}

/** Largest CSeq number: RFC 3261 §8.1.1.5 requires it to be below 2^31. */
export const MAX_CSEQ = 2 ** 31 - 1;

/** Parses `CSeq: 1*DIGIT LWS Method`. */
export function parseCSeq(text: string, offset = -1): CSeq {
  const match = /^[ \t]*([0-9]+)[ \t]+(\S+)[ \t]*$/.exec(text);
  const seq = match ? parseDecimal(match[1] ?? '', MAX_CSEQ) : -1;
  if (!match || seq < 0 || !isToken(match[2] ?? '')) {
    throw new SipError('ERR_SIP_INVALID_CSEQ', `Invalid CSeq "${text}"`, offset);
  }
  return { seq, method: match[2] ?? '' };
}
