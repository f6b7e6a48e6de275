import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { countClusterEvents, redisClientCounters } from './redis-client-counters.js';
import { StateStoreError } from './state-store-error.js';
import { parseRedisTarget, redactRedisUrl } from './redis-url.js';

/** A store's client: one Redis server, or a Redis Cluster (`redis+cluster://` URLs). */
export type RedisClient = Redis | Cluster;

/** How long one store call may take in all, redirections and retries included, before it fails. */
export const REDIS_CALL_DEADLINE_MS = 2000;

/** Options of every connection to a server (one Redis, or each node of a cluster). */
function serverOptions(connectTimeoutMs: number): RedisOptions {
  return {
    connectTimeout: connectTimeoutMs,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    // No `commandTimeout`: ioredis arms it as a plain timer, which fires before a reply already
    // in the socket is read (see withDeadline); every call is bounded by redisCall instead.
    retryStrategy: (times) => Math.min(50 * times, 1000),
  };
}

/**
 * The same fail-fast behaviour for a cluster. No offline queue: while no node serves a slot a
 * command fails instead of waiting. A command to a node that is gone is retried every 100 ms
 * (`retryDelayOnFailover`, with a slot-map refresh each time) and CLUSTERDOWN likewise, at most
 * `maxRedirections` times, and the whole call is cut at REDIS_CALL_DEADLINE_MS; so during a
 * failover calls fail within 2 s and succeed again as soon as the replica is promoted. MOVED and
 * ASK are followed at once. The slot map is not refreshed on a timer (each refresh rebuilds the
 * 16384-slot map: about 2 ms of CPU a second per client at a 5 s interval, measured); a client
 * learns a change when a command meets it. When every seed and known node is
 * unreachable the client starts again from the seeds, after 100 ms doubling to 1 s.
 */
function clusterOptions(connectTimeoutMs: number, target: { username?: string; password?: string; tls: boolean }): ClusterOptions {
  return {
    lazyConnect: true,
    enableOfflineQueue: false,
    enableReadyCheck: true,
    scaleReads: 'master',
    maxRedirections: 16,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    retryDelayOnMoved: 0,
    slotsRefreshTimeout: 1000,
    clusterRetryStrategy: (times) => Math.min(100 * 2 ** Math.min(times - 1, 4), 1000),
    redisOptions: {
      ...serverOptions(connectTimeoutMs),
      ...(target.username === undefined ? {} : { username: target.username }),
      ...(target.password === undefined ? {} : { password: target.password }),
      ...(target.tls ? { tls: {} } : {}),
    },
  };
}

/**
 * Resolves with `work`, or rejects after `ms` (the work's own outcome is then ignored). The
 * rejection waits for the next check phase of the event loop: timers run before the poll phase
 * reads the sockets, so a process that was not scheduled for `ms` (a loaded machine; a long
 * garbage collection) would otherwise fail a call whose reply is already waiting to be read.
 */
function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => setImmediate(() => reject(new Error(`${what} took longer than ${ms} ms`))), ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * A Redis connection for a state store: connected and answering PING, or a StateStoreError
 * (ERR_SWITCHBOARD_STATE_UNAVAILABLE) naming the URL (password hidden). For one server, while
 * disconnected commands fail at once (no offline queue), a command in flight when the server dies
 * fails when its connection closes, or at the call deadline (REDIS_CALL_DEADLINE_MS) if the server
 * hangs, and ioredis keeps reconnecting by itself, with backoff capped at 1 s. For
 * a cluster, the client must reach a seed node, learn the slot map and find the cluster ok
 * (`CLUSTER INFO`) within twice the connect timeout and a second; see `clusterOptions` for what
 * it does afterwards.
 */
export async function connectRedis(url: string, connectTimeoutMs = 2000): Promise<RedisClient> {
  let target;
  try {
    target = parseRedisTarget(url);
  } catch (error) {
    throw new StateStoreError('ERR_SWITCHBOARD_STATE_UNAVAILABLE', `${redactRedisUrl(url)}: ${(error as Error).message}`);
  }
  const client: RedisClient = target.kind === 'single' ? new Redis(url, { lazyConnect: true, ...serverOptions(connectTimeoutMs) }) : new Cluster([...target.nodes], clusterOptions(connectTimeoutMs, target));
  client.on('error', () => {
    // Reported through the commands that fail; ioredis reconnects by itself.
  });
  if (client instanceof Cluster) {
    client.on('node error', () => {
      // Counted; the commands that fail report it.
    });
    countClusterEvents(client);
  }
  try {
    if (client instanceof Cluster) {
      // Bounded as a whole: a cluster client keeps retrying its seeds by itself. It has more to do
      // before it is ready (CLUSTER INFO, CLUSTER SLOTS, a connection per master); refused
      // connections still fail at once.
      await withDeadline(client.connect(), 2 * connectTimeoutMs + 1000, 'connecting');
      await withDeadline(client.ping(), connectTimeoutMs, 'PING');
    } else {
      // One server: the connect timeout bounds the connection, the deadline the PING.
      await client.connect();
      await withDeadline(client.ping(), connectTimeoutMs, 'PING');
    }
  } catch (error) {
    client.disconnect();
    const what = target.kind === 'single' ? 'Redis' : 'Redis Cluster';
    throw new StateStoreError('ERR_SWITCHBOARD_STATE_UNAVAILABLE', `${what} at ${redactRedisUrl(url)} is not reachable: ${(error as Error).message}`);
  }
  return client;
}

/**
 * Runs a store call; any failure, or no answer within REDIS_CALL_DEADLINE_MS, means the store is
 * unavailable now (the proxy answers 503).
 */
export async function redisCall<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await withDeadline(work(), REDIS_CALL_DEADLINE_MS, 'the store call');
  } catch (error) {
    redisClientCounters.redisCommandFailures++;
    throw new StateStoreError('ERR_SWITCHBOARD_STATE_UNAVAILABLE', `Redis did not answer: ${(error as Error).message}`);
  }
}

/**
 * Every server holding keys: the one Redis, or each master of a cluster (for SCAN, which walks
 * one server's keys).
 */
export function keyServers(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}

/** Closes a connection politely, or drops it when the server is gone. */
export async function closeRedis(client: RedisClient): Promise<void> {
  await client.quit().catch(() => client.disconnect());
}
