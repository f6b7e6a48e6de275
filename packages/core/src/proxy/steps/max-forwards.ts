import type { SipMessage } from '@switchboard/sip';
import type { TransportAddress } from '../../transport-address.js';
import { isUs } from '../listeners.js';
import type { RoutingContext } from '../routing-context.js';
import { CONTINUE, type StepResult } from '../routing-step.js';
import { addressesThisServer, ownCapabilities } from './own-uri.js';

const TOO_MANY_HOPS: StepResult = Object.freeze({ kind: 'respond', status: 483 });

/**
 * RFC 3261 §16.3 step 3: a request with Max-Forwards 0 goes no further (483), except an OPTIONS
 * for this server itself (our address, or a domain we serve without a user part), which is
 * answered with our capabilities (§11).
 */
export function maxForwards(request: SipMessage, _source: TransportAddress, context: RoutingContext): StepResult {
  if (request.maxForwards !== 0) return CONTINUE;
  if (request.method === 'OPTIONS' && (isUs(context.listeners, request.requestUri) || addressesThisServer(request.requestUri, context)) && request.route.length === 0) {
    return { kind: 'respond', status: 200, headers: ownCapabilities(context) };
  }
  context.counters.tooManyHops++;
  return TOO_MANY_HOPS;
}
