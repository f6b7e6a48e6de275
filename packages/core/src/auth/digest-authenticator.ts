import { timingSafeEqual } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import {
  digestAlgorithm,
  digestResponse,
  formatDigestChallenge,
  isSipError,
  isSipUri,
  parseDigestCredentials,
  uriHostname,
  uriUser,
  type DigestAlgorithm,
  type DigestCredentials,
  type SipMessage,
} from '@switchboard/sip';
import type { TransportAddress } from '../transport-address.js';
import type { AuthStateStore } from './auth-state-store.js';
import type { CredentialStore } from './credential-store.js';
import { NonceMint } from './nonce.js';

/** `--auth`: which requests are challenged (`off` runs no authenticator). */
export type AuthMode = 'register' | 'invite' | 'all';
export const AUTH_MODES = ['off', 'register', 'invite', 'all'] as const;

/**
 * Algorithms offered when `--auth-algorithms` is not given: MD5 alone. RFC 8760 prefers SHA-256,
 * but common clients cannot register when offered it: baresip 1.0 (libre) gives up when any
 * challenge is not MD5, even with MD5 first, and SIPp 3.6.1, sipsak and svcrack read only the
 * first challenge. SHA-256 and SHA-512-256 are opt-in (docs/architecture.md).
 */
export const DEFAULT_AUTH_ALGORITHMS: readonly DigestAlgorithm[] = ['MD5'];

/** 401 with WWW-Authenticate (a registrar, RFC 3261 §22.2) or 407 with Proxy-Authenticate (§22.3). */
export type AuthChallengeKind = 'registrar' | 'proxy';

export interface DigestAuthenticatorOptions {
  readonly mode: AuthMode;
  readonly realm: string;
  /** Algorithms offered, one challenge each, in this order (default DEFAULT_AUTH_ALGORITHMS: MD5). */
  readonly algorithms?: readonly DigestAlgorithm[];
  /** Hex secret the nonces are signed with; the same in every worker and instance that must verify them. */
  readonly secret: string;
  /** Nonce lifetime (default 300 s); older nonces get a new challenge with stale=true. */
  readonly nonceTtlSeconds?: number;
  /** Brute-force guard: failed attempts per source address allowed in a window (default 10 in 60 s). */
  readonly maxFailures?: number;
  readonly failureWindowSeconds?: number;
  readonly credentials: CredentialStore;
  readonly state: AuthStateStore;
}

/** Counters the authenticator bumps (ProxyCounters has them). */
export interface AuthCounters {
  /** 401/407 challenges sent, stale ones included. */
  authChallenges: number;
  authAccepted: number;
  /** 403 for wrong credentials, an unknown user, or a user who may not use the identity. */
  authRejected: number;
  /** A nonce of ours that expired: new challenge with stale=true, nothing checked or counted. */
  authStaleNonces: number;
  /**
   * A nonce we never issued (made up, tampered, or from before a restart that changed the
   * secret): new challenge with stale=true, nothing checked, no failure counted.
   */
  authForgedNonces: number;
  /** Right response with a nonce count already used: new challenge with stale=true. */
  authReplays: number;
  /** Credentials not even checked: the source failed too often (403). */
  authThrottled: number;
  /** 400 for malformed credentials or a qop other than auth. */
  authMalformed: number;
}

export type AuthResult =
  | { readonly kind: 'authenticated'; readonly user: string }
  | { readonly kind: 'respond'; readonly status: number; readonly reason?: string; readonly headers: ReadonlyArray<readonly [string, string]> };

/** What `switchboard:auth` subscribers receive for each rejected attempt (libraries do not log). */
export interface AuthRejectedEvent {
  readonly reason: 'credentials' | 'unknown-user' | 'identity' | 'throttled';
  readonly user: string;
  readonly realm: string;
  readonly address: string;
}

const rejectedChannel = diagnostics.channel('switchboard:auth:rejected');

