import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { NonceMint, userCredentials, type Binding } from '@switchboard/core';
import { transactionStoreConformance } from '@switchboard/core/transaction-store-conformance';
import { startRedisCluster, type RedisTestCluster } from '@switchboard/testkit/redis-cluster';
import { authStateConformance } from './auth-state-conformance.fixture.js';
import { lapsedBindings, sharedBindings } from './location-store-conformance.fixture.js';
import { settleNonceSecret } from './open-authenticator.js';
import { redisClientCounters } from './redis-client-counters.js';
import { closeRedis, connectRedis, keyServers } from './redis-connection.js';
import { RedisAuthStateStore } from './redis-auth-state-store.js';
import { RedisCredentialStore } from './redis-credential-store.js';
import { redisKeys } from './redis-keys.js';
import { RedisLocationStore } from './redis-location-store.js';
import { RedisTransactionStore } from './redis-transaction-store.js';
import { StateStoreError } from './state-store-error.js';
import type { ProxySettings } from '../proxy-settings.js';

/**
 * Every Redis store on a real Redis Cluster (three masters, three replicas, started by the
 * testkit): the conformance suites the single server passes (location, auth state, transactions), the key layout (one slot per AOR,
 * nonce and source; keys spread over the masters), an unreachable cluster at start, and a master
 * killed under a store: calls fail fast and coded during the failover and the same store serves
 * again, its replicated bindings intact, once the replica is promoted.
 */

let cluster: RedisTestCluster;
before(async () => {
  cluster = await startRedisCluster();
});
after(async () => {
  await cluster?.stop();
});

test('location store conformance on a cluster: shared bindings, size over every master', async () => {
  await sharedBindings(cluster.url);
});

test('location store conformance on a cluster: lapsed bindings and key expiry', async () => {
  await lapsedBindings(cluster.url);
});

// The transaction store on the cluster: each transaction's hash and its bucket's lease index share
// a hash tag, so every script runs in one slot; fewer random sequences than on one server (each
// listing of lapsed leases is 256 scripts spread over the masters).
const transactionPrefixes = new WeakMap<RedisTransactionStore, string>();
let transactionStores = 0;
transactionStoreConformance(
  'Redis Cluster (several instances)',
  {
    open: async () => {
      const prefix = `txc${transactionStores++}:`;
      const store = await RedisTransactionStore.connect(cluster.url, { prefix });
      transactionPrefixes.set(store, prefix);
      return store;
    },
    peer: async (store) => RedisTransactionStore.connect(cluster.url, { prefix: transactionPrefixes.get(store as RedisTransactionStore) ?? '' }),
  },
  { runs: 15 },
);

test('auth state conformance on a cluster, and three connections racing for 150 nonce counts get each once', { timeout: 30_000 }, async () => {
  const store = await RedisAuthStateStore.connect(cluster.url, { prefix: 'conformance:' });
  try {
    await authStateConformance(store);
  } finally {
    await store.close();
  }
  const stores = await Promise.all([1, 2, 3].map(() => RedisAuthStateStore.connect(cluster.url, { prefix: 'race:' })));
  try {
    const expiresAt = Date.now() + 60_000;
    const results = await Promise.all(stores.map((one) => Promise.all(Array.from({ length: 150 }, (_, i) => one.acceptNonceCount(`nonce-${i}`, 1, expiresAt)))));
    for (let i = 0; i < 150; i++) assert.equal(results.filter((granted) => granted[i]).length, 1, `nonce ${i}`);
    const slots = await Promise.all(stores.flatMap((one) => Array.from({ length: 30 }, () => one.tryAttempt('192.0.2.77', Date.now(), 60_000, 60))));
    assert.equal(slots.filter((slot) => slot.granted).length, 60);
  } finally {
    await Promise.all(stores.map((one) => one.close()));
  }
});

