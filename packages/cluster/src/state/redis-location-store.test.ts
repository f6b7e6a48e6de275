import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startRedisServer, type RedisTestServer } from '@switchboard/testkit/redis-server';
import { lapsedBindings, sharedBindings } from './location-store-conformance.fixture.js';
import { RedisLocationStore } from './redis-location-store.js';

let server: RedisTestServer;
before(async () => {
  server = await startRedisServer();
});
after(async () => {
  await server.stop();
});

test('bindings put by one store are seen by another (two instances sharing registrations)', async () => {
  await sharedBindings(server.url);
});

test('lapsed bindings are skipped and deleted; the key expires with its last binding', async () => {
  await lapsedBindings(server.url);
});

test('an unreachable Redis is a clear error naming the URL', async () => {
  await assert.rejects(RedisLocationStore.connect('redis://127.0.0.1:1', { connectTimeoutMs: 500 }), /Redis at redis:\/\/127\.0\.0\.1:1 is not reachable/);
});
