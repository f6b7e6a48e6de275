import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BenchResult } from '@switchboard/bench';
import type { ExperimentPoint } from './experiment-record.js';
import { FOREIGN_LOAD_LIMIT_PERCENT, foreignLoadReason, generatorSideFailures, invalidReasons, runForeignPercent, windowChecks, windowNeeded } from './run-validity.js';

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

test('per-ops:500 in an 8 s window of 10,000 operations: 20 reconnections implied, not contained, with the window it needed', () => {
  const [check] = windowChecks(POINT, result({ operations: 10_000, accepted: 0 }));
  assert.equal(check?.expected, 20);
  assert.equal(check?.contains, false);
  assert.equal(check?.neededSeconds, 20, '8 s × 50 / 20');
  assert.match(invalidReasons(POINT, result({ operations: 10_000, accepted: 0 }))[0]!, /^window: caller per-ops:500 over 1000 phones needs 50 reconnections and at least half of them counted by the proxy; the window's operations imply 20 and the proxy counted 0/);
  assert.equal(windowChecks(POINT, result({ operations: 10_000 }), 10)[0]?.contains, true, 'a smaller minimum from the config');
});

test('contained when the operations imply enough reconnections and the proxy saw half of them, however many phones', () => {
  // 80,000 operations at per-ops:500: 160 reconnections, far fewer than the 1,000 phones.
  assert.deepEqual(invalidReasons(POINT, result({ operations: 80_000, accepted: 150 })), []);
  assert.deepEqual(invalidReasons(POINT, result({ operations: 80_000, accepted: 80 })), [], 'half is enough');
  assert.match(invalidReasons(POINT, result({ operations: 80_000, accepted: 79 }))[0]!, /the proxy counted 79/);
  assert.deepEqual(windowChecks({ ...POINT, transport: 'udp' }, result({ operations: 10 })), []);
  assert.deepEqual(windowChecks({ ...POINT, connection: 'persistent' }, result({ operations: 10 })), []);
});

test('the generator is held against its budget summed over its processes; Redis against one core', () => {
  assert.match(invalidReasons({ ...POINT, connection: 'persistent' }, result({ operations: 1, generator: [60, 50] }))[0]!, /generator: 110% summed over 2 process\(es\), above 90% of its 1 core/);
  assert.match(invalidReasons({ ...POINT, connection: 'persistent' }, result({ operations: 1, generator: [95] }))[0]!, /generator: a process at 95%/);
  assert.deepEqual(invalidReasons({ ...POINT, connection: 'persistent' }, result({ operations: 1, generator: [60, 50], budgetCores: 2 })), []);
  assert.match(invalidReasons({ ...POINT, connection: 'persistent' }, result({ operations: 1, redis: 97 }))[0]!, /redis: 97%/);
});

test('an open-loop step knows its window in advance, whatever the number of phones', () => {
  // 50 reconnections × 500 operations each / 4,000 operations a second.
  assert.equal(windowNeeded(POINT, 2000, 2), 6.25);
  assert.equal(windowNeeded({ ...POINT, connection: 'per-ops:50' }, 100, 2), 12.5);
  assert.equal(windowNeeded({ ...POINT, connection: 'per-ops:50' }, 100, 2, 20), 5);
  assert.equal(windowNeeded({ ...POINT, connection: 'persistent' }, 100, 2), 0);
});

/** A result whose CPUs were busy as given, the proxy and its Redis using what is given. */
function cpuRun(busy: Record<string, number>, proxy: number, redis: number): BenchResult {
  return { cpus: { busyPercent: busy, stealPercent: {} }, proxy: { processes: [], cpuPercentTotal: proxy }, observed: [{ pid: 1, role: 'redis', cpuPercent: redis, cpuPercentMax: redis, rssBytesMax: 0 }] } as unknown as BenchResult;
}

test('what the proxy and Redis do not account for on the proxy CPUs is foreign; the generator CPUs do not count', () => {
  assert.equal(runForeignPercent(cpuRun({ 0: 95, 1: 100 }, 80, 12), '0'), 3);
  assert.equal(runForeignPercent(cpuRun({ 0: 60, 1: 40 }, 50, 0), '0-1'), 50, 'a list sums its CPUs');
  assert.equal(runForeignPercent(cpuRun({ 0: 90, 1: 0 }, 90.4, 0.2), '0'), 0, 'sampling jitter below zero reads as none');
});

test('no foreign figure without the CPUs, the budget or the proxy', () => {
  assert.equal(runForeignPercent(cpuRun({ 1: 50 }, 10, 0), '0'), undefined, 'the proxy CPU was not recorded');
  assert.equal(runForeignPercent(cpuRun({ 0: 50 }, 10, 0), undefined), undefined);
  assert.equal(runForeignPercent({ proxy: { processes: [], cpuPercentTotal: 1 } } as unknown as BenchResult, '0'), undefined, 'an older record');
});

test('other load on the proxy CPUs above the limit makes a run invalid, only where the proxy CPUs are given', () => {
  // E2's contaminated runs: CPU 0 95% busy, the proxy 36% and its Redis 18%.
  const contaminated = { ...result({ operations: 80_000 }), ...cpuRun({ 0: 94.9, 1: 33 }, 35.8, 18) } as BenchResult;
  const persistent = { ...POINT, connection: 'persistent' };
  assert.match(foreignLoadReason(contaminated, '0')!, /^foreign load: the proxy's CPUs \(0\) were 41% of a core busy beyond the proxy and its Redis \(limit 10%\)/);
  assert.deepEqual(invalidReasons(persistent, contaminated, undefined, '0'), [foreignLoadReason(contaminated, '0')]);
  assert.deepEqual(invalidReasons(persistent, contaminated), [], 'a run without a budget (or a quick one) shares its CPUs by design');
  const atLimit = { ...result({ operations: 80_000 }), ...cpuRun({ 0: 70 + FOREIGN_LOAD_LIMIT_PERCENT, 1: 33 }, 60, 10) } as BenchResult;
  assert.equal(foreignLoadReason(atLimit, '0'), undefined, 'the limit itself is allowed');
  assert.match(foreignLoadReason({ ...atLimit, cpus: { busyPercent: { 0: 80.5, 1: 33 }, stealPercent: {} } } as BenchResult, '0')!, /were 11% of a core/, 'just above it is not');
});

test('a registration run whose connections failed on the generator\'s own side is invalid; the proxy\'s refusals are not', () => {
  const scale: ExperimentPoint = { ...POINT, connection: 'persistent', clients: 19000 };
  const run = (openFailures: Record<string, number>, failures: Record<string, number> = {}): BenchResult => ({ ...result({ operations: 1000 }), failures, registration: { workload: 'scale', openFailures, probes: [] } }) as unknown as BenchResult;
  // E5's first sitting: 5,768 of 19,000 connects failed for want of local ports, and nobody said.
  const starved = run({ 'connect:EADDRNOTAVAIL': 5768 }, { 'connect:EADDRNOTAVAIL': 3 });
  assert.deepEqual(generatorSideFailures(starved), { total: 5771, codes: ['EADDRNOTAVAIL: 5771'] });
  assert.ok(invalidReasons(scale, starved).some((reason) => /^generator: 5771 connection\(s\) failed on the generator's own side \(EADDRNOTAVAIL: 5771\)/.test(reason)));
  // The thread-pool's full table (503) and connections the proxy closed or refused are the proxy's.
  const proxyLimited = run({ 'status:503': 2192, closed: 424, connect: 10 });
  assert.equal(generatorSideFailures(proxyLimited).total, 0);
  assert.deepEqual(invalidReasons(scale, proxyLimited), []);
  // REGISTERs not sent because every phone still waited for the proxy's answer are the proxy's.
  assert.deepEqual(invalidReasons(scale, run({}, { 'not-sent:clients-waiting': 12, 'status:503': 40 })), []);
});
