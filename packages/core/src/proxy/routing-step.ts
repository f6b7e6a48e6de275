import type { SipMessage } from '@switchboard/sip';
import type { TransportAddress } from '../transport-address.js';
import type { RoutingContext } from './routing-context.js';

/** One place a request is forwarded to (RFC 3261 §16.5): a branch of its own when forking. */
export interface ForwardTarget {
  /** New Request-URI (a registered contact), or undefined to keep the Request-URI. */
  readonly requestUri?: string;
  /** Where to send when neither a Route nor the Request-URI says (the default route). */
  readonly nextHop?: TransportAddress;
}

export type HeaderList = ReadonlyArray<readonly [string, string]>;

/** What a routing step decided: go on to the next step, answer the request, or forward it. */
export type StepResult =
  | { readonly kind: 'continue' }
  | { readonly kind: 'respond'; readonly status: number; readonly reason?: string; readonly headers?: HeaderList }
  | { readonly kind: 'forward'; readonly targets: readonly ForwardTarget[] };

/** Where the routing of one request ended: the answer, or the targets to forward to. */
export type RoutingDecision = Exclude<StepResult, { readonly kind: 'continue' }>;

/**
 * One step of request routing (RFC 3261 §16.3-16.5), in the spirit of a Kamailio module called
 * from `request_route`. It may edit the request (loose routing pops Route entries, auth removes
 * our credentials). Synchronous unless it needs a store: the core stays synchronous for requests
 * no step awaits anything for.
 */
export type RoutingStep = (request: SipMessage, source: TransportAddress, context: RoutingContext) => StepResult | Promise<StepResult>;

/** A step with the name that counters, timings and overload control will know it by. */
export interface NamedRoutingStep {
  readonly name: string;
  readonly run: RoutingStep;
}

export const CONTINUE: StepResult = Object.freeze({ kind: 'continue' });

/** Forward as the request says (its Route, else its Request-URI): one target, nothing changed. */
export const FORWARD_AS_ADDRESSED: RoutingDecision = Object.freeze({ kind: 'forward', targets: Object.freeze([Object.freeze({})]) });

/** The decision when every step said continue: a pipeline should end with a step that decides. */
const NO_DECISION: RoutingDecision = Object.freeze({ kind: 'respond', status: 500, reason: 'No Routing Decision' });

/**
 * Walks `steps` in order until one answers or forwards. Synchronous while the steps are; from
 * the first step that returns a promise on, the rest run when it settles. A step that throws
 * (synchronously or by rejecting) ends the walk with that error.
 */
export function routeRequest(
  steps: readonly NamedRoutingStep[],
  request: SipMessage,
  source: TransportAddress,
  context: RoutingContext,
): RoutingDecision | Promise<RoutingDecision> {
  return walk(steps, 0, request, source, context);
}

function walk(
  steps: readonly NamedRoutingStep[],
  from: number,
  request: SipMessage,
  source: TransportAddress,
  context: RoutingContext,
): RoutingDecision | Promise<RoutingDecision> {
  for (let i = from; i < steps.length; i++) {
    const result = (steps[i] as NamedRoutingStep).run(request, source, context);
    if (result instanceof Promise) {
      return result.then((settled) => (settled.kind === 'continue' ? walk(steps, i + 1, request, source, context) : settled));
    }
    if (result.kind !== 'continue') return result;
  }
  return NO_DECISION;
}
