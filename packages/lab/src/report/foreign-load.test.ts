import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BenchResult } from '@switchboard/bench';
import type { AppliedBudget } from '../experiment/cpu-budget.js';
import { foreignLoad, runForeignPercent } from './foreign-load.js';

const BUDGET: AppliedBudget = { method: 'cgroup', proxy: { cpus: '0', quotaCores: 1 }, generator: { cpus: '1' }, generatorCores: 1 };

function run(busy: Record<string, number>, proxy: number, redis: number, steal: Record<string, number> = {}): BenchResult {
  return { cpus: { busyPercent: busy, stealPercent: steal }, proxy: { processes: [], cpuPercentTotal: proxy }, observed: [{ pid: 1, role: 'redis', cpuPercent: redis, cpuPercentMax: redis, rssBytesMax: 0 }] } as unknown as BenchResult;
}

test('what the proxy and Redis do not account for on the proxy CPUs is foreign; the generator CPUs do not count', () => {
  assert.equal(runForeignPercent(run({ 0: 95, 1: 100 }, 80, 12), '0'), 3);
  assert.equal(runForeignPercent(run({ 0: 60, 1: 40 }, 50, 0), '0-1'), 50, 'a list sums its CPUs');
  assert.equal(runForeignPercent(run({ 0: 90, 1: 0 }, 90.4, 0.2), '0'), 0, 'sampling jitter below zero reads as none');
});

test('no figure without the CPUs, the budget or the proxy', () => {
  assert.equal(runForeignPercent(run({ 1: 50 }, 10, 0), '0'), undefined, 'the proxy CPU was not recorded');
  assert.equal(runForeignPercent(run({ 0: 50 }, 10, 0), undefined), undefined);
  assert.equal(runForeignPercent({ proxy: { processes: [], cpuPercentTotal: 1 } } as unknown as BenchResult, '0'), undefined, 'an older record');
  assert.equal(foreignLoad([{ result: run({ 0: 50 }, 10, 0) }]), undefined, 'no budget, nothing judged');
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
