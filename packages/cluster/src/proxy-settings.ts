import type { AuthMode, IdleStrategy, ListenSpec, ProxyServerOptions, TimerSettings } from '@switchboard/core';
import type { DigestAlgorithm } from '@switchboard/sip';

export type Model = 'event-loop' | 'process-pool' | 'thread-pool';
export type StateKind = 'local' | 'sab' | 'redis';
export const MODELS: readonly Model[] = ['event-loop', 'process-pool', 'thread-pool'];
export const STATE_KINDS: readonly StateKind[] = ['local', 'sab', 'redis'];

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
  readonly timers: TimerSettings;
  readonly state: StateKind;
  readonly redisUrl?: string;
  /** Key prefix in Redis (several deployments can share one server). */
  readonly redisPrefix?: string;
  /** Seconds a 503 tells clients to wait when the state store is down. */
  readonly storeRetryAfterSeconds?: number;
  /** Digest authentication (`--auth`); absent: off. */
  readonly auth?: AuthSettings;
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
    timers: settings.timers,
    storeRetryAfterSeconds: settings.storeRetryAfterSeconds,
  };
}
