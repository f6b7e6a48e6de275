import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toleranceBand, verdict } from './verdict.js';

const interval = (low: number, high: number) => ({ estimate: (low + high) / 2, low, high, n: 3 });
const ratio = (value: number, range?: [number, number]) => ({ value, shape: 'ratio' as const, ...(range === undefined ? {} : { range }) });

test('ratio figures: reproduced, direction only, not reproduced, inconclusive', () => {
  assert.equal(verdict(ratio(3), interval(2.4, 3.6)), 'reproduced');
  assert.equal(verdict(ratio(3), interval(1.02, 1.08)), 'direction only', 'the 1.047-against-3.0 case');
  assert.equal(verdict(ratio(3), interval(0.9, 0.97)), 'not reproduced');
  assert.equal(verdict(ratio(3), interval(0.95, 1.1)), 'inconclusive');
  assert.equal(verdict(ratio(0.56), interval(0.17, 0.22)), 'direction only', 'the 0.194-against-0.56 case');
  assert.equal(verdict(ratio(0.56), interval(0.45, 0.6)), 'reproduced');
  assert.equal(verdict(ratio(0.56), interval(1.1, 1.3)), 'not reproduced');
});

test('a published range widens the band; the tolerance is a factor on the log scale', () => {
  assert.deepEqual(toleranceBand(ratio(4, [4, 7])), [4 / 1.5, 10.5]);
  assert.equal(verdict(ratio(4, [4, 7]), interval(8, 10)), 'reproduced');
  assert.equal(verdict(ratio(4, [4, 7]), interval(1.1, 1.2)), 'direction only', 'the 1.119-against-4–7 case');
  assert.equal(verdict(ratio(3), interval(2.4, 3.6), 1.1), 'direction only', 'a tighter tolerance');
});

test('magnitudes and targets', () => {
  const share = { value: 0.046, shape: 'magnitude' as const };
  assert.equal(verdict(share, interval(0.04, 0.05)), 'reproduced');
  assert.equal(verdict(share, interval(0.2, 0.3)), 'not reproduced');
  assert.equal(verdict(share, interval(0.05, 0.09)), 'inconclusive');
  const target = { value: 0.9, shape: 'ratio' as const, target: 'at-least' as const };
  assert.equal(verdict(target, interval(0.92, 1.1)), 'target met');
  assert.equal(verdict(target, interval(0.7, 0.85)), 'target missed');
  assert.equal(verdict(target, interval(0.85, 0.95)), 'inconclusive');
  assert.equal(verdict({ ...target, target: 'at-most' }, interval(0.7, 0.85)), 'target met');
});

test('no interval: inconclusive; nothing valid: no valid data', () => {
  assert.equal(verdict(ratio(2), { estimate: 2.1, n: 1 }), 'inconclusive');
  assert.equal(verdict(ratio(2), undefined), 'no valid data');
});
