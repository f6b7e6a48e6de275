import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LoadStats, mergeSnapshots, windowCallsLimitMs } from './load-stats.js';

test('counts before the window are dropped; counts in it add up across processes', () => {
  const a = new LoadStats();
  a.callsCompleted = 5;
  a.failure('timeout:INVITE');
  a.startWindow();
  a.callsCompleted = 10;
  a.inviteOperations = 11;
  a.byeOperations = 10;
  a.callsFailed = 1;
  a.failure('status:503');
  const b = new LoadStats();
  b.startWindow();
  b.callsCompleted = 4;
  b.failure('status:503');
  b.failure('timeout:BYE');
  const { totals } = mergeSnapshots([a.snapshot(), b.snapshot()]);
  assert.equal(totals.callsCompleted, 14);
  assert.equal(totals.inviteOperations, 11);
  assert.deepEqual(totals.failures, { 'status:503': 2, 'timeout:BYE': 1 });
});

test('merged latency percentiles are those of all samples together', () => {
  const realNow = performance.now;
  const processes = [new LoadStats(), new LoadStats()];
  for (const stats of processes) stats.startWindow();
  // Process 0 sees 1..500 ms, process 1 sees 501..1000 ms.
  let clock = 0;
  (performance as { now: () => number }).now = () => clock;
  try {
    for (let ms = 1; ms <= 1000; ms++) {
      clock = ms;
      (processes[ms <= 500 ? 0 : 1] as LoadStats).latency('invite-200', 0);
    }
  } finally {
    (performance as { now: () => number }).now = realNow;
  }
  const { latencyMs } = mergeSnapshots(processes.map((stats) => stats.snapshot()));
  const setup = latencyMs['invite-200'];
  assert.ok(setup !== undefined);
  assert.equal(setup.count, 1000);
  assert.ok(Math.abs(setup.p50 - 500) <= 1, `p50 ${setup.p50}`);
  assert.ok(Math.abs(setup.p99 - 990) <= 1, `p99 ${setup.p99}`);
  assert.ok(Math.abs(setup.max - 1000) <= 1, `max ${setup.max}`);
  assert.ok(Math.abs(setup.min - 1) <= 0.01, `min ${setup.min}`);
  assert.equal(latencyMs['bye-200'], undefined, 'kinds never seen are left out');
});

test('a call that started in the window counts after the window ends; one that started before it does not', () => {
  const stats = new LoadStats();
  const before = performance.now() - 5;
  const warmupCall = stats.measuring;
  stats.startWindow();
  const windowCall = stats.measuring;
  stats.measuring = false;
  // Both end after the window: only the one started in it is recorded.
  stats.latency('invite-200', before, warmupCall);
  stats.failure('timeout:BYE', warmupCall);
  stats.latency('invite-200', before, windowCall);
  stats.failure('status:500', windowCall);
  stats.latency('register', before, false);
  const { totals, latencyMs } = mergeSnapshots([stats.snapshot()]);
  assert.equal(latencyMs['invite-200']?.count, 1);
  assert.equal(latencyMs.register?.count, 1, 'registrations always count');
  assert.deepEqual(totals.failures, { 'status:500': 1 });
});

test('the wait for the window\'s calls is bounded by what a call can take', () => {
  assert.equal(windowCallsLimitMs({ timeoutMs: 5000, holdMs: 0 }), 21_000);
  assert.equal(windowCallsLimitMs({ timeoutMs: 300, holdMs: 2000 }), 4200);
});
