import type { SipLimits, SipMessage } from '@switchboard/sip';
import type { MessageSender, TransportAddress, TransportProtocol } from '../transport-address.js';
import { formatStatelessBranchId, loopHash, statelessHash } from './branch-id.js';
import { BRANCH_FAILURE_REASONS, countFailure, fallBackToUdp, forwardedRequest, type BranchFailure } from './forwarded-request.js';
import type { Listener } from './listeners.js';
import { answerStatelessly } from './local-answers.js';
import type { ProxyCounters } from './proxy-counters.js';
import type { ForwardTarget } from './routing-step.js';

export interface StatelessOptions {
  readonly listeners: readonly Listener[];
  readonly clientTransports?: readonly TransportProtocol[];
  readonly limits?: Partial<SipLimits>;
  /** A sender that never throws (countingSender). */
  readonly sender: MessageSender;
  readonly counters: ProxyCounters;
}

/**
 * Forwards a request without transaction state (RFC 3261 §16.11): a copy to each target, with a
 * branch derived from the request so a retransmission and the CANCEL of an INVITE get the same
 * one. Used for everything in `--stateless` mode and for the ACK of a 2xx, which belongs to no
 * transaction. Never record-routes. When no target gets a copy, 503 (none to an ACK).
 */
export function forwardStatelessly(request: SipMessage, source: TransportAddress, targets: readonly ForwardTarget[], options: StatelessOptions): void {
  const branchId = formatStatelessBranchId(loopHash(request, request.topVia), statelessHash(request));
  let failure: BranchFailure | undefined;
  let forwarded = 0;
  for (const target of targets) {
    const copy = forwardedRequest(request, source, target, branchId, false, options);
    if (typeof copy === 'string') {
      failure ??= countFailure(options.counters, copy);
      continue;
    }
    forwarded++;
    options.counters.requestsForwarded++;
    const onError =
      copy.udpFallback === undefined
        ? undefined
        : (error: Error): void => {
            if (fallBackToUdp(copy, error, options.counters)) options.sender.send(copy.target, copy.sent.serialize());
          };
    options.sender.send(copy.target, copy.sent.serialize(), onError);
  }
  if (forwarded === 0 && failure !== undefined) answerStatelessly(options.sender, options.counters, request, source, 503, BRANCH_FAILURE_REASONS[failure]);
}
