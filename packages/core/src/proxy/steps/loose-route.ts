import type { NameAddr, SipMessage } from '@switchboard/sip';
import type { TransportAddress } from '../../transport-address.js';
import { isUs } from '../listeners.js';
import type { RoutingContext } from '../routing-context.js';
import { CONTINUE, FORWARD_AS_ADDRESSED, type StepResult } from '../routing-step.js';

/**
 * RFC 3261 §16.4 (Kamailio's `loose_route`): a Request-URI of ours means the previous hop was a
 * strict router, so the real Request-URI is the last Route entry; Route entries of ours on top
 * are taken off. A request that still has a Route set is forwarded by it.
 */
export function looseRoute(request: SipMessage, _source: TransportAddress, context: RoutingContext): StepResult {
  if (request.route.length === 0) return CONTINUE;
  if (isUs(context.listeners, request.requestUri)) {
    const last = request.removeLastRoute();
    request.setRequestUri(last.uriText, last.uri);
  }
  while (request.route[0] !== undefined && isUs(context.listeners, (request.route[0] as NameAddr).uri)) request.removeFirstRoute();
  return request.route.length > 0 ? FORWARD_AS_ADDRESSED : CONTINUE;
}
