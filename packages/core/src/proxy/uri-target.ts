import { isSipUri, uriHostname, type Uri } from '@switchboard/sip';
import type { TransportAddress, TransportProtocol } from '../transport-address.js';

/**
 * Where a request for `uri` is sent (RFC 3263 without DNS: the host is used as it is): the
 * `transport` parameter, or TLS for `sips:`; the port, or 5060 (5061 for TLS). Undefined for
 * URIs that are not SIP.
 */
export function uriTarget(uri: Uri): TransportAddress | undefined {
  if (!isSipUri(uri)) return undefined;
  const transportParam = uri.params.get('transport')?.toLowerCase();
  const protocol: TransportProtocol =
    uri.scheme === 'sips' || transportParam === 'tls' ? 'tls' : transportParam === 'tcp' ? 'tcp' : 'udp';
  const maddr = uri.params.get('maddr');
  const address = maddr !== undefined && maddr !== null ? maddr : uriHostname(uri);
  return { protocol, address, port: uri.port ?? (protocol === 'tls' ? 5061 : 5060) };
}
