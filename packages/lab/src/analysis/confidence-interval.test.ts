import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bootstrapInterval, isWide, logRatioInterval, logTInterval, median, medianInterval, ratioInterval, relativeHalfWidth, tInterval, tQuantile975 } from './confidence-interval.js';

test('t quantiles: the table, and a fractional df rounds down', () => {
  assert.equal(tQuantile975(2), 4.303);
  assert.equal(tQuantile975(2.9), 4.303);
  assert.ok(Math.abs(tQuantile975(1000) - 1.962) < 0.01);
});

test('t interval of the mean: mean ± t·s/√n', () => {
  const [low, high] = tInterval([9, 10, 11])!;
  assert.ok(Math.abs(low - (10 - 4.303 / Math.sqrt(3))) < 1e-9);
  assert.ok(Math.abs(high - (10 + 4.303 / Math.sqrt(3))) < 1e-9);
  assert.equal(tInterval([5]), undefined);
});

test('the bootstrap is seeded: the same numbers every time, and it covers the median', () => {
  const values = [100, 104, 97, 101, 99, 103, 98];
  const a = bootstrapInterval([values], ([sample]) => median(sample!), { seed: 7 });
  const b = bootstrapInterval([values], ([sample]) => median(sample!), { seed: 7 });
  assert.deepEqual(a, b);
  assert.ok(a[0] <= 101 && a[1] >= 100 && a[0] >= 97 && a[1] <= 104);
});

test('a figure\'s interval holds the bootstrap and the t interval on logarithms; one run has none', () => {
  const interval = medianInterval([1000, 1050, 980]);
  assert.equal(interval.estimate, 1000);
  const [tLow, tHigh] = logTInterval([1000, 1050, 980])!;
  assert.ok(interval.low! <= Math.min(980, tLow) + 1e-9 && interval.high! >= Math.max(1050, tHigh) - 1e-9);
  assert.equal(interval.n, 3);
  assert.ok(isWide(interval), '±5% noise over three repeats is a wide interval');
  const single = medianInterval([1000]);
  assert.equal(single.low, undefined);
  assert.equal(relativeHalfWidth(single), undefined);
  assert.equal(isWide(single), false);
});

test('positive figures never get a negative bound, however few and spread the runs', () => {
  const interval = medianInterval([300, 700]);
  assert.ok(interval.low! > 0, JSON.stringify(interval));
  assert.ok(medianInterval([-1, 1, 2]).low! < 0, 'values at or below 0 take the plain t interval');
});

test('a tight set of repeats is not wide', () => {
  const interval = medianInterval([1000, 1002, 1001, 999, 1000, 1001]);
  assert.ok(!isWide(interval), JSON.stringify(interval));
});

test('ratio interval: median over median, Welch on the logarithms, covers the true ratio', () => {
  const udp = [2000, 2100, 1950];
  const tcp = [1000, 1020, 990];
  const interval = ratioInterval(udp, tcp);
  assert.equal(interval.estimate, 2000 / 1000);
  assert.ok(interval.low! < 2 && interval.high! > 2.05);
  const welch = logRatioInterval(udp, tcp)!;
  assert.ok(interval.low! <= welch[0] && interval.high! >= welch[1]);
  assert.equal(ratioInterval([1], [2, 3]).low, undefined);
  assert.equal(logRatioInterval([1, 2], [0, 1]), undefined);
});
