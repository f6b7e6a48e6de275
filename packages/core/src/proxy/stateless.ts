import type { SipLimits, SipMessage } from '@switchboard/sip';
import type { MessageSender, TransportAddress } from '../transport-address.js';
import { formatStatelessBranchId, loopHash, statelessHash } from './branch-id.js';
import { forwardedRequest } from './forwarded-request.js';
import type { Listener } from './listeners.js';
import type { ProxyCounters } from './proxy-counters.js';
import type { ForwardTarget } from './routing-step.js';

export interface StatelessOptions {
  readonly listeners: readonly Listener[];
  readonly limits?: Partial<SipLimits>;
  readonly sender: MessageSender;
  readonly counters: ProxyCounters;
}

/**
 * Forwards a request without transaction state (RFC 3261 §16.11): a copy to each target, with a
 * branch derived from the request so a retransmission and the CANCEL of an INVITE get the same
 * one. Used for everything in `--stateless` mode and for the ACK of a 2xx, which belongs to no
 * transaction. Never record-routes.
 */
export function forwardStatelessly(request: SipMessage, source: TransportAddress, targets: readonly ForwardTarget[], options: StatelessOptions): void {
  const base = request.serialize();
  const branchId = formatStatelessBranchId(loopHash(request, request.topVia), statelessHash(request));
  for (const target of targets) {
    const copy = forwardedRequest(base, source, target, branchId, false, options);
    if (copy === undefined) continue;
    options.counters.requestsForwarded++;
    options.sender.send(copy.nextHop, copy.message.serialize());
  }
}
