import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisTestServer } from '@switchboard/testkit/redis-server';
import { parseMessage } from '@switchboard/sip';
import { startProxy } from '../interop/harness.js';
import { sipRequest, UdpClient } from './test-phones.js';

/**
 * A bug the core catches at an entry point (`switchboard:internal-error`) is counted and answered
 * 500 in every model, and `serve` logs it at error level with its stack, whichever process or
 * thread hit it: the pools' workers pass it to the supervisor, which logs it as the event-loop
 * does. The bug is real: a binding whose contact is not a string (data in Redis the core trusts)
 * makes the location step throw in its store callback. Real proxy processes and a real redis-server.
 */

const MODELS: ReadonlyArray<{ readonly name: string; readonly args: readonly string[] }> = [
  { name: 'event-loop', args: ['--model', 'event-loop'] },
  { name: 'process-pool', args: ['--model', 'process-pool', '--workers', '2'] },
  { name: 'thread-pool', args: ['--model', 'thread-pool', '--workers', '2'] },
  { name: 'io-dispatch', args: ['--model', 'io-dispatch', '--workers', '2', '--transactions', 'shared'] },
];

/** Rewrites every binding of `user` in Redis with a contact that is a number. */
async function corruptBindings(redis: Redis, user: string): Promise<number> {
  let corrupted = 0;
  for (const key of await redis.keys(`*loc:*${user}*`)) {
    for (const [contact, json] of Object.entries(await redis.hgetall(key))) {
      await redis.hset(key, contact, JSON.stringify({ ...(JSON.parse(json) as object), contact: 123 }));
      corrupted++;
    }
  }
  return corrupted;
}

describe('internal errors are logged by serve in every model', { concurrency: false, timeout: 180_000 }, () => {
  let server: RedisTestServer;
  let redis: Redis;
  before(async () => {
    server = await startRedisServer();
    redis = new Redis(server.url);
  });
  after(async () => {
    redis.disconnect();
    await server.stop();
  });

  for (const model of MODELS) {
    test(`${model.name}: the request is answered 500 and the bug logged at error level with its stack`, async () => {
      const proxy = await startProxy(['--domain', 'example.com', '--state', 'redis', '--redis-url', server.url, ...model.args], 30_000);
      const client = new UdpClient();
      await client.open();
      const statuses: number[] = [];
      client.socket.on('message', (bytes) => {
        const message = parseMessage(bytes);
        if (message.isResponse) statuses.push(message.status ?? 0);
      });
      try {
        const user = `bug-${model.name}`;
        const local = `127.0.0.1:${client.socket.address().port}`;
        client.send(proxy.udpPort, sipRequest('REGISTER', 'sip:example.com', { via: `SIP/2.0/UDP ${local}`, from: `sip:${user}@example.com`, to: `sip:${user}@example.com`, extra: [`Contact: <sip:${user}@${local}>`, 'Expires: 300'] }));
        const deadline = Date.now() + 10_000;
        while (!statuses.includes(200) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
        assert.ok(statuses.includes(200), 'registered');
        assert.ok((await corruptBindings(redis, user)) > 0, 'a binding to corrupt');
        statuses.length = 0;
        client.send(proxy.udpPort, sipRequest('OPTIONS', `sip:${user}@example.com`, { via: `SIP/2.0/UDP ${local}` }));
        const logged = (): Record<string, unknown> | undefined => proxy.lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((entry) => entry.msg === 'internal error');
        while ((!statuses.some((status) => status >= 200) || logged() === undefined) && Date.now() < deadline + 10_000) await new Promise((resolve) => setTimeout(resolve, 20));
        assert.equal(statuses.find((status) => status >= 200), 500);
        const entry = logged() as { level: number; worker: number; error: { name: string; message: string; stack: string } } | undefined;
        assert.ok(entry !== undefined, `an "internal error" line in the log: ${proxy.lines.join('\n')}`);
        assert.equal(entry.level, 50);
        assert.equal(entry.error.name, 'TypeError');
        assert.match(entry.error.stack, /TypeError[\s\S]*\n\s+at /);
        assert.equal(typeof entry.worker, 'number');
      } finally {
        client.close();
        await proxy.stop();
      }
    });
  }
});
