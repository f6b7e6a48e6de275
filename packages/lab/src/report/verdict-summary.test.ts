import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ReportData } from './report-data.js';
import { change, verdictSummary } from './verdict-summary.js';

test('what became of an earlier "same shape" answer', () => {
  assert.equal(change({ index: 0, label: 'a', reproduces: 'yes' }, 'reproduced'), 'held');
  assert.equal(change({ index: 0, label: 'a', reproduces: 'yes' }, 'direction only'), 'weakened: right side of 1, magnitude outside the band');
  assert.equal(change({ index: 0, label: 'a', reproduces: 'yes' }, 'not reproduced'), 'reversed');
  assert.equal(change({ index: 0, label: 'a', reproduces: 'yes' }, 'inconclusive'), 'no longer supported: the interval spans 1, or one run gives none');
  assert.equal(change({ index: 0, label: 'a', reproduces: 'yes' }, 'inconclusive', 'the target 0.9'), 'no longer supported: the interval spans the target 0.9, or one run gives none');
  assert.equal(change({ index: 0, label: 'a', reproduces: 'no' }, 'reproduced'), 'reversed: now supported');
  assert.equal(change({ index: 0, label: 'a', reproduces: 'no' }, 'not reproduced'), 'held');
  assert.equal(change(undefined, 'reproduced'), 'new');
});

test('the summary lists every figure with its interval, verdict and change', () => {
  const data = {
    experiment: { title: 'Baseline' },
    setup: { legacy: false, tolerance: 1.5, runs: 36, invalidRuns: 3 },
    published: [{ label: 'UDP / TCP, 1000 clients', kind: 'published', published: 3, ours: { estimate: 1.05, low: 1.01, high: 1.09, n: 3 }, verdict: 'direction only', matched: { numerator: 1, denominator: 1 } }],
  } as unknown as ReportData;
  const text = verdictSummary([{ id: 'e1', data }], { e1: [{ index: 0, label: 'UDP / TCP, 1000 clients', published: 3, ours: 1.047, reproduces: 'yes' }] });
  assert.match(text, /\| UDP \/ TCP, 1000 clients \| published \| 3 \| 1\.050 \[1\.010–1\.090\] \| direction only \| 1\.047, yes \| weakened/);
  assert.match(text, /## Which conclusions changed\n\n- E1 "UDP \/ TCP, 1000 clients": earlier 1\.047 \(yes\), now 1\.050 \[1\.010–1\.090\]: direction only/);
  assert.match(text, /- direction only: 1/);
});
