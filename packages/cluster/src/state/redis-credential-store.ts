import { checkUserCredentials, credentialKey, type CredentialStore, type UserCredentials } from '@switchboard/core';
import type { DigestAlgorithm } from '@switchboard/sip';
import { closeRedis, connectRedis, redisCall, type RedisClient } from './redis-connection.js';

/**
 * Credentials in a Redis hash (`--auth-redis-hash KEY`): field `user:realm`, value the JSON of
 * the user's HA1 per algorithm, `{"SHA-256": "...", "MD5": "..."}` (what `switchboard users add
 * --redis-hash` writes). One key, so on a Redis Cluster one slot. Read on every check, so users added or removed count at once; a value
 * that is not a valid entry counts as an unknown user.
 */
export class RedisCredentialStore implements CredentialStore {
  readonly #redis: RedisClient;
  readonly #hash: string;

  private constructor(redis: RedisClient, hash: string) {
    this.#redis = redis;
    this.#hash = hash;
  }

  static async connect(url: string, hash: string, options: { connectTimeoutMs?: number } = {}): Promise<RedisCredentialStore> {
    return new RedisCredentialStore(await connectRedis(url, options.connectTimeoutMs), hash);
  }

  ha1(user: string, realm: string, algorithm: DigestAlgorithm): Promise<string | undefined> {
    return redisCall(async () => {
      const json = await this.#redis.hget(this.#hash, credentialKey(user, realm));
      if (json === null) return undefined;
      try {
        return checkUserCredentials({ user, realm, ha1: JSON.parse(json) as unknown }, `${this.#hash} ${credentialKey(user, realm)}`).ha1[algorithm];
      } catch {
        return undefined;
      }
    });
  }

  /** Adds or replaces a user's entry. */
  put(entry: UserCredentials): Promise<void> {
    return redisCall(async () => {
      await this.#redis.hset(this.#hash, credentialKey(entry.user, entry.realm), JSON.stringify(entry.ha1));
    });
  }

  async close(): Promise<void> {
    await closeRedis(this.#redis);
  }
}
