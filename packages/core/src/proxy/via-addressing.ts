import type { SipMessage, Via } from '@switchboard/sip';
import type { TransportAddress } from '../transport-address.js';

/** RFC 3261 §18.2.1 and RFC 3581: note where a request really came from in its top Via. */
export function stampReceived(request: SipMessage, via: Via, source: TransportAddress): void {
  const sentByHost = via.host.replace(/^\[|\]$/g, '');
  const needsReceived = sentByHost !== source.address;
  const needsRport = via.rport === null;
  if (!needsReceived && !needsRport) return;
  // In place, so the Via's other bytes stay as they came (a quoted value need not be UTF-8).
  request.setTopViaParams(needsRport ? [['received', source.address], ['rport', String(source.port)]] : [['received', source.address]]);
}

/** Where a response goes by its Via (§18.2.2, RFC 3581): received and rport when present. */
export function viaTarget(via: Via): TransportAddress {
  const protocol = via.transport.toLowerCase();
  return {
    protocol: protocol === 'tcp' || protocol === 'tls' ? protocol : 'udp',
    address: via.received ?? via.host.replace(/^\[|\]$/g, ''),
    port: typeof via.rport === 'number' ? via.rport : (via.port ?? (protocol === 'tls' ? 5061 : 5060)),
  };
}
