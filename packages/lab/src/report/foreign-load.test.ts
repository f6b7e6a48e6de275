import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BenchResult } from '@switchboard/bench';
import type { AppliedBudget } from '../experiment/cpu-budget.js';
import { foreignLoad } from './foreign-load.js';

const BUDGET: AppliedBudget = { method: 'cgroup', proxy: { cpus: '0', quotaCores: 1 }, generator: { cpus: '1' }, generatorCores: 1 };

function run(busy: Record<string, number>, proxy: number, redis: number, steal: Record<string, number> = {}): BenchResult {
  return { cpus: { busyPercent: busy, stealPercent: steal }, proxy: { processes: [], cpuPercentTotal: proxy }, observed: [{ pid: 1, role: 'redis', cpuPercent: redis, cpuPercentMax: redis, rssBytesMax: 0 }] } as unknown as BenchResult;
}

test('no figure without the budget', () => {
  assert.equal(foreignLoad([{ result: run({ 0: 50 }, 10, 0) }]), undefined);
});

test('over a set: median, max, the most stolen, and the runs judged', () => {
  const load = foreignLoad([
    { result: run({ 0: 50, 1: 20 }, 48, 1), budget: BUDGET },
    { result: run({ 0: 70, 1: 20 }, 60, 0, { 0: 0.5, 1: 2.25 }), budget: BUDGET },
    { result: run({ 0: 99, 1: 20 }, 90, 4), budget: BUDGET },
    { result: run({ 1: 20 }, 90, 4), budget: BUDGET },
  ]);
  assert.deepEqual(load, { medianPercent: 5, maxPercent: 10, maxStealPercent: 2.3, runs: 3, proxyCpus: '0' });
});
