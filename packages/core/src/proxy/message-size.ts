import type { SipMessage } from '@switchboard/sip';
import type { TransportAddress } from '../transport-address.js';

/**
 * RFC 3261 §18.1.1: with the path MTU unknown, a request larger than this goes over TCP rather
 * than UDP (1500-byte Ethernet MTU, less 200 bytes for a response that grows on the way back).
 */
export const UDP_REQUEST_SIZE_LIMIT = 1300;

/**
 * The TCP failures after which §18.1.1 retries a large request over UDP: a reset (a refused
 * connect is a RST answering the SYN) and protocol-not-supported.
 */
const CONNECTION_REFUSALS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPROTONOSUPPORT', 'ENOPROTOOPT']);

export function isConnectionRefusal(error: Error): boolean {
  return CONNECTION_REFUSALS.has((error as NodeJS.ErrnoException).code ?? '');
}

/** Whether a request of `size` bytes for `target` must leave UDP for TCP (§18.1.1). */
export function mustLeaveUdp(target: TransportAddress, size: number): boolean {
  return target.protocol === 'udp' && size > UDP_REQUEST_SIZE_LIMIT;
}

/**
 * Rewrites our top Via of `request` for TCP (§18.1.1: "the value in the top Via MUST be
 * changed"), with the sent-by we use for TCP; the branch stays, so it is the same transaction.
 */
export function viaForTcp(request: SipMessage, sentBy: { readonly host: string; readonly port: number }): void {
  const via = request.topVia;
  if (via === undefined) return;
  request.removeTopVia();
  request.prependVia({ ...via, transport: 'TCP', host: sentBy.host, port: sentBy.port });
}
