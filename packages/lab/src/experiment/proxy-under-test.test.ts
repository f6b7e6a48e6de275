import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { descendants } from '@switchboard/bench';
import { startRedisServer } from '@switchboard/testkit/redis-server';
import { parseExperimentConfig } from './experiment-config.js';
import { preparePointSecurity } from './point-security.js';
import { serveArguments, startProxyUnderTest } from './proxy-under-test.js';
import type { ExperimentPoint } from './experiment-record.js';

const BIN = fileURLToPath(new URL('../../../cli/bin/switchboard.js', import.meta.url));

const POINT: ExperimentPoint = { model: 'process-pool', workers: 2, state: 'redis', fdCache: 0, idleStrategy: 'heap', transport: 'tcp', connection: 'persistent', calleeConnection: 'persistent', clients: 10 };

test('extras become serve flags: a value, a bare flag for true ("true" from YAML too), nothing for false', () => {
  const args = serveArguments(POINT, 5060, 9090, 'redis://127.0.0.1:6379', { overload: 'on', 'fd-request-wait': 'true', 'idle-timeout': 120, stateless: false, tls: 'false' });
  assert.deepEqual(args.slice(args.indexOf('--redis-url') + 2), ['--overload', 'on', '--fd-request-wait', '--idle-timeout', '120']);
  assert.deepEqual(args.slice(args.indexOf('--workers'), args.indexOf('--workers') + 2), ['--workers', '2']);
});

test("node-flags reach the proxy's node and its pool's worker processes, and are no serve flag", { timeout: 60_000 }, async () => {
  const redis = await startRedisServer();
  const point: ExperimentPoint = { ...POINT, extra: { 'node-flags': '--max-semi-space-size=32 --single-threaded-gc' } };
  const security = await preparePointSecurity(point, 1);
  const proxy = await startProxyUnderTest({ switchboardBin: BIN, point, redisUrl: redis.url, serve: security.serve });
  try {
    assert.equal(proxy.args.includes('--node-flags'), false);
    const commandLine = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    assert.deepEqual(commandLine(proxy.pid).slice(1, 3), ['--max-semi-space-size=32', '--single-threaded-gc']);
    const workers = await descendants(proxy.pid);
    assert.equal(workers.length >= 2, true, `two worker processes, found ${workers.length}`);
    for (const pid of workers) assert.deepEqual(commandLine(pid).slice(1, 3), ['--max-semi-space-size=32', '--single-threaded-gc'], `worker ${pid}`);
  } finally {
    await proxy.stop();
    await security.remove();
    await redis.stop();
  }
});

test('a bad node-flags value stops the config before anything runs', () => {
  assert.throws(() => parseExperimentConfig({ id: 't1', title: 'test', matrix: { clients: [5] }, extra: { 'node-flags': ['none', '--require=./x.js'] } }, 't1.yaml'), /t1\.yaml: extra\.node-flags: "--require=\.\/x\.js" would run other code/);
});
