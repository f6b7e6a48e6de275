import { SipError } from './errors.js';
import type { SipMessage } from './message.js';

export interface ValidateOptions {
  /** Request-URI schemes the element can handle; others get 416. Default: sip, sips, tel. */
  readonly uriSchemes?: readonly string[];
}

const DEFAULT_SCHEMES = ['sip', 'sips', 'tel'];

/**
 * Checks what a request needs before a proxy or registrar acts on it (RFC 3261 §8.2, §16.3):
 * the mandatory headers, a CSeq method equal to the request method, and a Request-URI scheme it
 * handles. Throws the first problem as a SipError whose `status` is the response to send.
 */
export function validateRequest(message: SipMessage, options: ValidateOptions = {}): void {
  if (!message.isRequest) throw new SipError('ERR_SIP_INVALID_START_LINE', 'Not a request');
  requireCommonHeaders(message);
  if (message.cseq?.method !== message.method) {
    throw new SipError(
      'ERR_SIP_CSEQ_METHOD_MISMATCH',
      `CSeq method "${message.cseq?.method}" differs from the request method "${message.method}"`,
    );
  }
  const scheme = message.requestUri?.scheme ?? '';
  if (!(options.uriSchemes ?? DEFAULT_SCHEMES).includes(scheme)) {
    throw new SipError('ERR_SIP_UNSUPPORTED_URI_SCHEME', `Request-URI scheme "${scheme}" is not supported`);
  }
}

/** Checks the headers every response must carry to be matched to its transaction. */
export function validateResponse(message: SipMessage): void {
  if (!message.isResponse) throw new SipError('ERR_SIP_INVALID_START_LINE', 'Not a response');
  requireCommonHeaders(message);
}

function requireCommonHeaders(message: SipMessage): void {
  const missing: string[] = [];
  if (message.via.length === 0) missing.push('Via');
  if (!message.hasFrom) missing.push('From');
  if (!message.hasTo) missing.push('To');
  if (message.callId === undefined) missing.push('Call-ID');
  if (message.cseq === undefined) missing.push('CSeq');
  if (missing.length > 0) throw new SipError('ERR_SIP_MISSING_HEADER', `Missing mandatory header(s): ${missing.join(', ')}`);
}
