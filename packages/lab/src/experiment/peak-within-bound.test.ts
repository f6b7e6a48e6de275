import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LadderStep } from './peak-ladder.js';
import { peakWithinBound, T1_MS } from './peak-within-bound.js';

const step = (rate: number, outcome: LadderStep['outcome'], p99Ms?: number): LadderStep => ({ rate, outcome, ...(p99Ms === undefined ? {} : { p99Ms }) });

test("the peak at one T1 from a ladder run to a 2 s bound (E4's event-loop over TCP, 2026-12-04): at least 761, below 1142", () => {
  const steps = [step(100, 'pass', 11.1), step(507, 'pass', 12.3), step(761, 'pass', 77.7), step(1142, 'pass', 762.4), step(1713, 'fail', 2514.9), step(1399, 'pass', 1299.5), step(1548, 'pass', 1245.2), step(1628, 'pass', 1321)];
  assert.deepEqual(peakWithinBound(steps, T1_MS), { atLeast: 761, below: 1142 });
  assert.deepEqual(peakWithinBound(steps, 2000), { atLeast: 1628, below: 1713 }, 'at the ladder\'s own bound: its peak and its first failure');
});

test('no step within the bound, none beyond it, skipped and invalid steps', () => {
  assert.deepEqual(peakWithinBound([step(100, 'pass', 900), step(150, 'fail', 3000)], T1_MS), { below: 100 });
  assert.deepEqual(peakWithinBound([step(100, 'pass', 5), step(150, 'pass', 6)], T1_MS), { atLeast: 150 });
  assert.deepEqual(peakWithinBound([step(100, 'pass', 5), step(150, 'skipped'), step(225, 'invalid', 4)], T1_MS), { atLeast: 100 }, 'a skipped or invalid step brackets nothing');
  assert.deepEqual(peakWithinBound([step(100, 'pass', 5), step(150, 'pass')], T1_MS), { atLeast: 100, below: 150 }, 'a step with no p99 never keeps the bound');
});
