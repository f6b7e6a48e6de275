import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { startRedisServer, type RedisTestServer } from '@switchboard/testkit/redis-server';
import { freePort, runSipp, startProxy } from '../interop/harness.js';
import { sipRequest, UdpClient } from './test-phones.js';

/** Registrations in Redis: start-up and run-time failures, recovery, and two instances sharing it. */

const BIN = fileURLToPath(new URL('../../../packages/cli/bin/switchboard.js', import.meta.url));

function startRedis(port?: number): Promise<RedisTestServer> {
  return startRedisServer(port);
}

async function register(client: UdpClient, port: number, user: string): Promise<{ status: number; retryAfter: string | undefined }> {
  const callId = `reg-${user}-${Math.random().toString(36).slice(2)}`;
  const answers: Array<{ status: number; retryAfter: string | undefined }> = [];
  const listener = (bytes: Buffer): void => {
    const text = bytes.toString('latin1');
    if (!text.includes(callId)) return;
    const status = Number(text.slice(8, 11));
    if (status >= 200) answers.push({ status, retryAfter: /\r\nRetry-After: *(\d+)/i.exec(text)?.[1] });
  };
  client.socket.on('message', listener);
  try {
    client.send(port, sipRequest('REGISTER', 'sip:example.com', { via: client.via, callId, from: `sip:${user}@example.com`, to: `sip:${user}@example.com`, extra: [`Contact: <sip:${user}@127.0.0.1:9>`, 'Expires: 60'] }));
    const deadline = Date.now() + 5000;
    while (answers.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    return answers[0] ?? { status: 0, retryAfter: undefined };
  } finally {
    client.socket.off('message', listener);
  }
}

test('Redis unreachable at start: serve exits 1 with a coded message naming --redis-url', async () => {
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, 'serve', '--listen', 'udp:127.0.0.1:0', '--model', 'process-pool', '--workers', '2', '--redis-url', `redis://127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 1);
  assert.match(stderr, /ERR_SWITCHBOARD_STATE_UNAVAILABLE/);
  assert.match(stderr, /--redis-url/);
});

for (const model of [['--model', 'event-loop', '--state', 'redis'], ['--model', 'process-pool', '--workers', '2']]) {
  test(`Redis lost at run time (${model[1]}): 503 with Retry-After while it is gone, registrations work again when it returns`, { timeout: 60_000 }, async () => {
    let redis = await startRedis();
    const proxy = await startProxy(['--domain', 'example.com', '--redis-url', redis.url, ...model]);
    const client = new UdpClient();
    await client.open();
    try {
      assert.equal((await register(client, proxy.udpPort, 'alice')).status, 200);
      await redis.stop();
      const during = await register(client, proxy.udpPort, 'alice');
      assert.equal(during.status, 503);
      assert.equal(during.retryAfter, '5');
      redis = await startRedis(redis.port);
      const deadline = Date.now() + 15_000;
      let after = await register(client, proxy.udpPort, 'alice');
      while (after.status !== 200 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        after = await register(client, proxy.udpPort, 'alice');
      }
      assert.equal(after.status, 200, 'the proxy recovers by itself');
    } finally {
      client.close();
      assert.equal(await proxy.stop(), 0);
      await redis.stop();
    }
  });
}

test('two instances on different ports share one Redis: a phone registered on one is called through the other', { timeout: 60_000 }, async () => {
  const redis = await startRedis();
  // Whatever started is stopped, even when a later start fails (a leaked proxy or redis-server
  // would keep the test process alive).
  const started: Array<{ stop: () => Promise<unknown> }> = [redis];
  try {
    const first = await startProxy(['--domain', 'example.com', '--state', 'redis', '--redis-url', redis.url]);
    started.unshift(first);
    const second = await startProxy(['--domain', 'example.com', '--model', 'process-pool', '--workers', '2', '--redis-url', redis.url]);
    started.unshift(second);
    const calleePort = await freePort();
    const registration = runSipp([
      '-sf', 'register.xml', '-i', '127.0.0.1', '-p', '0', '-t', 'u1',
      '-key', 'domain', 'example.com', '-key', 'contact_port', String(calleePort), '-s', 'bob', '-m', '1',
      `127.0.0.1:${first.udpPort}`,
    ]);
    assert.equal((await registration.done).code, 0, 'bob registered on the first instance');
    const callee = runSipp(['-sf', 'uas-rr.xml', '-i', '127.0.0.1', '-p', String(calleePort), '-t', 'u1', '-m', '10']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const caller = runSipp([
      '-sf', 'uac-rr.xml', '-i', '127.0.0.1', '-p', '0', '-t', 'u1', '-key', 'target', 'example.com',
      '-s', 'bob', '-m', '10', '-r', '10', `127.0.0.1:${second.udpPort}`,
    ]);
    const result = await caller.done;
    assert.equal(result.code, 0, result.output.slice(-3000));
    assert.equal((await callee.done).code, 0);
  } finally {
    const codes = [];
    for (const running of started) codes.push(await running.stop());
    assert.deepEqual(codes.slice(0, -1), codes.slice(0, -1).map(() => 0), 'the proxies exit 0');
  }
});
