import type { Redis } from 'ioredis';
import type { AuthStateStore } from '@switchboard/core';
import { closeRedis, connectRedis, redisCall } from './redis-connection.js';

type ScriptedRedis = Redis & {
  acceptNonceCount(key: string, nc: number, expiresAt: number): Promise<number>;
  recordFailure(key: string, windowMs: number): Promise<number>;
};

/**
 * Nonce counts and failure counts in Redis, shared by every process and every instance using it
 * (`--state redis`). `<prefix>nc:<nonce>` holds the highest accepted count and expires with the
 * nonce; `<prefix>authfail:<source>` counts failures and expires when its window ends. Both
 * updates are Lua scripts, so they are atomic: of two workers presenting one nonce count at once,
 * exactly one is accepted.
 */
export class RedisAuthStateStore implements AuthStateStore {
  readonly #redis: ScriptedRedis;
  readonly #prefix: string;

  private constructor(redis: Redis, prefix: string) {
    this.#redis = redis as ScriptedRedis;
    this.#prefix = prefix;
  }

  static async connect(url: string, options: { prefix?: string; connectTimeoutMs?: number } = {}): Promise<RedisAuthStateStore> {
    const redis = await connectRedis(url, options.connectTimeoutMs);
    redis.defineCommand('acceptNonceCount', {
      numberOfKeys: 1,
      lua: `
        local last = redis.call('GET', KEYS[1])
        if last and tonumber(last) >= tonumber(ARGV[1]) then return 0 end
        redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
        return 1`,
    });
    redis.defineCommand('recordFailure', {
      numberOfKeys: 1,
      lua: `
        local count = redis.call('INCR', KEYS[1])
        if count == 1 or redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
        return count`,
    });
    return new RedisAuthStateStore(redis, options.prefix ?? 'switchboard:');
  }

  acceptNonceCount(nonce: string, nc: number, expiresAt: number): Promise<boolean> {
    // A nonce already expired needs no record: PXAT in the past would delete the key at once.
    return redisCall(async () => (await this.#redis.acceptNonceCount(`${this.#prefix}nc:${nonce}`, nc, Math.max(Math.ceil(expiresAt), Date.now() + 1))) === 1);
  }

  recordFailure(source: string, _now: number, windowMs: number): Promise<number> {
    return redisCall(() => this.#redis.recordFailure(`${this.#prefix}authfail:${source}`, Math.max(1, Math.ceil(windowMs))));
  }

  failures(source: string): Promise<number> {
    return redisCall(async () => Number((await this.#redis.get(`${this.#prefix}authfail:${source}`)) ?? 0));
  }

  async close(): Promise<void> {
    await closeRedis(this.#redis);
  }
}
