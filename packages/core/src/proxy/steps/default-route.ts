import type { SipMessage } from '@switchboard/sip';
import type { TransportAddress } from '../../transport-address.js';
import type { RoutingContext } from '../routing-context.js';
import { CONTINUE, type StepResult } from '../routing-step.js';

/**
 * `--default-route`: requests that start something go there when no step before found them a
 * place. In-dialog requests (To tag) go where their Request-URI says (RFC 3261 §12.2).
 */
export function defaultRoute(request: SipMessage, _source: TransportAddress, context: RoutingContext): StepResult {
  const target = context.defaultRoute;
  if (target === undefined || request.toTag !== undefined) return CONTINUE;
  return { kind: 'forward', targets: [target] };
}
