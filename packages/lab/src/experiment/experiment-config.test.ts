import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseExperimentConfig } from './experiment-config.js';
import { experimentPoints } from './experiment-matrix.js';
import type { ExperimentPoint } from './experiment-record.js';
import { serveArguments } from './proxy-under-test.js';

const config = (matrix: Record<string, unknown>) => parseExperimentConfig({ id: 't1', title: 'test', matrix }, 't1.yaml');

test('model: io-dispatch is taken, with Redis as its only state; its proxy runs with --transactions shared', () => {
  const points = experimentPoints(config({ model: ['io-dispatch'], workers: [2], state: ['default', 'local', 'sab'], 'fd-cache': [0, 8], transport: ['udp'], clients: [5] }));
  assert.deepEqual(points.map((point) => `${point.model}/${point.workers}/${point.state}/${point.fdCache}`), ['io-dispatch/2/redis/0']);
  const args = serveArguments(points[0] as ExperimentPoint, 5060, 9090, 'redis://127.0.0.1:6379', {});
  assert.deepEqual(args.slice(args.indexOf('--transactions'), args.indexOf('--transactions') + 2), ['--transactions', 'shared']);
  assert.equal(args[args.indexOf('--model') + 1], 'io-dispatch');
  assert.throws(() => config({ model: ['io-pool'], clients: [5] }), /matrix\.model: must be one of event-loop, process-pool, thread-pool, io-dispatch, not io-pool/);
});

test('bench.keepalive: phones\' CRLF keep-alive seconds, absent unless given (so configs without it keep their settings)', () => {
  const parse = (bench: Record<string, unknown>) => parseExperimentConfig({ id: 't1', title: 'test', bench, matrix: { clients: [5] } }, 't1.yaml');
  assert.equal(parse({ keepalive: 7 }).bench.keepaliveSeconds, 7);
  assert.equal('keepaliveSeconds' in parse({}).bench, false);
  assert.throws(() => parse({ keepalive: 0 }), /bench\.keepalive: expected a positive number/);
});

test('extra.retry-after: what the registration phones do with a 503\'s Retry-After, for the generator only', async () => {
  const parse = (workload: Record<string, unknown>, values: string[]) => parseExperimentConfig({ id: 't1', title: 'test', workload, matrix: { transport: ['tcp'], clients: [5] }, extra: { 'retry-after': values } }, 't1.yaml');
  const points = experimentPoints(parse({ kind: 'registration' }, ['ignore', 'honour']));
  assert.deepEqual(points.map((point) => point.extra?.['retry-after']), ['ignore', 'honour']);
  const { retryAfterOf } = await import('./registration-workload.js');
  assert.deepEqual(points.map((point) => retryAfterOf(point)), ['ignore', 'honour']);
  assert.equal(retryAfterOf({ ...(points[0] as ExperimentPoint), extra: {} }), 'ignore', 'absent: ignore');
  const { preparePointSecurity } = await import('./point-security.js');
  const security = await preparePointSecurity(points[1] as ExperimentPoint, 5);
  assert.equal('retry-after' in security.serve, false, 'not a serve flag');
  await security.remove();
  assert.throws(() => parse({ kind: 'registration' }, ['obey']), /extra\.retry-after: what phones do with a 503's Retry-After: ignore or honour, not obey/);
  assert.throws(() => parse({ kind: 'scale', 'probe-rates': [83] }, ['honour']), /extra\.retry-after: only the registration workload's phones take it/);
});
