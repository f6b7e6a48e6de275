import { isSipUri, parseMessage, parseUri, type SipLimits, type SipMessage } from '@switchboard/sip';
import type { TransportAddress } from '../transport-address.js';
import { listenerFor, type Listener } from './listeners.js';
import { DIALOG_CREATING, recordRouteValue } from './record-route.js';
import type { ForwardTarget } from './routing-step.js';
import { uriTarget } from './uri-target.js';

export interface ForwardedRequestSettings {
  readonly listeners: readonly Listener[];
  readonly limits?: Partial<SipLimits>;
}

/** A copy of a request made for one target, and where it goes. */
export interface ForwardedRequest {
  readonly message: SipMessage;
  readonly nextHop: TransportAddress;
}

/**
 * Makes the copy of a request for one target (RFC 3261 §16.6): Request-URI, Max-Forwards,
 * Record-Route (when `recordRoute` and the method can create a dialog), the next hop (loose or
 * strict Route), and our Via with `branchId`. `base` is the request serialized once for all its
 * targets. Undefined when there is no next hop or no listener for its transport.
 */
export function forwardedRequest(
  base: Buffer,
  source: TransportAddress,
  target: ForwardTarget,
  branchId: string,
  recordRoute: boolean,
  settings: ForwardedRequestSettings,
): ForwardedRequest | undefined {
  const copy = parseMessage(base, { limits: settings.limits });
  if (target.requestUri !== undefined) copy.setRequestUri(target.requestUri, parseUri(target.requestUri));
  copy.setMaxForwards(copy.maxForwards === undefined ? 70 : copy.maxForwards - 1);

  let nextHop: TransportAddress | undefined;
  const firstRoute = copy.route[0];
  if (firstRoute !== undefined) {
    nextHop = uriTarget(firstRoute.uri);
    if (isSipUri(firstRoute.uri) && !firstRoute.uri.params.has('lr')) {
      // The next hop is a strict router (§16.6 step 6): it wants its own URI as Request-URI.
      copy.appendRoute(`<${copy.requestUriText ?? ''}>`);
      copy.setRequestUri(firstRoute.uriText, firstRoute.uri);
      copy.removeFirstRoute();
    }
  } else {
    nextHop = target.nextHop ?? (copy.requestUri === undefined ? undefined : uriTarget(copy.requestUri));
  }
  if (nextHop === undefined) return undefined;
  const outgoing = listenerFor(settings.listeners, nextHop.protocol);
  if (outgoing === undefined) return undefined;

  if (recordRoute && DIALOG_CREATING.has(copy.method ?? '')) {
    const incoming = listenerFor(settings.listeners, source.protocol);
    // §16.6 step 4: a SIPS Request-URI or top Route makes our Record-Route a SIPS URI.
    const sips = copy.requestUri?.scheme === 'sips' || copy.route[0]?.uri.scheme === 'sips';
    // Double record-routing when the transport changes, so each side reaches us over its own
    // (RFC 5658): the callee's entry on top, the caller's below it.
    if (incoming !== undefined && incoming.protocol !== outgoing.protocol) copy.prependRecordRoute(recordRouteValue(incoming, sips));
    copy.prependRecordRoute(recordRouteValue(outgoing, sips));
  }
  copy.prependVia({
    protocol: 'SIP/2.0',
    transport: outgoing.protocol.toUpperCase(),
    host: outgoing.host,
    port: outgoing.port,
    params: new Map<string, string | null>([['branch', branchId], ['rport', null]]),
    branch: branchId,
    received: undefined,
    rport: null,
  });
  return { message: copy, nextHop };
}
