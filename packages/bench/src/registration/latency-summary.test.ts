import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nearestRank, summarizeLatencies } from './latency-summary.js';

test('nearest-rank percentiles of a known sample', () => {
  const sorted = Array.from({ length: 100 }, (_, index) => index + 1);
  assert.equal(nearestRank(sorted, 0.5), 50);
  assert.equal(nearestRank(sorted, 0.99), 99);
  assert.equal(nearestRank(sorted, 1), 100);
  assert.equal(nearestRank([7], 0.99), 7);
  assert.equal(nearestRank([], 0.5), 0);
});

test('a summary of unsorted samples from several processes', () => {
  const first = [5, 1, 3];
  const second = [2, 4, 100];
  const summary = summarizeLatencies([...first, ...second]);
  assert.equal(summary.count, 6);
  assert.equal(summary.min, 1);
  assert.equal(summary.max, 100);
  assert.equal(summary.p50, 3);
  assert.equal(summary.p99, 100);
  assert.equal(summary.mean, Math.round((115 / 6) * 1000) / 1000);
  assert.deepEqual(summarizeLatencies([]), { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 });
});
