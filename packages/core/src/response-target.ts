import type { SipMessage } from '@switchboard/sip';
import type { TransportAddress } from './transport-address.js';

/**
 * Where a response to `request` goes (RFC 3261 §18.2.2, RFC 3581): back on the connection the
 * request came in on for TCP and TLS; for UDP to the address the request came from, at the port it
 * came from when the top Via asked for `rport`, else at the Via's sent-by port.
 */
export function responseTarget(request: SipMessage, source: TransportAddress): TransportAddress {
  if (source.protocol !== 'udp') return source;
  const via = request.topVia;
  if (via === undefined || via.rport !== undefined) return source;
  const maddr = via.params.get('maddr');
  if (maddr !== undefined && maddr !== null) return { protocol: 'udp', address: maddr, port: via.port ?? 5060 };
  return { protocol: 'udp', address: source.address, port: via.port ?? 5060 };
}
