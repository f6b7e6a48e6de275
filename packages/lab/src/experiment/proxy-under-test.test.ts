import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serveArguments } from './proxy-under-test.js';
import type { ExperimentPoint } from './experiment-record.js';

const POINT: ExperimentPoint = { model: 'process-pool', workers: 2, state: 'redis', fdCache: 0, idleStrategy: 'heap', transport: 'tcp', connection: 'persistent', calleeConnection: 'persistent', clients: 10 };

test('extras become serve flags: a value, a bare flag for true ("true" from YAML too), nothing for false', () => {
  const args = serveArguments(POINT, 5060, 9090, 'redis://127.0.0.1:6379', { overload: 'on', 'fd-request-wait': 'true', 'idle-timeout': 120, stateless: false, tls: 'false' });
  assert.deepEqual(args.slice(args.indexOf('--redis-url') + 2), ['--overload', 'on', '--fd-request-wait', '--idle-timeout', '120']);
  assert.deepEqual(args.slice(args.indexOf('--workers'), args.indexOf('--workers') + 2), ['--workers', '2']);
});