test('credentials and the nonce secret on a cluster: every instance sees the same', async () => {
  const store = await RedisCredentialStore.connect(cluster.url, 'cluster:users');
  try {
    const alice = userCredentials('alice', 'example.com', 'wonderland', ['MD5']);
    await store.put(alice);
    assert.equal(await store.ha1('alice', 'example.com', 'MD5'), alice.ha1.MD5);
  } finally {
    await store.close();
  }
  const base: ProxySettings = {
    listen: [], domains: [], stateless: false, idleTimeoutMs: 1, idleStrategy: 'heap', headerTimeoutMs: 1, timers: { t1: 500, t2: 4000, t4: 5000 },
    state: 'redis', redisUrl: cluster.url, redisPrefix: 'cluster-secret:',
    auth: { mode: 'all', realm: 'example.com', algorithms: ['MD5'], nonceTtlSeconds: 300, maxFailures: 10, failureWindowSeconds: 60, usersFile: 'x' },
  };
  const [first, second] = [await settleNonceSecret(base), await settleNonceSecret(base)];
  assert.equal(first.auth?.secret, second.auth?.secret);
  const nonce = new NonceMint(Buffer.from(first.auth?.secret ?? '', 'hex'), 'example.com', 1000).issue();
  assert.equal(new NonceMint(Buffer.from(second.auth?.secret ?? '', 'hex'), 'example.com', 1000).check(nonce).kind, 'fresh');
});

test('key layout: each key hashes by its tag (one slot per AOR, nonce, source), and AORs spread over every master', async () => {
  const port = (cluster.nodes[0] as { port: number }).port;
  const slot = async (key: string): Promise<number> => Number((await cluster.cli(port, 'cluster', 'keyslot', key)).trim());
  for (const [key, tag] of [
    [redisKeys.location('switchboard:', 'sip:bob@example.com'), 'sip:bob@example.com'],
    [redisKeys.nonceCount('switchboard:', 'AAAAAZNq1a3Xn1'), 'AAAAAZNq1a3Xn1'],
    [redisKeys.authFailures('switchboard:', '192.0.2.1'), '192.0.2.1'],
  ] as const) {
    assert.equal(await slot(key), await slot(tag), key);
  }
  const store = await RedisLocationStore.connect(cluster.url, { prefix: 'spread:' });
  const raw = await connectRedis(cluster.url);
  try {
    const now = Date.now();
    for (let i = 0; i < 30; i++) await store.put({ aor: `sip:u${i}@example.com`, contact: `sip:u${i}@192.0.2.9`, expiresAt: now + 60_000, q: 1, callId: 'c', cseq: 1, source: { protocol: 'udp', address: '192.0.2.9', port: 5060 } });
    const perMaster = await Promise.all(keyServers(raw).map(async (server) => (await server.keys('spread:loc:*')).length));
    assert.equal(perMaster.length, 3);
    assert.ok(perMaster.every((count) => count > 0), `keys on every master (${perMaster.join(', ')})`);
    assert.equal(await store.size(now), 30);
  } finally {
    await closeRedis(raw);
    await store.close();
  }
});

test('an unreachable cluster at start is a clear error naming the URL, password hidden', async () => {
  await assert.rejects(
    RedisLocationStore.connect('redis+cluster://user:secret@127.0.0.1:1,127.0.0.1:2', { connectTimeoutMs: 500 }),
    (error: unknown) => error instanceof StateStoreError && error.code === 'ERR_SWITCHBOARD_STATE_UNAVAILABLE' && /Redis Cluster at redis\+cluster:\/\/user:\*\*\*@127\.0\.0\.1:1,127\.0\.0\.1:2 is not reachable/.test(error.message),
  );
});

