import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AuthMode, IdleStrategy, ListenSpec, OverloadSettings, ProxyServerOptions, TimerSettings, TlsSettings, TlsVersion } from '@switchboard/core';
import type { DigestAlgorithm } from '@switchboard/sip';

export type Model = 'event-loop' | 'process-pool' | 'thread-pool' | 'io-dispatch';
export type StateKind = 'local' | 'sab' | 'redis';
export const MODELS: readonly Model[] = ['event-loop', 'process-pool', 'thread-pool', 'io-dispatch'];
export const STATE_KINDS: readonly StateKind[] = ['local', 'sab', 'redis'];
/**
 * Where transactions live (issue 16): `owned`, in the worker that made each one (messages read
 * elsewhere are handed to it); `shared`, also in the `--state` store, where any worker reads them.
 */
export type TransactionsMode = 'owned' | 'shared';
export const TRANSACTIONS_MODES: readonly TransactionsMode[] = ['owned', 'shared'];
/**
 * `--transactions shared` in the pools: who handles a response read by a worker that does not run
 * its client transaction: `by-holder`, handed to the worker holding the transaction's lease (one
 * store lookup and one IPC message); `where-read`, the reader itself for provisionals and 2xx
 * (two store round trips, no hand-off; ResponsesWhereRead in packages/core).
 */
export type SharedResponses = 'by-holder' | 'where-read';
export const SHARED_RESPONSES: readonly SharedResponses[] = ['by-holder', 'where-read'];

/** Which state stores each model can share registrations through. */
export const STATE_FOR_MODEL: Readonly<Record<Model, readonly StateKind[]>> = {
  'event-loop': ['local', 'redis'],
  'thread-pool': ['sab', 'redis'],
  'process-pool': ['redis'],
  'io-dispatch': ['redis'],
};

/**
 * Which transaction designs each model can run: io-dispatch sends every message to the
 * least-loaded worker, so every worker must find every transaction (in Redis): shared only.
 */
export const TRANSACTIONS_FOR_MODEL: Readonly<Record<Model, readonly TransactionsMode[]>> = {
  'event-loop': ['owned', 'shared'],
  'thread-pool': ['owned', 'shared'],
  'process-pool': ['owned', 'shared'],
  'io-dispatch': ['shared'],
};

/** The store a model uses when --state is not given. */
export const DEFAULT_STATE: Readonly<Record<Model, StateKind>> = {
  'event-loop': 'local',
  'thread-pool': 'sab',
  'process-pool': 'redis',
  'io-dispatch': 'redis',
};

/**
 * What every worker of every model runs the proxy with: plain data, so it crosses process and
 * thread boundaries as it is.
 */
export interface ProxySettings {
  readonly listen: readonly ListenSpec[];
  readonly advertise?: string;
  readonly domains: readonly string[];
  readonly defaultRoute?: string;
  readonly stateless: boolean;
  readonly idleTimeoutMs: number;
  readonly idleStrategy: IdleStrategy;
  readonly headerTimeoutMs: number;
  /** Accepted connections open at once on this proxy's own listeners (the model sets it from --max-connections). */
  readonly maxConnections?: number;
  readonly timers: TimerSettings;
  readonly state: StateKind;
  /** --state sab: registrations the SharedArrayBuffer location table holds (SabLocationStore's default when absent). */
  readonly sabBindings?: number;
  /** `owned` when absent (see TransactionsMode). */
  readonly transactions?: TransactionsMode;
  /**
   * process-pool (`--fd-request-wait`, a lab knob): while a worker's fd request is outstanding it
   * handles no other message, as OpenSER's blocking fd request did (see FdRequestGate).
   */
  readonly fdRequestWait?: boolean;
  /**
   * `--transactions shared`: lease length, renewal tick and adoption sweep (`--transaction-lease-ms`,
   * `--transaction-lease-tick-ms`, `--transaction-adoption-sweep-ms`); absent: 3000 ms, 1000 ms and ten ticks.
   */
  readonly transactionLease?: { readonly leaseMs: number; readonly tickMs: number; readonly sweepMs?: number };
  /** `--shared-responses` (pools with `--transactions shared`); `by-holder` when absent. */
  readonly sharedResponses?: SharedResponses;
  readonly redisUrl?: string;
  /** Key prefix in Redis (several deployments can share one server). */
  readonly redisPrefix?: string;
  /** Seconds a 503 tells clients to wait when the state store is down. */
  readonly storeRetryAfterSeconds?: number;
  /** Digest authentication (`--auth`); absent: off. */
  readonly auth?: AuthSettings;
  /** TLS credentials (as files, read by each worker) and choices; needed by a `tls` listener. */
  readonly tls?: TlsFileSettings;
  /** Overload control (`--overload on` and its thresholds); absent: off. Each worker runs its own detector. */
  readonly overload?: OverloadSettings;
  /** Per-message timing (`--timing`, event-loop model): service-time histograms and a sampled trace. */
  readonly timing?: TimingSettings;
}

