import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BenchResult } from '@switchboard/bench';
import type { ExperimentPoint } from './experiment-record.js';
import { invalidReasons, windowChecks, windowNeeded } from './run-validity.js';

const POINT: ExperimentPoint = { model: 'process-pool', workers: 2, state: 'redis', fdCache: 0, idleStrategy: 'heap', transport: 'tcp', connection: 'per-ops:500', calleeConnection: 'persistent', clients: 1000 };

function result(options: { operations: number; accepted?: number; generator?: number[]; redis?: number; budgetCores?: number }): BenchResult {
  const generator = options.generator ?? [40];
  return {
    settings: { clients: 1000, pairs: 1000 },
    machine: { cpusAllowed: '0-1', cores: 2 },
    windowSeconds: 8,
    operations: { total: options.operations },
    generator: { processes: generator.map((cpuPercent) => ({ cpuPercent })), saturated: false, thresholdPercent: 90, cpuPercentTotal: generator.reduce((a, b) => a + b, 0), budgetCores: options.budgetCores ?? 1 },
    ...(options.accepted === undefined ? {} : { proxyCounters: { switchboard_tcp_connections_accepted_total: options.accepted } }),
    ...(options.redis === undefined ? {} : { observed: [{ role: 'redis', cpuPercent: options.redis }] }),
  } as unknown as BenchResult;
}

test('per-ops:500 at 1000 clients in an 8 s window: not contained, with the window it needed', () => {
  const [check] = windowChecks(POINT, result({ operations: 80_000, accepted: 0 }));
  assert.equal(check?.expected, 160);
  assert.equal(check?.contains, false);
  assert.equal(check?.neededSeconds, 75, '8 s × 1.5 × 1000 / 160');
  assert.match(invalidReasons(POINT, result({ operations: 80_000, accepted: 0 }))[0]!, /^window: caller per-ops:500 over 1000 phones needs 1000 reconnections/);
});

test('contained when every phone reconnected and the proxy saw the accepts', () => {
  assert.deepEqual(invalidReasons(POINT, result({ operations: 1_000_000, accepted: 1990 })), []);
  assert.match(invalidReasons(POINT, result({ operations: 1_000_000, accepted: 10 }))[0]!, /the proxy counted 10/);
  assert.deepEqual(windowChecks({ ...POINT, transport: 'udp' }, result({ operations: 10 })), []);
  assert.deepEqual(windowChecks({ ...POINT, connection: 'persistent' }, result({ operations: 10 })), []);
});

test('the generator is held against its budget summed over its processes; Redis against one core', () => {
  assert.match(invalidReasons({ ...POINT, connection: 'persistent' }, result({ operations: 1, generator: [60, 50] }))[0]!, /generator: 110% summed over 2 process\(es\), above 90% of its 1 core/);
  assert.match(invalidReasons({ ...POINT, connection: 'persistent' }, result({ operations: 1, generator: [95] }))[0]!, /generator: a process at 95%/);
  assert.deepEqual(invalidReasons({ ...POINT, connection: 'persistent' }, result({ operations: 1, generator: [60, 50], budgetCores: 2 })), []);
  assert.match(invalidReasons({ ...POINT, connection: 'persistent' }, result({ operations: 1, redis: 97 }))[0]!, /redis: 97%/);
});

test('an open-loop step knows its window in advance', () => {
  assert.equal(windowNeeded(POINT, 1000, 2000, 2), 187.5);
  assert.equal(windowNeeded({ ...POINT, connection: 'per-ops:50' }, 100, 1000, 2), 3.75);
  assert.equal(windowNeeded({ ...POINT, connection: 'persistent' }, 100, 1000, 2), 0);
});
