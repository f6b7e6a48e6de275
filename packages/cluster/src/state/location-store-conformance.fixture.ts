import assert from 'node:assert/strict';
import type { Binding } from '@switchboard/core';
import { connectRedis, closeRedis } from './redis-connection.js';
import { RedisLocationStore } from './redis-location-store.js';

/**
 * What the Redis location store must do on any `--redis-url` (one server or a Redis Cluster): run
 * by redis-location-store.test.ts and redis-cluster-stores.test.ts.
 */

function binding(contact: string, expiresAt: number, q = 1, aor = 'sip:bob@example.com'): Binding {
  return { aor, contact, expiresAt, q, callId: 'c1', cseq: 1, source: { protocol: 'udp', address: '192.0.2.1', port: 5060 } };
}

/** Bindings put by one store are seen by another (two instances sharing registrations). */
export async function sharedBindings(url: string): Promise<void> {
  const first = await RedisLocationStore.connect(url, { prefix: 'share:' });
  const second = await RedisLocationStore.connect(url, { prefix: 'share:' });
  try {
    const now = Date.now();
    await first.put(binding('sip:bob@192.0.2.20', now + 60_000, 0.5));
    await first.put(binding('sip:bob@192.0.2.21', now + 60_000, 0.9));
    const seen = await second.lookup('sip:bob@example.com', now);
    assert.deepEqual(seen.map((b) => b.contact), ['sip:bob@192.0.2.21', 'sip:bob@192.0.2.20']);
    assert.deepEqual(seen[0]?.source, { protocol: 'udp', address: '192.0.2.1', port: 5060 });
    assert.equal(await second.size(now), 2);
    await second.remove('sip:bob@example.com', 'sip:bob@192.0.2.21');
    assert.equal((await first.lookup('sip:bob@example.com', now)).length, 1);
    await first.removeAll('sip:bob@example.com');
    assert.deepEqual(await second.lookup('sip:bob@example.com', now), []);
    // Many AORs (on a cluster: spread over every master): size counts them all.
    for (let i = 0; i < 40; i++) await first.put(binding(`sip:user${i}@192.0.2.30`, now + 60_000, 1, `sip:user${i}@example.com`));
    assert.equal(await second.size(now), 40);
    for (let i = 0; i < 40; i++) await first.removeAll(`sip:user${i}@example.com`);
    assert.equal(await second.size(now), 0);
  } finally {
    await first.close();
    await second.close();
  }
}

/** Lapsed bindings are skipped and deleted; the key expires with its last binding. */
export async function lapsedBindings(url: string): Promise<void> {
  const store = await RedisLocationStore.connect(url, { prefix: 'lapse:' });
  try {
    const now = Date.now();
    await store.put(binding('sip:bob@192.0.2.30', now + 1_000));
    await store.put(binding('sip:bob@192.0.2.31', now + 300));
    assert.equal((await store.lookup('sip:bob@example.com', now + 500)).length, 1);
    assert.equal((await store.lookup('sip:bob@example.com', now)).length, 1, 'the lapsed one was deleted when met');
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    assert.equal(await store.size(Date.now()), 0);
    const raw = await connectRedis(url);
    try {
      assert.equal(await raw.exists('lapse:loc:{sip:bob@example.com}'), 0, 'Redis expired the key itself');
    } finally {
      await closeRedis(raw);
    }
  } finally {
    await store.close();
  }
}
