import {
  DigestAuthenticator,
  MemoryAuthStateStore,
  loadUsersFile,
  newNonceSecret,
  type AuthStateStore,
  type CredentialStore,
} from '@switchboard/core';
import type { ProxySettings } from '../proxy-settings.js';
import { closeRedis, connectRedis } from './redis-connection.js';
import { DEFAULT_REDIS_PREFIX, redisKeys } from './redis-keys.js';
import { RedisAuthStateStore } from './redis-auth-state-store.js';
import { RedisCredentialStore } from './redis-credential-store.js';
import { SabAuthStateStore, type SabAuthStateShared } from './sab-auth-state-store.js';

/**
 * The authenticator a worker runs with, or undefined when `--auth` is off: auth state in the store
 * `settings.state` names (the pool parent's SharedArrayBuffer table when `shared` is given),
 * credentials from the users file or the Redis hash.
 */
export async function openAuthenticator(settings: ProxySettings, shared?: SabAuthStateShared): Promise<DigestAuthenticator | undefined> {
  const auth = settings.auth;
  if (auth === undefined) return undefined;
  if (auth.secret === undefined) throw new Error('the nonce secret must be settled before workers start (startModel does it)');
  let state: AuthStateStore | undefined;
  let credentials: CredentialStore | undefined;
  try {
    state = await openAuthStateStore(settings, shared);
    if (auth.usersFile !== undefined) credentials = await loadUsersFile(auth.usersFile);
    else if (auth.redisHash !== undefined && settings.redisUrl !== undefined) credentials = await RedisCredentialStore.connect(settings.redisUrl, auth.redisHash);
    else throw new Error('--auth needs --auth-users FILE or --auth-redis-hash KEY with --redis-url');
    return new DigestAuthenticator({
      mode: auth.mode,
      realm: auth.realm,
      algorithms: auth.algorithms,
      secret: auth.secret,
      nonceTtlSeconds: auth.nonceTtlSeconds,
      maxFailures: auth.maxFailures,
      failureWindowSeconds: auth.failureWindowSeconds,
      credentials,
      state,
    });
  } catch (error) {
    await state?.close();
    await credentials?.close();
    throw error;
  }
}

async function openAuthStateStore(settings: ProxySettings, shared: SabAuthStateShared | undefined): Promise<AuthStateStore> {
  switch (settings.state) {
    case 'local':
      return new MemoryAuthStateStore();
    case 'sab':
      return shared === undefined ? SabAuthStateStore.create() : SabAuthStateStore.attach(shared);
    case 'redis':
      if (settings.redisUrl === undefined) throw new Error('--state redis needs --redis-url');
      return RedisAuthStateStore.connect(settings.redisUrl, { prefix: settings.redisPrefix });
  }
}

/**
 * Settles the nonce secret before workers start, so every worker verifies every other's nonces.
 * With `--state redis` the secret lives in Redis (`<prefix>auth:nonce-secret`, set once with NX):
 * every instance sharing that Redis verifies the others' nonces, and a restart keeps them valid.
 * Otherwise a fresh one is generated here, in the supervisor or the pool's parent thread.
 */
export async function settleNonceSecret(settings: ProxySettings): Promise<ProxySettings> {
  const auth = settings.auth;
  if (auth === undefined || auth.secret !== undefined) return settings;
  let secret = newNonceSecret();
  if (settings.state === 'redis' && settings.redisUrl !== undefined) {
    const redis = await connectRedis(settings.redisUrl);
    try {
      const key = redisKeys.nonceSecret(settings.redisPrefix ?? DEFAULT_REDIS_PREFIX);
      await redis.set(key, secret, 'NX');
      secret = (await redis.get(key)) ?? secret;
    } finally {
      await closeRedis(redis);
    }
  }
  return { ...settings, auth: { ...auth, secret } };
}
