import { writtenHeaderName } from './header-names.js';
import type { SipMessage } from './message.js';

/**
 * Builds a CANCEL for a request this element sent (RFC 3261 §9.1): same Request-URI, Call-ID,
 * From, To and CSeq number, only the top Via (so the branch matches), the same Route headers,
 * Max-Forwards 70 and no body.
 */
export function buildCancel(sent: SipMessage): Buffer {
  return buildFromSent(sent, 'CANCEL', sent.header('to') ?? '');
}

/**
 * Builds the ACK for a non-2xx final response to an INVITE this element sent (§17.1.1.3): as
 * the CANCEL, but with the To of the response (its tag) and CSeq method ACK.
 */
export function buildAckForFailure(sent: SipMessage, response: SipMessage): Buffer {
  return buildFromSent(sent, 'ACK', response.header('to') ?? sent.header('to') ?? '');
}

function buildFromSent(sent: SipMessage, method: string, to: string): Buffer {
  const lines = [`${method} ${sent.requestUriText ?? ''} SIP/2.0`];
  const topVia = sent.headers('via')[0];
  if (topVia !== undefined) lines.push(`Via: ${topVia}`);
  for (const route of sent.headers('route')) lines.push(`Route: ${route}`);
  lines.push('Max-Forwards: 70');
  lines.push(`From: ${sent.header('from') ?? ''}`);
  lines.push(`To: ${to}`);
  lines.push(`${writtenHeaderName('call-id')}: ${sent.callId ?? ''}`);
  lines.push(`CSeq: ${sent.cseq?.seq ?? 0} ${method}`);
  lines.push('Content-Length: 0', '', '');
  return Buffer.from(lines.join('\r\n'), 'utf8');
}
