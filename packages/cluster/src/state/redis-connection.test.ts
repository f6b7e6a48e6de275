import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startRedisServer, type RedisTestServer } from '@switchboard/testkit/redis-server';
import { closeRedis, connectRedis, redisCall, REDIS_CALL_DEADLINE_MS } from './redis-connection.js';

const servers: RedisTestServer[] = [];
after(async () => {
  for (const server of servers.splice(0)) await server.stop();
});

/** Keeps this thread busy for `ms`: what a process that is not scheduled (a loaded machine) looks like to its timers. */
function stall(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy
  }
}

test('a reply that arrived while the process was stalled past the deadline is read, not failed as a timeout', async () => {
  const server = await startRedisServer();
  servers.push(server);
  const client = await connectRedis(server.url);
  try {
    await client.set('k', 'v');
    const call = redisCall(() => client.get('k'));
    // The reply comes back within a millisecond; the deadline's timer is due before it is read.
    stall(REDIS_CALL_DEADLINE_MS + 300);
    assert.equal(await call, 'v');
  } finally {
    await closeRedis(client);
  }
});

test('a server that never answers still fails the call at the deadline, coded', async () => {
  const server = await startRedisServer();
  servers.push(server);
  const client = await connectRedis(server.url);
  const admin = await connectRedis(server.url);
  try {
    await admin.call('CLIENT', 'PAUSE', String(REDIS_CALL_DEADLINE_MS + 1500), 'ALL');
    const started = Date.now();
    await assert.rejects(
      redisCall(() => client.get('k')),
      (error: Error & { code?: string }) => error.code === 'ERR_SWITCHBOARD_STATE_UNAVAILABLE' && /took longer than/.test(error.message),
    );
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= REDIS_CALL_DEADLINE_MS - 50 && elapsed < REDIS_CALL_DEADLINE_MS + 1000, `failed after ${elapsed} ms`);
  } finally {
    await admin.call('CLIENT', 'UNPAUSE');
    await closeRedis(admin);
    await closeRedis(client);
  }
});
