import { isSipUri, type SipMessage } from '@switchboard/sip';
import type { TransportAddress } from '../../transport-address.js';
import { isUs } from '../listeners.js';
import type { RoutingContext } from '../routing-context.js';
import { FORWARD_AS_ADDRESSED, type StepResult } from '../routing-step.js';

const NOT_FOUND: StepResult = Object.freeze({ kind: 'respond', status: 404 });
const UNSUPPORTED_SCHEME: StepResult = Object.freeze({ kind: 'respond', status: 416 });

/**
 * The last step (Kamailio's `t_relay` to `$ru`): forward to the Request-URI (RFC 3261 §16.5),
 * unless it is our own address (nobody found there: 404) or not a SIP URI we can reach (416).
 * It always decides.
 */
export function requestUri(request: SipMessage, _source: TransportAddress, context: RoutingContext): StepResult {
  const uri = request.requestUri;
  if (isUs(context.listeners, uri)) return NOT_FOUND;
  if (uri === undefined || !isSipUri(uri)) return UNSUPPORTED_SCHEME;
  return FORWARD_AS_ADDRESSED;
}
