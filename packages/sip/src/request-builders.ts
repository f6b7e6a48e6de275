import { bytesOf } from './byte-string.js';
import { writtenHeaderName } from './header-names.js';
import type { SipMessage } from './message.js';

/**
 * Builds a CANCEL for a request this element sent (RFC 3261 §9.1): same Request-URI, Call-ID,
 * From, To and CSeq number, only the top Via (so the branch matches), the same Route headers,
 * Max-Forwards 70 and no body.
 */
export function buildCancel(sent: SipMessage): Buffer {
  return buildFromSent(sent, 'CANCEL', sent.headerBytes('to') ?? '');
}

/**
 * Builds the ACK for a non-2xx final response to an INVITE this element sent (§17.1.1.3): as
 * the CANCEL, but with the To of the response (its tag) and CSeq method ACK.
 */
export function buildAckForFailure(sent: SipMessage, response: SipMessage): Buffer {
  return buildFromSent(sent, 'ACK', response.headerBytes('to') ?? sent.headerBytes('to') ?? '');
}

/** Lines are byte strings (see byte-string.ts): every copied value keeps its exact bytes. */
function buildFromSent(sent: SipMessage, method: string, to: string): Buffer {
  const lines = [`${method} ${sent.requestUriBytes ?? ''} SIP/2.0`];
  const topVia = sent.headersBytes('via')[0];
  if (topVia !== undefined) lines.push(`Via: ${topVia}`);
  for (const route of sent.headersBytes('route')) lines.push(`Route: ${route}`);
  lines.push('Max-Forwards: 70');
  lines.push(`From: ${sent.headerBytes('from') ?? ''}`);
  lines.push(`To: ${to}`);
  lines.push(`${writtenHeaderName('call-id')}: ${sent.headerBytes('call-id') ?? ''}`);
  lines.push(`CSeq: ${sent.cseq?.seq ?? 0} ${method}`);
  lines.push('Content-Length: 0', '', '');
  return bytesOf(lines.join('\r\n'));
}
