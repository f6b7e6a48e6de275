import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MIN_REJECTION_RATE, REJECTIONS_PER_ADMITTED, RejectionLimiter, rejectionRate } from './rejection-limiter.js';

test('a burst of a tenth of a second is allowed, then the rate', () => {
  const limiter = new RejectionLimiter(0);
  let taken = 0;
  for (let n = 0; n < 50; n++) if (limiter.tryTake(0, 100)) taken++;
  assert.equal(taken, 10, 'burst: 100/s for 0.1 s');
  assert.equal(limiter.tryTake(5, 100), false, 'half a token after 5 ms');
  assert.equal(limiter.tryTake(10, 100), true, 'one token after 10 ms');
  taken = 0;
  for (let ms = 10; ms <= 1010; ms += 1) if (limiter.tryTake(ms, 100)) taken++;
  assert.ok(taken >= 99 && taken <= 101, `about 100 in a second, got ${taken}`);
});

test('a rate that falls takes the saved tokens down to its own burst', () => {
  const limiter = new RejectionLimiter(0);
  // A second at 1,000/s saved 100 tokens (the burst), none taken.
  assert.equal(limiter.tryTake(1000, 1000), true);
  let taken = 0;
  for (let n = 0; n < 200; n++) if (limiter.tryTake(1000, 20)) taken++;
  assert.equal(taken, 2, 'the burst of 20/s: 2');
});

test('a clock that goes back does not mint tokens', () => {
  const limiter = new RejectionLimiter(1000);
  assert.equal(limiter.tryTake(1000, 10), true);
  assert.equal(limiter.tryTake(0, 10), false);
});

test('503s follow the admitted rate, between the floor and the cap', () => {
  assert.equal(rejectionRate(undefined, 10_000), 10_000, 'before a rate is measured: the cap');
  assert.equal(rejectionRate(1_300, 10_000), 1_300 * REJECTIONS_PER_ADMITTED);
  assert.equal(rejectionRate(1, 10_000), MIN_REJECTION_RATE);
  assert.equal(rejectionRate(50_000, 10_000), 10_000);
  assert.equal(rejectionRate(1_300, 5), 5, 'the cap wins over the floor');
});
