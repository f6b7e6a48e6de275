import { Redis, type RedisOptions } from 'ioredis';
import { StateStoreError } from './state-store-error.js';

/**
 * A Redis connection for a state store: connected and answering PING, or a StateStoreError
 * (ERR_SWITCHBOARD_STATE_UNAVAILABLE) naming the URL. While disconnected, commands fail at once (no
 * offline queue) and a command in flight when the server dies fails within a second; ioredis keeps
 * reconnecting by itself, with backoff capped at 1 s.
 */
export async function connectRedis(url: string, connectTimeoutMs = 2000): Promise<Redis> {
  const options: RedisOptions = {
    lazyConnect: true,
    connectTimeout: connectTimeoutMs,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    commandTimeout: 1000,
    retryStrategy: (times) => Math.min(50 * times, 1000),
  };
  const redis = new Redis(url, options);
  redis.on('error', () => {
    // Reported through the commands that fail; ioredis reconnects by itself.
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    throw new StateStoreError('ERR_SWITCHBOARD_STATE_UNAVAILABLE', `Redis at ${url} is not reachable: ${(error as Error).message}`);
  }
  return redis;
}

/** Runs a command; any failure means the store is unavailable now (the proxy answers 503). */
export async function redisCall<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw new StateStoreError('ERR_SWITCHBOARD_STATE_UNAVAILABLE', `Redis did not answer: ${(error as Error).message}`);
  }
}

/** Closes a connection politely, or drops it when the server is gone. */
export async function closeRedis(redis: Redis): Promise<void> {
  await redis.quit().catch(() => redis.disconnect());
}