test('a slot moved to another master (resharding): the store follows the MOVED redirection and the client refreshes its slot map', { timeout: 30_000 }, async () => {
  const aor = 'sip:moving@example.com';
  const key = redisKeys.location('moving:', aor);
  const store = await RedisLocationStore.connect(cluster.url, { prefix: 'moving:' });
  try {
    await store.put({ aor, contact: 'sip:moving@192.0.2.7', expiresAt: Date.now() + 60_000, q: 1, callId: 'c', cseq: 1, source: { protocol: 'udp', address: '192.0.2.7', port: 5060 } });
    const from = await cluster.masterOf(key);
    const to = (await cluster.masters()).find((node) => node.port !== from.port) as { port: number };
    const refreshesBefore = redisClientCounters.redisClusterSlotRefreshes;
    await cluster.moveSlotOf(key, to.port);
    assert.equal((await cluster.masterOf(key)).port, to.port, 'the slot moved');
    assert.deepEqual((await store.lookup(aor, Date.now())).map((b) => b.contact), ['sip:moving@192.0.2.7'], 'found on the new master, through MOVED');
    await store.remove(aor, 'sip:moving@192.0.2.7');
    assert.deepEqual(await store.lookup(aor, Date.now()), []);
    for (let i = 0; i < 30 && redisClientCounters.redisClusterSlotRefreshes === refreshesBefore; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(redisClientCounters.redisClusterSlotRefreshes > refreshesBefore, 'the MOVED made the client fetch the slot map again');
    assert.equal(redisClientCounters.redisClusterFailovers, 0, 'a moved slot is no failover');
  } finally {
    await store.close();
  }
});

test('a master killed: calls on its slots fail fast and coded, the same store serves again once its replica is promoted, replicated bindings intact', { timeout: 40_000 }, async () => {
  const aor = 'sip:failover@example.com';
  const store = await RedisLocationStore.connect(cluster.url, { prefix: 'failover:' });
  const binding = (contact: string): Binding => ({ aor, contact, expiresAt: Date.now() + 120_000, q: 1, callId: 'c', cseq: 1, source: { protocol: 'udp', address: '192.0.2.5', port: 5060 } });
  try {
    await store.put(binding('sip:failover@192.0.2.5'));
    await cluster.waitReplicated();
    const master = await cluster.masterOf(redisKeys.location('failover:', aor));
    const [replica] = await cluster.replicasOf(master.port);
    assert.ok(replica !== undefined, 'the master has a replica');
    const failoversBefore = redisClientCounters.redisClusterFailovers;
    const failuresBefore = redisClientCounters.redisCommandFailures;
    await master.kill();
    const killedAt = Date.now();
    let failed = 0;
    let slowest = 0;
    let recoveredAt: number | undefined;
    while (Date.now() - killedAt < 30_000) {
      const started = Date.now();
      try {
        const found = await store.lookup(aor, Date.now());
        assert.deepEqual(found.map((b) => b.contact), ['sip:failover@192.0.2.5'], 'the binding acknowledged and replicated before the kill');
        recoveredAt = Date.now();
        break;
      } catch (error) {
        assert.ok(error instanceof StateStoreError && error.code === 'ERR_SWITCHBOARD_STATE_UNAVAILABLE', String(error));
        failed++;
        slowest = Math.max(slowest, Date.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    assert.ok(recoveredAt !== undefined, 'the store served again within 30 s');
    assert.ok(slowest <= 3_000, `a failing call took ${slowest} ms (bound: the 2 s call deadline and scheduling)`);
    await store.put(binding('sip:failover@192.0.2.6'));
    assert.equal((await store.lookup(aor, Date.now())).length, 2, 'writes go to the promoted replica');
    // The node the harness asks may learn of the promotion (gossip) a moment after the client did.
    let owner: number | undefined;
    for (let i = 0; i < 50 && owner === undefined; i++) {
      owner = await cluster.masterOf(redisKeys.location('failover:', aor)).then((node) => node.port, () => undefined);
      if (owner === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(owner, replica.port, 'the replica was promoted');
    assert.ok(redisClientCounters.redisCommandFailures - failuresBefore >= failed);
    // The refresh that shows the promotion may end just after the call that succeeded.
    for (let i = 0; i < 60 && redisClientCounters.redisClusterFailovers === failoversBefore; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(redisClientCounters.redisClusterFailovers > failoversBefore, 'the failover was counted');
    console.log(`failover: store unavailable for ${recoveredAt - killedAt} ms (${failed} failed calls, slowest ${slowest} ms)`);
  } finally {
    await store.close();
  }
});
