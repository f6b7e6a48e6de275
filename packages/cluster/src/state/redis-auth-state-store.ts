import type { AttemptSlot, AuthStateStore } from '@switchboard/core';
import { closeRedis, connectRedis, redisCall, type RedisClient } from './redis-connection.js';
import { DEFAULT_REDIS_PREFIX, redisKeys } from './redis-keys.js';

type ScriptedRedis = RedisClient & {
  acceptNonceCount(key: string, nc: number, expiresAt: number): Promise<number>;
  tryAttempt(key: string, windowMs: number, maxFailures: number): Promise<[number, number]>;
  releaseAttempt(key: string): Promise<number>;
};

/**
 * Nonce counts and failure counts in Redis, shared by every process and every instance using it
 * (`--state redis`, one server or a Redis Cluster). `<prefix>nc:{<nonce>}` holds the highest
 * accepted count and expires with the nonce; `<prefix>authfail:{<source>}` counts failures and
 * expires when its window ends (each hash-tagged, so each script's one key names its slot). The
 * updates are Lua scripts, so they are atomic: of two workers presenting one nonce count at once,
 * exactly one is accepted, and of two racing for a source's last attempt slot, exactly one gets it.
 */
export class RedisAuthStateStore implements AuthStateStore {
  readonly #redis: ScriptedRedis;
  readonly #prefix: string;

  private constructor(redis: RedisClient, prefix: string) {
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
    // The window's count is checked and raised in one script: workers racing for the last slot
    // of a source cannot both get it. A key left without expiry (never by these scripts) gets one.
    redis.defineCommand('tryAttempt', {
      numberOfKeys: 1,
      lua: `
        local count = tonumber(redis.call('GET', KEYS[1]) or '0')
        local left = redis.call('PTTL', KEYS[1])
        if left < 0 then
          if count > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
          left = tonumber(ARGV[1])
        end
        if count >= tonumber(ARGV[2]) then return {0, left} end
        redis.call('INCR', KEYS[1])
        if count == 0 then redis.call('PEXPIRE', KEYS[1], left) end
        return {1, left}`,
    });
    redis.defineCommand('releaseAttempt', {
      numberOfKeys: 1,
      lua: `
        local count = tonumber(redis.call('GET', KEYS[1]) or '0')
        if count > 0 then redis.call('DECR', KEYS[1]) end
        return 0`,
    });
    return new RedisAuthStateStore(redis, options.prefix ?? DEFAULT_REDIS_PREFIX);
  }

  acceptNonceCount(nonce: string, nc: number, expiresAt: number): Promise<boolean> {
    // A nonce already expired needs no record: PXAT in the past would delete the key at once.
    return redisCall(async () => (await this.#redis.acceptNonceCount(redisKeys.nonceCount(this.#prefix, nonce), nc, Math.max(Math.ceil(expiresAt), Date.now() + 1))) === 1);
  }

  tryAttempt(source: string, _now: number, windowMs: number, maxFailures: number): Promise<AttemptSlot> {
    return redisCall(async () => {
      const [granted, left] = await this.#redis.tryAttempt(redisKeys.authFailures(this.#prefix, source), Math.max(1, Math.ceil(windowMs)), maxFailures);
      return { granted: granted === 1, windowLeftMs: Number(left) };
    });
  }

  async releaseAttempt(source: string): Promise<void> {
    await redisCall(() => this.#redis.releaseAttempt(redisKeys.authFailures(this.#prefix, source)));
  }

  failures(source: string, _now?: number): Promise<number> {
    return redisCall(async () => Number((await this.#redis.get(redisKeys.authFailures(this.#prefix, source))) ?? 0));
  }

  async close(): Promise<void> {
    await closeRedis(this.#redis);
  }
}
