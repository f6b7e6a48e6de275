import { MAGIC_COOKIE, type SipMessage } from '@switchboard/sip';

/**
 * Server transaction key (RFC 3261 §17.2.3): the top Via branch, its sent-by and the method, ACK
 * counted as INVITE. Requests from RFC 2543 elements (no magic cookie in the branch) are keyed
 * by Request-URI, tags, Call-ID, CSeq number and top Via instead.
 */
export function serverTransactionKey(request: SipMessage, methodOverride?: string): string {
  const method = methodOverride ?? (request.method === 'ACK' ? 'INVITE' : (request.method ?? ''));
  const via = request.topVia;
  const branch = via?.branch;
  if (via !== undefined && branch !== undefined && branch.startsWith(MAGIC_COOKIE)) {
    return `${branch}|${via.host.toLowerCase()}:${via.port ?? ''}|${method}`;
  }
  return rfc2543Key(request, request.toTag, method);
}

/**
 * The RFC 2543 key of a request with a chosen To tag: an ACK carries the tag of the response it
 * acknowledges, which the INVITE did not, so an INVITE transaction is also filed under the key its
 * ACK will have.
 */
export function rfc2543Key(request: SipMessage, toTag: string | undefined, method: string): string {
  const via = request.topVia;
  const sentBy = via === undefined ? '' : `${via.host.toLowerCase()}:${via.port ?? ''};${via.branch ?? ''}`;
  return `2543|${request.requestUriText ?? ''}|${toTag ?? ''}|${request.fromTag ?? ''}|${request.callId ?? ''}|${request.cseq?.seq ?? ''}|${sentBy}|${method}`;
}

/** Client transaction key (RFC 3261 §17.1.3): the top Via branch and the CSeq method. */
export function clientTransactionKey(branch: string, method: string): string {
  return `${branch}|${method}`;
}
