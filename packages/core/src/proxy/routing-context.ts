import { isSipUri, parseUri, uriHostname, type Uri } from '@switchboard/sip';
import type { DigestAuthenticator } from '../auth/digest-authenticator.js';
import type { LocationStore } from '../registrar/location-store.js';
import { DEFAULT_REGISTRAR_OPTIONS, type RegistrarOptions } from '../registrar/registrar.js';
import { newProxyCounters, type ProxyCounters } from './proxy-counters.js';
import type { Listener } from './listeners.js';
import type { ForwardTarget, RoutingDecision } from './routing-step.js';
import { uriTarget } from './uri-target.js';

/**
 * What the routing steps know besides the request: the proxy's configuration and the services
 * it routes with. Made once per core; plain data, so a test can give one step a context of its
 * own.
 */
export interface RoutingContext {
  readonly listeners: readonly Listener[];
  /** Domains whose users are found through the location service (lower case). */
  readonly domains: ReadonlySet<string>;
  /** Option tags accepted in Proxy-Require. */
  readonly supported: ReadonlySet<string>;
  readonly store: LocationStore;
  readonly registrar: RegistrarOptions;
  readonly auth: DigestAuthenticator | undefined;
  /** Where requests that start something go when nothing else says. */
  readonly defaultRoute: ForwardTarget | undefined;
  /** Seconds a 503 asks clients to wait when a store fails. */
  readonly storeRetryAfterSeconds: number;
  readonly counters: ProxyCounters;
}

export interface RoutingContextOptions {
  readonly listeners: readonly Listener[];
  readonly domains?: readonly string[];
  readonly supported?: readonly string[];
  readonly store: LocationStore;
  readonly registrar?: RegistrarOptions;
  readonly auth?: DigestAuthenticator;
  /** A SIP URI (`sip:host:port;transport=tcp`). */
  readonly defaultRoute?: string;
  readonly storeRetryAfterSeconds?: number;
  readonly counters?: ProxyCounters;
}

export function newRoutingContext(options: RoutingContextOptions): RoutingContext {
  const defaultHop = options.defaultRoute === undefined ? undefined : uriTarget(parseUri(options.defaultRoute));
  return {
    listeners: options.listeners,
    domains: new Set((options.domains ?? []).map((domain) => domain.toLowerCase())),
    supported: new Set(options.supported ?? []),
    store: options.store,
    registrar: options.registrar ?? DEFAULT_REGISTRAR_OPTIONS,
    auth: options.auth,
    defaultRoute: defaultHop === undefined ? undefined : { nextHop: defaultHop },
    storeRetryAfterSeconds: options.storeRetryAfterSeconds ?? 5,
    counters: options.counters ?? newProxyCounters(),
  };
}

/** Whether a URI is a SIP URI in one of our domains (users there are found by the location service). */
export function isLocalDomain(context: RoutingContext, uri: Uri | undefined): boolean {
  return uri !== undefined && isSipUri(uri) && context.domains.has(uriHostname(uri));
}

/**
 * A state store failed (Redis down, SharedArrayBuffer table full or locked): 503 with
 * Retry-After (§21.5.4), so clients come back later; nothing else is touched and the next
 * request tries the store again.
 */
export function storeUnavailable(context: RoutingContext, reason = 'Location Service Unavailable'): RoutingDecision {
  context.counters.stateStoreFailures++;
  return { kind: 'respond', status: 503, reason, headers: [['Retry-After', String(context.storeRetryAfterSeconds)]] };
}
