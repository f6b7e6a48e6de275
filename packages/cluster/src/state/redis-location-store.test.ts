import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Binding } from '@switchboard/core';
import { Redis } from 'ioredis';
import { RedisLocationStore } from './redis-location-store.js';
import { startRedisServer, type RedisTestServer } from '@switchboard/testkit/redis-server';

let server: RedisTestServer;
before(async () => {
  server = await startRedisServer();
});
after(async () => {
  await server.stop();
});

function binding(contact: string, expiresAt: number, q = 1): Binding {
  return { aor: 'sip:bob@example.com', contact, expiresAt, q, callId: 'c1', cseq: 1, source: { protocol: 'udp', address: '192.0.2.1', port: 5060 } };
}

test('bindings put by one store are seen by another (two instances sharing registrations)', async () => {
  const first = await RedisLocationStore.connect(server.url, { prefix: 'share:' });
  const second = await RedisLocationStore.connect(server.url, { prefix: 'share:' });
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
  } finally {
    await first.close();
    await second.close();
  }
});

test('lapsed bindings are skipped and deleted; the key expires with its last binding', async () => {
  const store = await RedisLocationStore.connect(server.url, { prefix: 'lapse:' });
  try {
    const now = Date.now();
    await store.put(binding('sip:bob@192.0.2.30', now + 1_000));
    await store.put(binding('sip:bob@192.0.2.31', now + 300));
    assert.equal((await store.lookup('sip:bob@example.com', now + 500)).length, 1);
    assert.equal((await store.lookup('sip:bob@example.com', now)).length, 1, 'the lapsed one was deleted when met');
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    assert.equal(await store.size(Date.now()), 0);
    const raw = new Redis(server.url);
    try {
      assert.equal(await raw.exists('lapse:loc:sip:bob@example.com'), 0, 'Redis expired the key itself');
    } finally {
      raw.disconnect();
    }
  } finally {
    await store.close();
  }
});

test('an unreachable Redis is a clear error naming the URL', async () => {
  await assert.rejects(RedisLocationStore.connect('redis://127.0.0.1:1', { connectTimeoutMs: 500 }), /Redis at redis:\/\/127\.0\.0\.1:1 is not reachable/);
});
