import { test } from 'node:test';
import assert from 'node:assert/strict';
import { machineFacts } from '@switchboard/sip/machine-facts';
import { probeSpeed, speedSpread } from './speed-probe.js';

test('the speed probe times its fixed workload on the given CPUs', () => {
  // The first CPU this process may use: a cpuset (a container, a held shell) need not hold CPU 0.
  const cpu = machineFacts().cpusAllowed.split(/[,-]/)[0] ?? '0';
  const ms = probeSpeed(cpu);
  assert.ok(ms !== undefined && ms > 1 && ms < 30_000, `probe: ${ms}`);
});

test('a CPU list taskset refuses gives no probe rather than a number', () => {
  assert.equal(probeSpeed('4096'), undefined);
});

test('the spread is the slowest probe over the fastest', () => {
  assert.deepEqual(speedSpread([100, 160, 120]), { min: 100, max: 160, spread: 0.6000000000000001 });
  assert.equal(speedSpread([]), undefined);
});
