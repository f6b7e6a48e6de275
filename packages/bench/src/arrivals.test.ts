import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ARRIVALS, interArrival, seededRandom } from './arrivals.js';

test('every arrival law has mean 1/rate', () => {
  for (const law of ARRIVALS) {
    const next = interArrival(law, 200, seededRandom(7));
    let sum = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) sum += next();
    const mean = sum / n;
    assert.ok(Math.abs(mean - 5) < 0.1, `${law}: mean gap ${mean} ms, expected 5 ms`);
  }
});

test('the laws differ in spread: deterministic none, exponential sd = mean, uniform sd = mean/sqrt(3)', () => {
  const sd = (law: (typeof ARRIVALS)[number]): number => {
    const next = interArrival(law, 100, seededRandom(3));
    const values = Array.from({ length: 100_000 }, next);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    return Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
  };
  assert.equal(sd('deterministic'), 0);
  assert.ok(Math.abs(sd('exponential') - 10) < 0.3);
  assert.ok(Math.abs(sd('uniform') - 10 / Math.sqrt(3)) < 0.2);
});

test('a seed gives the same arrivals again, another seed others', () => {
  const take = (seed: number): number[] => Array.from({ length: 5 }, interArrival('exponential', 10, seededRandom(seed)));
  assert.deepEqual(take(42), take(42));
  assert.notDeepEqual(take(42), take(43));
});

test('a rate that is not positive is refused', () => {
  assert.throws(() => interArrival('exponential', 0, seededRandom(1)), RangeError);
});
