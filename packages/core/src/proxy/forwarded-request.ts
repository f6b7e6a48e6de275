import { isSipUri, parseUri, type SipLimits, type SipMessage } from '@switchboard/sip';
import type { TransportAddress, TransportProtocol } from '../transport-address.js';
import { listenerFor, outgoingFor, type Listener } from './listeners.js';
import { isConnectionRefusal, mustLeaveUdp, viaForTcp } from './message-size.js';
import type { ProxyCounters } from './proxy-counters.js';
import { DIALOG_CREATING, recordRouteValue } from './record-route.js';
import type { ForwardTarget } from './routing-step.js';
import { uriTarget } from './uri-target.js';

export interface ForwardedRequestSettings {
  readonly listeners: readonly Listener[];
  /** Transports we can open connections over although nothing listens on them (see outgoingFor). */
  readonly clientTransports?: readonly TransportProtocol[];
  readonly limits?: Partial<SipLimits>;
  readonly counters: ProxyCounters;
  /** Further parameters of our Via (RFC 7339's `oc`, with overload control on). */
  readonly viaParams?: ReadonlyArray<readonly [string, string | null]>;
}

/** The transport of our Via for each protocol (RFC 3261 §20.42: upper case). */
const VIA_TRANSPORTS: Readonly<Record<TransportProtocol, string>> = Object.freeze({ udp: 'UDP', tcp: 'TCP', tls: 'TLS' });

/** A copy of a request made for one target, and where it goes; both change when a large request falls back to UDP. */
export interface ForwardedRequest {
  sent: SipMessage;
  target: TransportAddress;
  /** A large request sent over TCP instead of UDP: what to send if the connection is refused. */
  udpFallback: { readonly sent: SipMessage; readonly target: TransportAddress } | undefined;
}

/** Why a target got no copy: no next hop at all, or one over a transport we cannot send on. */
export type BranchFailure = 'no-route' | 'no-transport';

/** The reason phrase of the 503 for a request none of whose targets got a copy. */
export const BRANCH_FAILURE_REASONS: Readonly<Record<BranchFailure, string>> = Object.freeze({
  'no-route': 'No route to the target',
  'no-transport': 'Transport Not Available',
});

/** Counts a target that got no copy (`requestsUnroutable`, `transportUnavailable`). */
export function countFailure(counters: ProxyCounters, failure: BranchFailure): BranchFailure {
  if (failure === 'no-route') counters.requestsUnroutable++;
  else counters.transportUnavailable++;
  return failure;
}

/**
 * Makes the copy of a request for one target (RFC 3261 §16.6): Request-URI, Max-Forwards,
 * Record-Route (when `recordRoute` and the method can create a dialog), the next hop (loose or
 * strict Route), and our Via with `branchId`; then §18.1.1 for a large one. `request` itself is
 * not changed (each target gets a clone).
 */
export function forwardedRequest(
  request: SipMessage,
  source: TransportAddress,
  target: ForwardTarget,
  branchId: string,
  recordRoute: boolean,
  settings: ForwardedRequestSettings,
): ForwardedRequest | BranchFailure {
  const copy = request.clone();
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
  if (nextHop === undefined) return 'no-route';
  const outgoing = outgoingFor(settings.listeners, settings.clientTransports, nextHop.protocol);
  if (outgoing === undefined) return 'no-transport';

  if (recordRoute && DIALOG_CREATING.has(copy.method ?? '')) {
    const incoming = listenerFor(settings.listeners, source.protocol);
    // §16.6 step 4: a SIPS Request-URI or top Route makes our Record-Route a SIPS URI.
    const sips = copy.requestUri?.scheme === 'sips' || copy.route[0]?.uri.scheme === 'sips';
    if (outgoing.clientOnly === true) {
      // Nothing listens on the outgoing transport: the callee reaches us where the caller did.
      if (incoming !== undefined) copy.prependRecordRoute(recordRouteValue(incoming, sips));
    } else {
      // Double record-routing when the transport changes, so each side reaches us over its
      // own (RFC 5658): the callee's entry on top, the caller's below it.
      if (incoming !== undefined && incoming.protocol !== outgoing.protocol) copy.prependRecordRoute(recordRouteValue(incoming, sips));
      copy.prependRecordRoute(recordRouteValue(outgoing, sips));
    }
  }
  const params = new Map<string, string | null>();
  params.set('branch', branchId);
  params.set('rport', null);
  if (settings.viaParams !== undefined) for (const [name, value] of settings.viaParams) params.set(name, value);
  copy.prependVia({
    protocol: 'SIP/2.0',
    transport: VIA_TRANSPORTS[outgoing.protocol],
    host: outgoing.host,
    port: outgoing.port,
    params,
    branch: branchId,
    received: undefined,
    rport: null,
  });
  const forwarded: ForwardedRequest = { sent: copy, target: nextHop, udpFallback: undefined };
  moveLargeRequestToTcp(forwarded, settings);
  return forwarded;
}

/**
 * RFC 3261 §18.1.1: a request larger than 1300 bytes (we do not know the path MTU) that would
 * go over UDP MUST go over a congestion-controlled transport, TCP, and its top Via says so. The
 * rule has no exception for a next hop that names `transport=udp`: UDP is what the request
 * "would have otherwise been sent over", and the RFC's remedy for a target without TCP is the
 * retry (fallBackToUdp). The UDP form is kept: if the connection is refused or reset, the
 * request goes over UDP after all (same branch, so it is the same transaction to the next hop).
 */
function moveLargeRequestToTcp(forwarded: ForwardedRequest, settings: ForwardedRequestSettings): void {
  if (forwarded.target.protocol !== 'udp') return;
  const udpBytes = forwarded.sent.serialize();
  if (!mustLeaveUdp(forwarded.target, udpBytes.length)) return;
  const tcp = outgoingFor(settings.listeners, settings.clientTransports, 'tcp');
  if (tcp === undefined) return;
  forwarded.udpFallback = { sent: forwarded.sent.clone(), target: forwarded.target };
  viaForTcp(forwarded.sent, tcp);
  forwarded.target = { ...forwarded.target, protocol: 'tcp' };
  settings.counters.largeRequestsOverTcp++;
}

/** The fallback of §18.1.1 for a large request whose TCP connection failed; false when there is none. */
export function fallBackToUdp(forwarded: ForwardedRequest, error: Error, counters: ProxyCounters): boolean {
  const fallback = forwarded.udpFallback;
  if (fallback === undefined || !isConnectionRefusal(error)) return false;
  forwarded.udpFallback = undefined;
  forwarded.sent = fallback.sent;
  forwarded.target = fallback.target;
  counters.largeRequestsUdpFallbacks++;
  return true;
}
