import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RejectionLimiter } from './rejection-limiter.js';

test('a burst of a tenth of a second is allowed, then the rate', () => {
  const limiter = new RejectionLimiter(100, 0);
  let taken = 0;
  for (let n = 0; n < 50; n++) if (limiter.tryTake(0)) taken++;
  assert.equal(taken, 10, 'burst: 100/s for 0.1 s');
  assert.equal(limiter.tryTake(5), false, 'half a token after 5 ms');
  assert.equal(limiter.tryTake(10), true, 'one token after 10 ms');
  taken = 0;
  for (let ms = 10; ms <= 1010; ms += 1) if (limiter.tryTake(ms)) taken++;
  assert.ok(taken >= 99 && taken <= 101, `about 100 in a second, got ${taken}`);
});

test('a clock that goes back does not mint tokens', () => {
  const limiter = new RejectionLimiter(10, 1000);
  assert.equal(limiter.tryTake(1000), true);
  assert.equal(limiter.tryTake(0), false);
});