/** Compared against when the user is unknown, so that case costs what a wrong password does. */
const UNKNOWN_USER_HA1 = '0'.repeat(64);

/**
 * Which challenge, if any, a request needs under `mode` (RFC 3261 §22): ACK and CANCEL never
 * (§22.1: they cannot be resubmitted); REGISTER to our registrar a 401 (modes register and
 * all); with invite, out-of-dialog INVITEs, with all, every other request, a 407, except:
 * - requests inside a dialog we record-routed (To tag and our `sbd` Route mark), so the callee's
 *   BYE, which cannot know our credentials, passes;
 * - requests from another domain to one of ours (incoming calls): From's host not ours and the
 *   Request-URI's host one of our domains. A request from another domain to another domain is
 *   challenged (we are no open relay).
 */
export function authChallengeKind(
  mode: AuthMode,
  request: SipMessage,
  facts: { readonly forRegistrar: boolean; readonly inOurDialog: boolean; readonly isOurDomain: (host: string) => boolean },
): AuthChallengeKind | undefined {
  const method = request.method ?? '';
  if (method === 'ACK' || method === 'CANCEL') return undefined;
  if (method === 'REGISTER' && facts.forRegistrar) return mode === 'invite' ? undefined : 'registrar';
  if (mode === 'register' || (mode === 'invite' && method !== 'INVITE')) return undefined;
  if (request.toTag !== undefined && facts.inOurDialog) return undefined;
  const from = request.from?.uri;
  const fromOurs = from !== undefined && isSipUri(from) && facts.isOurDomain(uriHostname(from));
  const target = request.requestUri;
  const toOurs = target !== undefined && isSipUri(target) && facts.isOurDomain(uriHostname(target));
  if (!fromOurs && toOurs) return undefined;
  return 'proxy';
}

/**
 * Digest authentication of requests (RFC 3261 §22, RFC 8760): challenges with one header per
 * algorithm, checks credentials against stored HA1s, and answers what the RFCs say:
 * - no credentials for our realm, or for an algorithm we do not offer: 401/407 challenge;
 * - malformed credentials, or a qop other than auth: 400;
 * - a nonce we never issued (forged, or a restart that changed the secret), or one of ours that
 *   expired: a new challenge with stale=true (RFC 7616 §3.3: the nonce is invalid), nothing
 *   hashed and no failure counted, so made-up nonces cannot lock a source's owner out;
 * - a source at its failure limit: 403 with Retry-After (seconds left in its window), nothing
 *   hashed. Every other attempt takes a slot of the limit before it is checked (see
 *   AuthStateStore.tryAttempt) and gives it back when its response is right;
 * - wrong response or unknown user: 403, failure counted;
 * - right response, nonce count not above the highest accepted (a replay): challenge with
 *   stale=true, so a replayer gets nothing and a client that reused a count retries unprompted;
 * - right response from a user who may not use the request's identity (To for REGISTER, From
 *   otherwise): 403.
 * Store failures reject (the proxy core answers 503).
 */
export class DigestAuthenticator {
  readonly mode: AuthMode;
  readonly realm: string;
  readonly algorithms: readonly DigestAlgorithm[];
  readonly #mint: NonceMint;
  readonly #credentials: CredentialStore;
  readonly #state: AuthStateStore;
  readonly #maxFailures: number;
  readonly #failureWindowMs: number;

  constructor(options: DigestAuthenticatorOptions) {
    this.mode = options.mode;
    this.realm = options.realm;
    this.algorithms = options.algorithms ?? DEFAULT_AUTH_ALGORITHMS;
    if (this.algorithms.length === 0) throw new RangeError('at least one digest algorithm must be offered');
    this.#mint = new NonceMint(Buffer.from(options.secret, 'hex'), options.realm, (options.nonceTtlSeconds ?? 300) * 1000);
    this.#credentials = options.credentials;
    this.#state = options.state;
    this.#maxFailures = options.maxFailures ?? 10;
    this.#failureWindowMs = (options.failureWindowSeconds ?? 60) * 1000;
  }

