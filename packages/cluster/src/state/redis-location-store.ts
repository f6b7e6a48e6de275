import type { Binding, LocationStore } from '@switchboard/core';
import { closeRedis, connectRedis, keyServers, redisCall, type RedisClient } from './redis-connection.js';
import { DEFAULT_REDIS_PREFIX, redisKeys } from './redis-keys.js';

/**
 * Location bindings in Redis, so several processes or several Switchboard instances share
 * registrations, on one server or a Redis Cluster. One hash per address-of-record
 * (`<prefix>loc:{<aor>}`, hash-tagged so an AOR's keys share a slot), one field per contact
 * holding the binding as JSON; the key expires when its last binding does (PEXPIREAT, raised
 * atomically by a script as bindings are added). Lapsed bindings are skipped and deleted when met.
 */
export class RedisLocationStore implements LocationStore {
  readonly #redis: RedisClient;
  readonly #prefix: string;

  private constructor(redis: RedisClient, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  /**
   * Connects and checks the server answers; rejects with a message naming the URL when it does
   * not (the CLI turns that into a clear start-up error).
   */
  static async connect(url: string, options: { prefix?: string; connectTimeoutMs?: number } = {}): Promise<RedisLocationStore> {
    const redis = await connectRedis(url, options.connectTimeoutMs);
    redis.defineCommand('putBinding', {
      numberOfKeys: 1,
      lua: `
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
        local expires = redis.call('PEXPIRETIME', KEYS[1])
        if expires < tonumber(ARGV[3]) then redis.call('PEXPIREAT', KEYS[1], ARGV[3]) end
        return 1`,
    });
    return new RedisLocationStore(redis, options.prefix ?? DEFAULT_REDIS_PREFIX);
  }

  #call<T>(work: () => Promise<T>): Promise<T> {
    return redisCall(work);
  }

  #key(aor: string): string {
    return redisKeys.location(this.#prefix, aor);
  }

  lookup(aor: string, now: number): Promise<Binding[]> {
    return this.#call(async () => {
      const key = this.#key(aor);
      const fields = await this.#redis.hgetall(key);
      const live: Binding[] = [];
      const lapsed: string[] = [];
      for (const [contact, json] of Object.entries(fields)) {
        const binding = JSON.parse(json) as Binding;
        if (binding.expiresAt > now) live.push(binding);
        else lapsed.push(contact);
      }
      if (lapsed.length > 0) await this.#redis.hdel(key, ...lapsed);
      return live.sort((a, b) => b.q - a.q);
    });
  }

  put(binding: Binding): Promise<void> {
    return this.#call(async () => {
      const redis = this.#redis as RedisClient & { putBinding(key: string, field: string, value: string, expiresAt: number): Promise<number> };
      await redis.putBinding(this.#key(binding.aor), binding.contact, JSON.stringify(binding), Math.ceil(binding.expiresAt));
    });
  }

  remove(aor: string, contact: string): Promise<void> {
    return this.#call(async () => {
      await this.#redis.hdel(this.#key(aor), contact);
    });
  }

  removeAll(aor: string): Promise<void> {
    return this.#call(async () => {
      await this.#redis.del(this.#key(aor));
    });
  }

  /** Live bindings in all: every location key of every server (each master of a cluster), scanned. */
  size(now: number): Promise<number> {
    return this.#call(async () => {
      let count = 0;
      for (const server of keyServers(this.#redis)) {
        let cursor = '0';
        do {
          const [next, keys] = await server.scan(cursor, 'MATCH', redisKeys.locationPattern(this.#prefix), 'COUNT', 500);
          cursor = next;
          for (const key of keys) {
            const fields = await server.hvals(key);
            count += fields.filter((json) => (JSON.parse(json) as Binding).expiresAt > now).length;
          }
        } while (cursor !== '0');
      }
      return count;
    });
  }

  async close(): Promise<void> {
    await closeRedis(this.#redis);
  }
}
