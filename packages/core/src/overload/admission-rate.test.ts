import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdmissionRate, DECREASE, DECREASE_HOLD_SAMPLES, INCREASE, INCREASE_ADD, INITIAL_REDUCTION, MIN_RATE, RELEASE_SAMPLES } from './admission-rate.js';

const INTERVAL = 100;
const overloaded = (offered: number, admitted: number) => ({ overloaded: true, calm: false, offered, admitted, elapsedMs: INTERVAL });
const calm = (offered: number, admitted: number) => ({ overloaded: false, calm: true, offered, admitted, elapsedMs: INTERVAL });
const hold = (offered: number, admitted: number) => ({ overloaded: false, calm: false, offered, admitted, elapsedMs: INTERVAL });
/** A sample while not limiting: `arrived` new requests in it. */
const carried = (arrived: number, isCalm = true) => ({ overloaded: false, calm: isCalm, offered: 0, admitted: 0, elapsedMs: INTERVAL, arrived });
const overloadedArriving = (arrived: number) => ({ overloaded: true, calm: false, offered: 0, admitted: 0, elapsedMs: INTERVAL, arrived });

test('not limiting until overloaded; then a first share is shed before any rate is measured', () => {
  const admission = new AdmissionRate();
  admission.update(calm(0, 0));
  assert.equal(admission.limiting, false);
  assert.equal(admission.reduction, 0);
  admission.update(overloaded(0, 0));
  assert.equal(admission.limiting, true);
  assert.equal(admission.reduction, INITIAL_REDUCTION);
  assert.equal(admission.rate, undefined);
});

test('overloaded: the rate falls from what was really admitted, and the share follows the offered load', () => {
  const admission = new AdmissionRate();
  admission.update(overloaded(0, 0));
  // 100 offered, 50 admitted in 100 ms: 500/s admitted, rate 400/s, offered 1000/s.
  admission.update(overloaded(100, 50));
  assert.equal(admission.rate, 500 * DECREASE);
  assert.equal(admission.reduction, 0.6);
  // No second cut for DECREASE_HOLD_SAMPLES samples (the queue drains meanwhile).
  for (let n = 1; n < DECREASE_HOLD_SAMPLES; n++) admission.update(overloaded(100, 50));
  assert.equal(admission.rate, 400);
  // The admitted rate is a moving average (0.3 of the newest), now 500/s; 20 admitted (200/s)
  // makes it 410/s, above the rate, so the rate itself falls: 320/s.
  admission.update(overloaded(100, 20));
  assert.equal(admission.rate, 400 * DECREASE);
  assert.equal(admission.reduction, 0.68);
  // A rate above what is really admitted is not trusted: with nothing admitted the average falls
  // to 0.7^3 x 410 by the next cut.
  for (let n = 0; n < DECREASE_HOLD_SAMPLES; n++) admission.update(overloaded(100, 0));
  assert.equal(Math.round(admission.rate ?? 0), Math.round(0.7 ** 3 * 410 * DECREASE));
});

test('the rate never falls below MIN_RATE, and the share stays below 100% until the load is far above it', () => {
  const admission = new AdmissionRate();
  admission.update(overloaded(0, 0));
  for (let n = 0; n < 60; n++) admission.update(overloaded(100, 0));
  assert.equal(admission.rate, MIN_RATE);
  assert.equal(admission.reduction, 1, '1/s of 1000/s rounds to 100%');
  const light = new AdmissionRate();
  light.update(overloaded(0, 0));
  for (let n = 0; n < 60; n++) light.update(overloaded(1, 0));
  assert.equal(light.reduction, 0.9, '1/s of 10/s');
});

test('calm: the rate climbs multiplicatively, so it recovers from near zero within seconds; hold keeps it', () => {
  const admission = new AdmissionRate();
  admission.update(overloaded(0, 0));
  admission.update(overloaded(100, 0));
  assert.equal(admission.rate, MIN_RATE);
  let samples = 0;
  // 500/s offered (50 per interval), all admitted while the rate allows it.
  while ((admission.rate ?? 0) < 500 && samples < 100) {
    admission.update(calm(50, Math.min(50, Math.round(((admission.rate ?? 0) * INTERVAL) / 1000))));
    samples++;
  }
  assert.ok(samples <= 50, `from 1/s to 500/s in ${samples} samples (5 s at 100 ms)`);
  const rate = admission.rate;
  admission.update(hold(50, 50));
  assert.equal(admission.rate, rate, 'between the thresholds the rate holds');
  const expected = (rate ?? 0) * INCREASE + INCREASE_ADD;
  admission.update(calm(50, 50));
  assert.equal(admission.rate, expected);
});

test('limiting ends after RELEASE_SAMPLES samples whose rate covered the whole offered load', () => {
  const admission = new AdmissionRate();
  admission.update(overloaded(0, 0));
  admission.update(overloaded(100, 40));
  for (let n = 0; n < 200 && admission.limiting; n++) admission.update(calm(10, 10));
  assert.equal(admission.limiting, false);
  assert.equal(admission.reduction, 0);
  assert.equal(admission.rate, undefined);
  // An overload in between restarts the count.
  const again = new AdmissionRate();
  again.update(overloaded(0, 0));
  again.update(overloaded(10, 10));
  for (let n = 0; n < RELEASE_SAMPLES - 1; n++) again.update(calm(1, 1));
  again.update(overloaded(1, 1));
  for (let n = 0; n < RELEASE_SAMPLES - 1; n++) again.update(calm(1, 1));
  assert.equal(again.limiting, true);
  again.update(calm(1, 1));
  assert.equal(again.limiting, false);
});