export interface TimingSettings {
  /** JSON lines of sampled messages (`--timing-trace`). */
  readonly traceFile?: string;
  /** Share of calls traced, 0 to 1 (`--timing-sample`). */
  readonly sampleRatio: number;
}

/** The TLS part of the settings: file names rather than keys, so no key travels in IPC or env. */
export interface TlsFileSettings {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile?: string;
  readonly verifyClient: boolean;
  readonly resumption: boolean;
  readonly ciphers?: string;
  readonly minVersion?: TlsVersion;
  readonly maxVersion?: TlsVersion;
  readonly handshakeTimeoutMs: number;
  /**
   * Session ticket keys (48 bytes, hex) every worker uses, so a ticket one worker issued resumes
   * on any other; `withSharedTicketKeys` makes them once per run.
   */
  readonly ticketKeys?: string;
}

/** The settings with ticket keys made once for every worker of a run (when resumption is on). */
export function withSharedTicketKeys(settings: ProxySettings): ProxySettings {
  const tls = settings.tls;
  if (tls === undefined || !tls.resumption || tls.ticketKeys !== undefined) return settings;
  return { ...settings, tls: { ...tls, ticketKeys: randomBytes(48).toString('hex') } };
}

/** Reads the TLS files of the settings into what the TLS transport takes. */
export function loadTlsSettings(tls: TlsFileSettings): TlsSettings {
  return {
    cert: readFileSync(tls.certFile),
    key: readFileSync(tls.keyFile),
    ca: tls.caFile === undefined ? undefined : readFileSync(tls.caFile),
    verifyClient: tls.verifyClient,
    resumption: tls.resumption,
    ciphers: tls.ciphers,
    minVersion: tls.minVersion,
    maxVersion: tls.maxVersion,
    handshakeTimeoutMs: tls.handshakeTimeoutMs,
    ticketKeys: tls.ticketKeys === undefined ? undefined : Buffer.from(tls.ticketKeys, 'hex'),
  };
}

/**
 * Digest authentication settings, plain data. Nonce counts and failure counts live in the store
 * `state` names (a Map, the SharedArrayBuffer table the pool's parent allocates, or Redis).
 */
export interface AuthSettings {
  readonly mode: AuthMode;
  readonly realm: string;
  /** Offered, one challenge each, in this order. */
  readonly algorithms: readonly DigestAlgorithm[];
  readonly nonceTtlSeconds: number;
  readonly maxFailures: number;
  readonly failureWindowSeconds: number;
  /** Credentials: a users file (each worker reads it at start) ... */
  readonly usersFile?: string;
  /** ... or a Redis hash at `redisUrl`. */
  readonly redisHash?: string;
  /**
   * Hex secret the nonces are signed with. `startModel` fills it before any worker starts:
   * generated, or with `--state redis` shared through Redis by every instance using it.
   */
  readonly secret?: string;
}

/** The ProxyServer options a set of settings stands for (the hooks a model adds come on top). */
export function proxyServerOptions(settings: ProxySettings): Omit<ProxyServerOptions, 'store'> {
  return {
    listen: settings.listen,
    advertise: settings.advertise,
    domains: settings.domains,
    defaultRoute: settings.defaultRoute,
    stateless: settings.stateless,
    idleTimeoutMs: settings.idleTimeoutMs,
    idleStrategy: settings.idleStrategy,
    headerTimeoutMs: settings.headerTimeoutMs,
    maxConnections: settings.maxConnections,
    timers: settings.timers,
    storeRetryAfterSeconds: settings.storeRetryAfterSeconds,
    overload: settings.overload,
    tls: settings.tls === undefined ? undefined : loadTlsSettings(settings.tls),
  };
}