  /** The challenge response of `kind`: one header per offered algorithm, all with one fresh nonce. */
  challenge(kind: AuthChallengeKind, counters: AuthCounters, stale = false, now = Date.now()): AuthResult {
    counters.authChallenges++;
    const nonce = this.#mint.issue(now);
    const name = kind === 'registrar' ? 'WWW-Authenticate' : 'Proxy-Authenticate';
    const headers = this.algorithms.map((algorithm) => [name, formatDigestChallenge({ realm: this.realm, nonce, algorithm, qop: ['auth'], ...(stale ? { stale: true } : {}) })] as const);
    return { kind: 'respond', status: kind === 'registrar' ? 401 : 407, headers };
  }

  /**
   * Checks the request's credentials for our realm. `identity` is the user the request speaks
   * for (To's user for REGISTER, From's otherwise); the authenticated user must be that one.
   */
  async authenticate(request: SipMessage, source: TransportAddress, kind: AuthChallengeKind, identity: string | undefined, counters: AuthCounters, now = Date.now()): Promise<AuthResult> {
    let credentials: DigestCredentials | undefined;
    try {
      credentials = this.#ourCredentials(request, kind);
    } catch (error) {
      if (!isSipError(error)) throw error;
      counters.authMalformed++;
      return { kind: 'respond', status: error.status, reason: error.reason, headers: [] };
    }
    if (credentials === undefined) return this.challenge(kind, counters, false, now);
    const algorithm = digestAlgorithm(credentials.algorithm);
    if (algorithm === undefined || !this.algorithms.includes(algorithm)) return this.challenge(kind, counters, false, now);
    if (credentials.qop?.toLowerCase() !== 'auth') {
      counters.authMalformed++;
      return { kind: 'respond', status: 400, reason: 'Digest qop=auth Required', headers: [] };
    }

    // Only an answer to a nonce we issued and that still runs can count as a failure: anyone can
    // make up a nonce, and a source's failures lock its owner out. Nothing is hashed for the
    // others (a check without a count would be a free oracle), they get a new challenge.
    const nonce = this.#mint.check(credentials.nonce, now);
    if (nonce.kind === 'forged') {
      counters.authForgedNonces++;
      return this.challenge(kind, counters, true, now);
    }
    if (nonce.kind === 'expired') {
      counters.authStaleNonces++;
      return this.challenge(kind, counters, true, now);
    }

    // Reserve, then check: the attempt takes a slot (counted as a failure) before it is checked,
    // so a burst of attempts in flight at once gets no more checks than the limit allows.
    const address = failureKey(source.address);
    const [slot, ha1] = await Promise.allSettled([
      call(() => this.#state.tryAttempt(address, now, this.#failureWindowMs, this.#maxFailures)),
      call(() => this.#credentials.ha1(credentials.username, this.realm, algorithm)),
    ]);
    if (slot.status === 'rejected') throw slot.reason;
    if (ha1.status === 'rejected') {
      if (slot.value.granted) await call(() => this.#state.releaseAttempt(address, now)).catch(() => undefined);
      throw ha1.reason;
    }
    if (!slot.value.granted) {
      counters.authThrottled++;
      this.#rejected('throttled', credentials.username, address);
      const seconds = Math.max(1, Math.ceil(slot.value.windowLeftMs / 1000));
      return { kind: 'respond', status: 403, reason: 'Forbidden (Too Many Failed Authentications)', headers: [['Retry-After', String(seconds)]] };
    }
    const expected = digestResponse({ algorithm, ha1: ha1.value ?? UNKNOWN_USER_HA1, method: request.method ?? '', uri: credentials.uri, nonce: credentials.nonce, qop: 'auth', nc: credentials.nc, cnonce: credentials.cnonce });
    if (ha1.value === undefined || !sameHex(expected, credentials.response)) {
      counters.authRejected++;
      this.#rejected(ha1.value === undefined ? 'unknown-user' : 'credentials', credentials.username, address);
      return { kind: 'respond', status: 403, headers: [] };
    }
    // The right response: not a failure, the slot goes back.
    const [, fresh] = await Promise.all([call(() => this.#state.releaseAttempt(address, now)), call(() => this.#state.acceptNonceCount(credentials.nonce, parseInt(credentials.nc ?? '0', 16), nonce.expiresAt))]);
    if (!fresh) {
      counters.authReplays++;
      return this.challenge(kind, counters, true, now);
    }
    if (identity !== credentials.username) {
      counters.authRejected++;
      this.#rejected('identity', credentials.username, address);
      return { kind: 'respond', status: 403, reason: kind === 'registrar' ? 'Forbidden (Not Allowed to Register This Address)' : 'Forbidden (From Does Not Match the Authenticated User)', headers: [] };
    }
    counters.authAccepted++;
    return { kind: 'authenticated', user: credentials.username };
  }

  /**
   * Removes the Proxy-Authorization values for our realm from a request about to be forwarded
   * (RFC 3261 §22.3: credentials for other realms stay, for the proxies they are meant for).
   */
  removeOwnCredentials(request: SipMessage): void {
    const values = request.headers('proxy-authorization');
    if (values.length === 0) return;
    const kept = values.filter((value) => {
      try {
        return parseDigestCredentials(value)?.realm !== this.realm;
      } catch {
        return true;
      }
    });
    if (kept.length === values.length) return;
    request.removeHeader('proxy-authorization');
    for (const value of kept) request.appendHeader('proxy-authorization', value);
  }

  async close(): Promise<void> {
    await Promise.all([this.#credentials.close(), this.#state.close()]);
  }

  /** The first credentials for our realm in Authorization (registrar) or Proxy-Authorization. */
  #ourCredentials(request: SipMessage, kind: AuthChallengeKind): DigestCredentials | undefined {
    for (const value of request.headers(kind === 'registrar' ? 'authorization' : 'proxy-authorization')) {
      const credentials = parseDigestCredentials(value);
      if (credentials !== undefined && credentials.realm === this.realm) return credentials;
    }
    return undefined;
  }

  #rejected(reason: AuthRejectedEvent['reason'], user: string, address: string): void {
    if (rejectedChannel.hasSubscribers) rejectedChannel.publish({ reason, user, realm: this.realm, address } satisfies AuthRejectedEvent);
  }
}

/** The user a request speaks for: To's for REGISTER (the AOR), From's otherwise. */
export function claimedIdentity(request: SipMessage): string | undefined {
  const uri = request.method === 'REGISTER' ? request.to?.uri : request.from?.uri;
  return uri !== undefined && isSipUri(uri) ? uriUser(uri) : undefined;
}

/** Runs a store call, so that a store throwing instead of rejecting rejects too. */
async function call<T>(work: () => Promise<T>): Promise<T> {
  return work();
}

function sameHex(expected: string, given: string): boolean {
  if (expected.length !== given.length) return false;
  return timingSafeEqual(Buffer.from(expected, 'latin1'), Buffer.from(given, 'latin1'));
}

/**
 * The key failures are counted under: the IPv4 address, or the /64 of an IPv6 address (one
 * host has a whole /64 to pick addresses from).
 */
export function failureKey(address: string): string {
  if (!address.includes(':')) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped !== null) return mapped[1] as string;
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = address.includes('::') ? (tail === '' ? [] : tail.split(':')) : [];
  const groups = address.includes('::') ? [...headGroups, ...new Array<string>(Math.max(0, 8 - headGroups.length - tailGroups.length)).fill('0'), ...tailGroups] : headGroups;
  return `${groups.slice(0, 4).map((group) => group.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