test('against a simulated worker it settles where admitted work plus refusals fit, at 2x, 4x and 8x', () => {
  // A worker with 1000 units of work per second: a call costs 10 (capacity 100 calls/s), a
  // refusal 0.5. Overloaded when the demand exceeds the budget; calm under 80% of it. Either the
  // overload comes first, or after 2 s of 60 calls a second carried.
  for (const [factor, warm] of [2, 4, 8].flatMap((f) => [[f, 0], [f, 20]] as const)) {
    const admission = new AdmissionRate();
    for (let n = 0; n < warm; n++) admission.update({ overloaded: false, calm: true, offered: 0, admitted: 0, elapsedMs: INTERVAL, arrived: 6 });
    const offeredPerSample = (100 * factor * INTERVAL) / 1000;
    let admittedTotal = 0;
    let busy = 1.5; // the first sample sees the overload
    for (let n = 0; n < 300; n++) {
      const shed = admission.limiting ? admission.reduction : 0;
      const admitted = Math.round(offeredPerSample * (1 - shed));
      const demand = (admitted * 10 + (offeredPerSample - admitted) * 0.5) / 100; // share of the sample's budget
      admission.update({ overloaded: busy >= 1, calm: busy < 0.8, offered: offeredPerSample, admitted, elapsedMs: INTERVAL, arrived: admission.limiting ? 0 : offeredPerSample });
      busy = demand;
      if (n >= 100) admittedTotal += Math.min(admitted, offeredPerSample);
    }
    const goodput = admittedTotal / 200 / ((100 * INTERVAL) / 1000);
    const ceiling = (1 - factor * 0.05) / (1 - 0.05);
    assert.ok(goodput >= 0.75 * ceiling && goodput <= ceiling + 0.01, `${factor}x after ${warm} warm samples: admitted ${goodput.toFixed(2)} of capacity, ceiling ${ceiling.toFixed(2)}`);
    assert.ok(admission.reduction < 1, `${factor}x after ${warm} warm samples: not stuck at 100%`);
  }
});

test('limiting starts from the rate carried in calm samples before, not from the overload\'s first samples', () => {
  const admission = new AdmissionRate();
  // 500 new requests a second carried calmly for 3 s.
  for (let n = 0; n < 30; n++) admission.update(carried(50));
  assert.ok(Math.abs(admission.carried - 500) < 5, `carried ${admission.carried}`);
  // Busy samples between (neither calm nor overloaded) do not count.
  admission.update(carried(300, false));
  const kept = admission.carried;
  assert.ok(kept < 500 && kept > 490, `the peak fades a little per sample: ${kept}`);
  // The overload: 2,000 a second arrive; the rate starts at what was carried.
  admission.update(overloadedArriving(200));
  assert.equal(admission.limiting, true);
  assert.equal(admission.rate, kept);
  assert.equal(admission.reduction, 0.75, '1 - 500 / 2000');
  // The queue of the overload's first moments drains before a first cut: none for
  // DECREASE_HOLD_SAMPLES samples, whatever they measure.
  const start = admission.rate ?? 0;
  for (let n = 1; n < DECREASE_HOLD_SAMPLES; n++) admission.update(overloaded(200, 50));
  assert.equal(admission.rate, start);
  admission.update(overloaded(200, 50));
  assert.equal(admission.rate, start * DECREASE);
});

test('a sample in which the gate refused nothing does not lower the admitted rate the cuts start from', () => {
  const admission = new AdmissionRate();
  for (let n = 0; n < 30; n++) admission.update(carried(50));
  admission.update(overloadedArriving(200));
  const start = admission.rate ?? 0;
  // Working off a backlog the worker reads few new requests, and admits each of them: that is
  // what it read, not what fits. The cut starts from the rate, not from 30/s.
  for (let n = 0; n < DECREASE_HOLD_SAMPLES; n++) admission.update(overloaded(3, 3));
  assert.equal(admission.rate, start * DECREASE);
  // Where the gate refused some, what it admitted counts: 100/s admitted pulls the average down.
  for (let n = 0; n < DECREASE_HOLD_SAMPLES; n++) admission.update(overloaded(100, 10));
  assert.ok((admission.rate ?? 0) < start * DECREASE * DECREASE, `rate ${admission.rate}`);
});

test('with nothing carried before (the overload came first), limiting starts with a shed share as before', () => {
  const admission = new AdmissionRate();
  admission.update(overloadedArriving(200));
  assert.equal(admission.rate, undefined);
  assert.equal(admission.reduction, INITIAL_REDUCTION);
});

test('the carried peak fades: a rate carried long ago is no longer where limiting starts', () => {
  const admission = new AdmissionRate();
  for (let n = 0; n < 30; n++) admission.update(carried(50));
  // Ten minutes of 10 a second.
  for (let n = 0; n < 6000; n++) admission.update(carried(1));
  assert.ok(admission.carried < 12, `carried ${admission.carried}`);
});
