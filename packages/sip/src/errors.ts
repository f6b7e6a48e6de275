/**
 * Coded errors of the SIP message layer.
 *
 * Every failure has a stable `code` (`ERR_SIP_*`), the byte offset in the message where it was
 * detected (or -1 when the failure is not tied to one place), and the SIP status a server should
 * answer a request with when this failure is the reason it rejects it. Every code is listed in
 * `docs/errors.md`; a test fails when one is missing there.
 */

import { CodedError } from './coded-error.js';

export interface SipErrorSpec {
  /** Status a server answers a request with when it rejects the request for this reason. */
  readonly status: number;
  /** Reason phrase of that response: says what was wrong. */
  readonly reason: string;
  /** One line for docs/errors.md: when the error is raised. */
  readonly description: string;
}

export const SIP_ERROR_CODES = {
  ERR_SIP_INVALID_START_LINE: {
    status: 400, reason: 'Malformed Start Line',
    description: 'The request or status line is malformed (wrong number of elements, extra spaces, bad characters).',
  },
  ERR_SIP_INVALID_METHOD: { status: 400, reason: 'Malformed Method', description: 'The method is not a token.' },
  ERR_SIP_UNSUPPORTED_VERSION: { status: 505, reason: 'Version Not Supported', description: 'The SIP-Version is not SIP/2.0.' },
  ERR_SIP_INVALID_STATUS_CODE: { status: 400, reason: 'Malformed Status Code', description: 'A status code is not three digits from 100 to 699.' },
  ERR_SIP_INVALID_HEADER: {
    status: 400, reason: 'Malformed Header Line',
    description: 'A header line has no colon, a name that is not a token, or a continuation line before any header.',
  },
  ERR_SIP_INVALID_HEADER_VALUE: {
    status: 400, reason: 'Bad Header Value',
    description: 'A header value does not match its grammar (for example a non-numeric or overlarge Max-Forwards or Expires).',
  },
  ERR_SIP_DUPLICATE_HEADER: {
    status: 400, reason: 'Duplicate Header',
    description: 'A header that allows one value (Call-ID, CSeq, From, To, Max-Forwards, Content-Length) appears more than once.',
  },
  ERR_SIP_MISSING_HEADER: {
    status: 400, reason: 'Missing Mandatory Header',
    description: 'A header every request and response must carry (Via, From, To, Call-ID, CSeq) is missing.',
  },
  ERR_SIP_INVALID_URI: { status: 400, reason: 'Malformed URI', description: 'A SIP or SIPS URI does not match its grammar.' },
  ERR_SIP_UNSUPPORTED_URI_SCHEME: {
    status: 416, reason: 'Unsupported URI Scheme',
    description: 'The Request-URI scheme is not sip or sips (nor another scheme the element was told to accept).',
  },
  ERR_SIP_INVALID_NAME_ADDR: {
    status: 400, reason: 'Malformed Address',
    description: 'A From, To, Contact, Route or Record-Route value is not a valid name-addr or addr-spec.',
  },
  ERR_SIP_INVALID_VIA: {
    status: 400, reason: 'Malformed Via',
    description: 'A Via value does not match its grammar, or its sent-by port or rport is 0 (no port a response could be sent to).',
  },
  ERR_SIP_INVALID_CSEQ: {
    status: 400, reason: 'Malformed CSeq',
    description: 'CSeq is not a sequence number below 2^31 followed by a method token.',
  },
  ERR_SIP_CSEQ_METHOD_MISMATCH: { status: 400, reason: 'CSeq Method Mismatch', description: 'The CSeq method differs from the request method.' },
  ERR_SIP_INVALID_CONTENT_LENGTH: {
    status: 400, reason: 'Bad Content-Length',
    description: 'Content-Length is not a non-negative decimal integer that fits the body limit.',
  },
  ERR_SIP_BODY_TRUNCATED: {
    status: 400, reason: 'Body Shorter Than Content-Length',
    description: 'A datagram holds fewer body bytes than its Content-Length announces.',
  },
  ERR_SIP_HEADERS_TOO_LARGE: {
    status: 513, reason: 'Message Too Large',
    description: 'The header section exceeds the maxHeaderBytes limit.',
  },
  ERR_SIP_TOO_MANY_HEADERS: { status: 513, reason: 'Message Too Large', description: 'The message has more header lines than the maxHeaders limit.' },
  ERR_SIP_LINE_TOO_LONG: { status: 513, reason: 'Message Too Large', description: 'A start line or header line exceeds the maxLineLength limit.' },
  ERR_SIP_BODY_TOO_LARGE: { status: 513, reason: 'Message Too Large', description: 'The body exceeds the maxBodyBytes limit.' },
  ERR_SIP_INCOMPLETE_HEADERS: {
    status: 400, reason: 'Incomplete Header Section',
    description: 'A datagram ends before the empty line that closes the header section.',
  },
  ERR_SIP_EMPTY_MESSAGE: { status: 400, reason: 'Empty Message', description: 'The input holds no message (empty, or only CRLFs).' },
  ERR_SIP_INVALID_AUTH_HEADER: {
    status: 400, reason: 'Malformed Authorization',
    description: 'An Authorization or Proxy-Authorization value (or a WWW-Authenticate or Proxy-Authenticate one a client reads) does not match the Digest grammar: no scheme, an unclosed quoted string, a parameter without a value or given twice, credentials without username, realm, nonce, uri or response, or a qop without an nc of 8 hex digits and a cnonce.',
  },
  ERR_SIP_INVALID_EDIT: {
    status: 500, reason: 'Server Internal Error',
    description: 'A message edit was asked for that the message cannot take (for example removing a Via it does not have).',
  },
} as const satisfies Record<string, SipErrorSpec>;

export type SipErrorCode = keyof typeof SIP_ERROR_CODES;

export class SipError extends CodedError<SipErrorCode> {
  static override readonly codes = SIP_ERROR_CODES;
  /** Byte offset into the message where the failure was detected; -1 when not tied to a place. */
  readonly offset: number;
  /** Status a server should answer a request with when it rejects it for this reason. */
  readonly status: number;
  /** Reason phrase of that response, naming the fault (for example "Malformed CSeq"). */
  readonly reason: string;

  constructor(code: SipErrorCode, message: string, offset = -1) {
    super(code, offset >= 0 ? `${message} (at byte ${offset})` : message);
    this.offset = offset;
    this.status = SIP_ERROR_CODES[code].status;
    this.reason = SIP_ERROR_CODES[code].reason;
  }

  /** Plain form for postMessage and process IPC, where error classes and codes do not survive. */
  override toJSON(): { code: SipErrorCode; message: string; offset: number; status: number } {
    return { code: this.code, message: this.message, offset: this.offset, status: this.status };
  }
}

export function isSipError(value: unknown): value is SipError {
  return value instanceof SipError;
}
