import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cpuBusyBetween, parseCpuTimes, readCpuTimes } from './cpu-busy.js';

const STAT = (cpu0: number[], cpu1: number[]): string => `cpu  1 2 3 4 5 6 7 8 0 0\ncpu0 ${cpu0.join(' ')} 0 0\ncpu1 ${cpu1.join(' ')} 0 0\nintr 1 2 3\nctxt 9\n`;

test('busy is everything but idle, iowait and steal; steal is apart; per CPU, over the window', () => {
  //                      user nice sys idle iowait irq softirq steal
  const before = parseCpuTimes(STAT([100, 0, 50, 800, 10, 0, 5, 0], [10, 0, 10, 1000, 0, 0, 0, 0]));
  const after = parseCpuTimes(STAT([160, 0, 70, 810, 10, 0, 15, 0], [20, 0, 10, 1070, 0, 0, 0, 20]));
  const busy = cpuBusyBetween(before, after);
  // cpu0: 100 jiffies elapsed, idle 10 → 90% busy; cpu1: 100 elapsed, 10 busy, 70 idle, 20 stolen.
  assert.deepEqual(busy, { busyPercent: { 0: 90, 1: 10 }, stealPercent: { 0: 0, 1: 20 } });
});

test('the aggregate line is left out, and a CPU missing from one snapshot is skipped', () => {
  const before = parseCpuTimes('cpu 5 5 5 5\ncpu0 1 0 1 8\n');
  assert.deepEqual([...before.keys()], ['0']);
  assert.deepEqual(cpuBusyBetween(before, parseCpuTimes('cpu0 2 0 2 16\ncpu3 1 1 1 1\n')).busyPercent, { 0: 20 });
});

test('this machine has /proc/stat with a line per CPU', async () => {
  const snapshot = await readCpuTimes();
  assert.ok(snapshot !== undefined && snapshot.size >= 1);
});
