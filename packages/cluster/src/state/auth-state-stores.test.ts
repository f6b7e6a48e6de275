import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { DigestAuthenticator, MemoryAuthStateStore, MemoryCredentialStore, NonceMint, newNonceSecret, newProxyCounters, userCredentials, type AuthStateStore, type CredentialStore } from '@switchboard/core';
import { answerDigestChallenge, formatDigestCredentials, parseDigestChallenges, parseMessage } from '@switchboard/sip';
import { Redis } from 'ioredis';
import { settleNonceSecret } from './open-authenticator.js';
import { RedisAuthStateStore } from './redis-auth-state-store.js';
import { RedisCredentialStore } from './redis-credential-store.js';
import { startRedisServer, type RedisTestServer } from '@switchboard/testkit/redis-server';
import type { AuthFixtureData, AuthFixtureReport } from './sab-auth-state-store.fixture.js';
import { authStateConformance as conformance } from './auth-state-conformance.fixture.js';
import { SabAuthStateStore } from './sab-auth-state-store.js';
import { StateStoreError } from './state-store-error.js';
import type { ProxySettings } from '../proxy-settings.js';

/**
 * Every auth state store (Map, SharedArrayBuffer table, Redis) keeps nonce counts and failure
 * counts the same way, and none accepts one nonce count twice, however many workers race for it.
 */

let redis: RedisTestServer;
before(async () => {
  redis = await startRedisServer();
});
after(async () => {
  await redis.stop();
});

