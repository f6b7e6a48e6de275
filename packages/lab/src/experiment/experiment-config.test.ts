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
