import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { transactionStoreConformance } from '@switchboard/core/transaction-store-conformance';
import { startRedisServer, type RedisTestServer } from '@switchboard/testkit/redis-server';
import { Redis } from 'ioredis';
import { RedisTransactionStore, transactionBucket } from './redis-transaction-store.js';
import { StateStoreError } from './state-store-error.js';

let server: RedisTestServer;
before(async () => {
  server = await startRedisServer();
});
after(async () => {
  await server.stop();
});

const prefixes = new WeakMap<RedisTransactionStore, string>();
let opened = 0;

transactionStoreConformance(
  'Redis (process-pool, several instances)',
  {
    open: async () => {
      const prefix = `conformance${opened++}:`;
      const store = await RedisTransactionStore.connect(server.url, { prefix });
      prefixes.set(store, prefix);
      return store;
    },
    peer: async (store) => RedisTransactionStore.connect(server.url, { prefix: prefixes.get(store as RedisTransactionStore) ?? '' }),
  },
  // Fewer than the Map's and the table's: each listing of lapsed leases is 256 scripts, one per bucket.
  { runs: 60 },
);

test('the key layout: a hash per transaction and its bucket index under one hash tag, the hash expiring at expiresAt', async () => {
  const store = await RedisTransactionStore.connect(server.url, { prefix: 'layout:' });
  const raw = new Redis(server.url);
  try {
    const key = 'z9hG4bK-74bf9|192.0.2.4:5060|INVITE';
    const expiresAt = Date.now() + 32_000;
    await store.create({ key, side: 'server', invite: true, state: 'proceeding', branch: 'z9hG4bK-74bf9', expiresAt, timers: { C: Date.now() + 181_000 }, lease: { owner: 'w1', until: 5000 } });
    await store.addBranch(key, { branch: 'z9hG4bK-sb1', target: 'udp:198.51.100.9:5060', state: 'calling', status: 0 });
    const bucket = transactionBucket(key);
    const hash = `layout:tx:{${bucket}}:${key}`;
    assert.deepEqual(await raw.keys('layout:*').then((keys) => keys.sort()), [hash, `layout:txlease:{${bucket}}`].sort());
    const fields = await raw.hgetall(hash);
    assert.equal(fields.state, 'proceeding');
    assert.equal(fields.owner, 'w1');
    assert.ok(fields['t:C'] !== undefined);
    assert.deepEqual(JSON.parse(fields['b:z9hG4bK-sb1'] ?? 'null'), [1, 'udp:198.51.100.9:5060', 'calling', 0]);
    assert.equal(await raw.pexpiretime(hash), expiresAt, 'the hash expires at the record\'s expiresAt');
    assert.equal(await raw.zscore(`layout:txlease:{${bucket}}`, key), '5000');
    assert.equal(await store.delete(key), true);
    assert.equal(await raw.zscore(`layout:txlease:{${bucket}}`, key), null, 'delete drops the index entry');
  } finally {
    raw.disconnect();
    await store.close();
  }
});

test('index entries of hashes that expired are dropped when lapsed leases are listed', async () => {
  const store = await RedisTransactionStore.connect(server.url, { prefix: 'dangling:' });
  const raw = new Redis(server.url);
  try {
    await store.create({ key: 'gone', side: 'client', invite: false, state: 'trying', branch: 'b', expiresAt: Date.now() + 100 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(await store.expiredLeases(Date.now(), 10), []);
    assert.equal(await raw.zcard(`dangling:txlease:{${transactionBucket('gone')}}`), 0);
  } finally {
    raw.disconnect();
    await store.close();
  }
});

test('with Redis gone, every operation fails with ERR_SWITCHBOARD_STATE_UNAVAILABLE, and works again when it returns', async () => {
  const own = await startRedisServer();
  const store = await RedisTransactionStore.connect(own.url, { prefix: 'outage:' });
  try {
    await own.kill();
    const unavailable = (error: StateStoreError): boolean => error.code === 'ERR_SWITCHBOARD_STATE_UNAVAILABLE';
    await assert.rejects(store.create({ key: 'k', side: 'server', invite: false, state: 'trying', branch: 'b', expiresAt: Date.now() + 60_000 }), unavailable);
    await assert.rejects(store.get('k'), unavailable);
    await assert.rejects(store.expiredLeases(Date.now(), 10), unavailable);
    await own.restart();
    let created = false;
    for (let attempt = 0; attempt < 50 && !created; attempt++) {
      created = await store.create({ key: 'k', side: 'server', invite: false, state: 'trying', branch: 'b', expiresAt: Date.now() + 60_000 }).then((outcome) => outcome.ok, () => false);
      if (!created) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(created, true, 'the store reconnects by itself');
  } finally {
    await store.close();
    await own.stop();
  }
});