describe('auth state stores', () => {
  test('Map (--state local)', async () => {
    const store = new MemoryAuthStateStore({ sweepMs: 0 });
    await conformance(store);
    await store.close();
  });

  test('SharedArrayBuffer table (--state sab)', async () => {
    const store = SabAuthStateStore.create({ capacity: 64 });
    await conformance(store);
    assert.equal(await store.size(Date.now()), 4, 'n1, n2, short and the new window of 192.0.2.1 (the IPv6 one expired)');
    assert.equal(await store.size(Date.now() + 120_000), 0, 'all expired by then');
  });

  test('Redis (--state redis)', async () => {
    const store = await RedisAuthStateStore.connect(redis.url, { prefix: 'conformance:' });
    try {
      await conformance(store);
      const raw = new Redis(redis.url);
      try {
        const ttl = await raw.pttl('conformance:nc:{n1}');
        assert.ok(ttl > 50_000 && ttl <= 60_000, `the count expires with its nonce (${ttl} ms)`);
      } finally {
        raw.disconnect();
      }
    } finally {
      await store.close();
    }
  });

  test('a full SharedArrayBuffer table sweeps expired entries, then says so (503)', async () => {
    const store = SabAuthStateStore.create({ capacity: 8 });
    for (let i = 0; i < 8; i++) await store.acceptNonceCount(`brief-${i}`, 1, Date.now() + 100);
    await new Promise((resolve) => setTimeout(resolve, 150));
    for (let i = 0; i < 8; i++) assert.equal(await store.acceptNonceCount(`long-${i}`, 1, Date.now() + 60_000), true);
    await assert.rejects(store.acceptNonceCount('one-more', 1, Date.now() + 60_000), (error: unknown) => error instanceof StateStoreError && error.code === 'ERR_SWITCHBOARD_STATE_FULL');
    assert.equal(await store.acceptNonceCount('long-3', 1, Date.now() + 60_000), false, 'entries survive the sweep and the failed insert');
  });

  test('four threads race for the same 2000 nonce counts and 2000 attempt slots: each count is granted exactly once, exactly the limit of slots', { timeout: 60_000 }, async () => {
    const threads = 4;
    const nonces = 2000;
    const failures = 500;
    // Every race must keep the invariants; at least one must really be a race. On a loaded
    // 2-core machine the first thread past the barrier can finish its 2,000 nonces before another
    // is scheduled (CI on d601b11), so a race where one thread got every nonce is run again.
    let raced = 0;
    for (let attempt = 0; attempt < 5 && raced === 0; attempt++) {
      const store = SabAuthStateStore.create({ capacity: 8192 });
      const barrier = new SharedArrayBuffer(4);
      const workers = Array.from({ length: threads }, () => new Worker(new URL('./sab-auth-state-store.fixture.js', import.meta.url), { workerData: { shared: store.shared, threads, nonces, failures, maxFailures: 1500, barrier } satisfies AuthFixtureData }));
      const reports = await Promise.all(workers.map(async (worker) => (await once(worker, 'message'))[0] as AuthFixtureReport));
      await Promise.all(workers.map((worker) => worker.terminate()));
      assert.deepEqual(reports.map((report) => report.error), [undefined, undefined, undefined, undefined]);
      const granted = reports.flatMap((report) => report.granted).sort((a, b) => a - b);
      assert.deepEqual(granted, Array.from({ length: nonces }, (_, i) => i), 'every nonce granted once, none twice');
      assert.equal(reports.reduce((sum, report) => sum + report.attempts, 0), 1500, 'no slot lost, none granted past the limit');
      assert.equal(await store.failures('192.0.2.66', Date.now()), 1500);
      if (reports.filter((report) => report.granted.length > 0).length > 1) raced++;
    }
    assert.equal(raced, 1, 'the threads really raced in one of 5 tries');
  });

  test('Redis: connections racing for the same nonce counts get each exactly once', { timeout: 30_000 }, async () => {
    const stores = await Promise.all([1, 2, 3].map(() => RedisAuthStateStore.connect(redis.url, { prefix: 'race:' })));
    try {
      const expiresAt = Date.now() + 60_000;
      const results = await Promise.all(stores.map((store) => Promise.all(Array.from({ length: 300 }, (_, i) => store.acceptNonceCount(`nonce-${i}`, 1, expiresAt)))));
      for (let i = 0; i < 300; i++) assert.equal(results.filter((granted) => granted[i]).length, 1, `nonce ${i}`);
      const slots = await Promise.all(stores.flatMap((store) => Array.from({ length: 50 }, () => store.tryAttempt('192.0.2.77', Date.now(), 60_000, 120))));
      assert.equal(slots.filter((slot) => slot.granted).length, 120);
      assert.equal(await stores[0]?.failures('192.0.2.77', Date.now()), 120);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  test('Redis lost: calls fail fast as ERR_SWITCHBOARD_STATE_UNAVAILABLE', { timeout: 20_000 }, async () => {
    const own = await startRedisServer();
    const store = await RedisAuthStateStore.connect(own.url);
    try {
      await own.kill();
      const started = Date.now();
      await assert.rejects(store.acceptNonceCount('x', 1, Date.now() + 1000), (error: unknown) => error instanceof StateStoreError && error.code === 'ERR_SWITCHBOARD_STATE_UNAVAILABLE');
      await assert.rejects(store.failures('192.0.2.1'), StateStoreError);
      assert.ok(Date.now() - started < 3000);
    } finally {
      await store.close();
      await own.stop();
    }
  });
});

test('credentials in a Redis hash: HA1 per algorithm by user:realm; junk entries are unknown users', async () => {
  const store = await RedisCredentialStore.connect(redis.url, 'test:users');
  const raw = new Redis(redis.url);
  try {
    const alice = userCredentials('alice', 'example.com', 'wonderland', ['SHA-256', 'MD5']);
    await store.put(alice);
    assert.equal(await raw.hget('test:users', 'alice:example.com'), JSON.stringify(alice.ha1));
    assert.equal(await store.ha1('alice', 'example.com', 'SHA-256'), alice.ha1['SHA-256']);
    assert.equal(await store.ha1('alice', 'example.com', 'SHA-512-256'), undefined);
    assert.equal(await store.ha1('alice', 'other.example', 'MD5'), undefined);
    await raw.hset('test:users', 'mallory:example.com', '{"MD5": "not hex"}', 'eve:example.com', 'password');
    assert.equal(await store.ha1('mallory', 'example.com', 'MD5'), undefined);
    assert.equal(await store.ha1('eve', 'example.com', 'MD5'), undefined);
  } finally {
    raw.disconnect();
    await store.close();
  }
});

test('the nonce secret: generated once per start, or shared through Redis by every instance', async () => {
  const base: ProxySettings = {
    listen: [], domains: [], stateless: false, idleTimeoutMs: 1, idleStrategy: 'heap', headerTimeoutMs: 1, timers: { t1: 500, t2: 4000, t4: 5000 }, state: 'local',
    auth: { mode: 'all', realm: 'example.com', algorithms: ['SHA-256'], nonceTtlSeconds: 300, maxFailures: 10, failureWindowSeconds: 60, usersFile: 'x' },
  };
  const local = await settleNonceSecret(base);
  assert.match(local.auth?.secret ?? '', /^[0-9a-f]{64}$/);
  assert.equal(await settleNonceSecret(local), local, 'a settled secret is kept');
  const shared = { ...base, state: 'redis' as const, redisUrl: redis.url, redisPrefix: 'secret:' };
  const first = await settleNonceSecret(shared);
  const second = await settleNonceSecret(shared);
  assert.equal(first.auth?.secret, second.auth?.secret, 'two instances on one Redis share it');
  const nonce = new NonceMint(Buffer.from(first.auth?.secret ?? '', 'hex'), 'example.com', 1000).issue();
  assert.equal(new NonceMint(Buffer.from(second.auth?.secret ?? '', 'hex'), 'example.com', 1000).check(nonce).kind, 'fresh');
});

/**
 * The brute-force guard holds for attempts in flight at once: 25 wrong passwords presented
 * together (one TCP write, or workers sharing the store) get at most `maxFailures` checks, the
 * rest 403 with the time left in the window, whichever store counts them.
 */
describe('the failure limit holds for concurrent attempts', () => {
  const users = new MemoryCredentialStore([userCredentials('alice', 'example.com', 'wonderland', ['MD5'])]);
  /** Looks HA1s up a little later, as Redis would: every attempt of a burst is in flight at once. */
  const slowUsers: CredentialStore = { ha1: async (...args) => { await new Promise((resolve) => setTimeout(resolve, 5)); return users.ha1(...args); }, close: async () => {} };

  async function burst(stores: AuthStateStore[], attempts: number, options: { windowSeconds?: number; pauseMs?: number } = {}): Promise<{ checked: number; throttled: number; retryAfter: Set<string> }> {
    const secret = newNonceSecret();
    const counters = newProxyCounters();
    const authenticators = stores.map((state) => new DigestAuthenticator({ mode: 'register', realm: 'example.com', algorithms: ['MD5'], secret, maxFailures: 10, failureWindowSeconds: options.windowSeconds ?? 60, credentials: slowUsers, state }));
    const first = authenticators[0] as DigestAuthenticator;
    const challenge = first.challenge('registrar', counters);
    assert.equal(challenge.kind, 'respond');
    const offered = parseDigestChallenges(challenge.kind === 'respond' ? (challenge.headers[0]?.[1] ?? '') : '')[0];
    assert.ok(offered !== undefined);
    const source = { protocol: 'tcp' as const, address: '192.0.2.88', port: 5060 };
    const attempt = (i: number) => {
        const credentials = formatDigestCredentials(answerDigestChallenge(offered, { username: 'alice', password: `guess-${i}`, method: 'REGISTER', uri: 'sip:example.com', nc: i + 1, cnonce: `c${i}` }));
        const request = parseMessage(Buffer.from(`REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.88;branch=z9hG4bK-${i}\r\nMax-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=1\r\nTo: <sip:alice@example.com>\r\nCall-ID: burst-${i}\r\nCSeq: ${i + 1} REGISTER\r\nAuthorization: ${credentials}\r\nContent-Length: 0\r\n\r\n`));
        return (authenticators[i % authenticators.length] as DigestAuthenticator).authenticate(request, source, 'registrar', 'alice', counters);
    };
    const results = await Promise.all(Array.from({ length: attempts }, (_, i) => attempt(i)));
    if (options.pauseMs !== undefined) {
      await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
      results.push(await attempt(attempts));
    }
    const retryAfter = new Set(results.flatMap((result) => (result.kind === 'respond' ? result.headers.filter(([name]) => name === 'Retry-After').map(([, value]) => value) : [])));
    return { checked: counters.authRejected + counters.authAccepted, throttled: counters.authThrottled, retryAfter };
  }

  test('Map (--state local)', async () => {
    const store = new MemoryAuthStateStore({ sweepMs: 0 });
    const { checked, throttled, retryAfter } = await burst([store], 25);
    assert.equal(checked, 10);
    assert.equal(throttled, 15);
    assert.deepEqual([...retryAfter], ['60']);
    assert.equal(await store.failures('192.0.2.88', Date.now()), 10);
  });

  test('Retry-After: the seconds left in the window, rounded up, in every store', { timeout: 20_000 }, async () => {
    const sab = SabAuthStateStore.create({ capacity: 64 });
    const stores: Array<[string, AuthStateStore]> = [['Map', new MemoryAuthStateStore({ sweepMs: 0 })], ['SAB', sab], ['Redis', await RedisAuthStateStore.connect(redis.url, { prefix: 'retry-after:' })]];
    try {
      await Promise.all(stores.map(async ([name, store]) => {
        const { throttled, retryAfter } = await burst([store], 10, { windowSeconds: 4, pauseMs: 1300 });
        assert.equal(throttled, 1, name);
        assert.deepEqual([...retryAfter], ['3'], `${name}: 4 s window, 1.3 s gone`);
      }));
    } finally {
      await Promise.all(stores.map(([, store]) => store.close()));
    }
  });

  test('SharedArrayBuffer table, two attached stores (--state sab)', async () => {
    const store = SabAuthStateStore.create({ capacity: 64 });
    const { checked, throttled } = await burst([store, SabAuthStateStore.attach(store.shared)], 25);
    assert.equal(checked, 10);
    assert.equal(throttled, 15);
  });

  test('Redis, three connections (--state redis)', async () => {
    const stores = await Promise.all([1, 2, 3].map(() => RedisAuthStateStore.connect(redis.url, { prefix: 'burst:' })));
    try {
      const { checked, throttled } = await burst(stores, 25);
      assert.equal(checked, 10);
      assert.equal(throttled, 15);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });
});
