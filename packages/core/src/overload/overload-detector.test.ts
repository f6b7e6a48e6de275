import assert from 'node:assert/strict';
import { test } from 'node:test';
import { INITIAL_REDUCTION } from './admission-rate.js';
import { OverloadDetector } from './overload-detector.js';

function detector(): { detector: OverloadDetector; counters: { overloadEntered: number; overloadLeft: number; overloadMilliseconds: number } } {
  const counters = { overloadEntered: 0, overloadLeft: 0, overloadMilliseconds: 0 };
  return { detector: new OverloadDetector({ utilization: 0.9, lagMs: 100, intervalMs: 100 }, counters), counters };
}

function note(d: OverloadDetector, offered: number, admitted: number): void {
  for (let n = 0; n < offered; n++) d.noteNewWork(n < admitted);
}

test('utilization at the threshold for two samples starts limiting; the noted new work steers the share; calm samples end it', () => {
  const { detector: d, counters } = detector();
  d.update(0.5, 0, 100);
  assert.equal(d.limiting, false, 'calm');
  d.update(0.95, 0, 100);
  d.update(0.95, 0, 100);
  assert.equal(d.limiting, false, 'two busy samples are a burst');
  d.update(0.5, 0, 100);
  d.update(0.95, 0, 100);
  d.update(0.95, 0, 100);
  assert.equal(d.limiting, false, 'not three in a row');
  d.update(0.95, 0, 100);
  assert.equal(d.limiting, true);
  assert.equal(d.reduction, INITIAL_REDUCTION);
  assert.equal(counters.overloadEntered, 1);
  note(d, 100, 50);
  d.update(0.95, 0, 100);
  assert.equal(d.admittedRate, 400, '500/s admitted, still overloaded: 80% of it');
  assert.equal(d.reduction, 0.6, '400 of 1000/s offered');
  note(d, 100, 40);
  d.update(0.85, 0, 100);
  assert.equal(d.admittedRate, 400, 'between the thresholds: held');
  note(d, 100, 40);
  d.update(0.95, 0, 100);
  assert.equal(d.admittedRate, 400, 'a busy sample after a calmer one: held');
  for (let n = 0; n < 40 && d.limiting; n++) {
    note(d, 10, 10);
    d.update(0.2, 0, 100);
  }
  assert.equal(d.limiting, false);
  assert.equal(d.reduction, 0);
  assert.equal(counters.overloadLeft, 1);
  assert.ok(counters.overloadMilliseconds >= 1200, 'time counted for every sample that began limiting');
});

test('lag alone makes a worker overloaded (long turns of the loop)', () => {
  const { detector: d } = detector();
  d.update(0.1, 150, 250);
  d.update(0.1, 150, 250);
  assert.equal(d.limiting, false, 'two long turns');
  d.update(0.1, 150, 250);
  assert.equal(d.limiting, true);
});

test('start and stop sample the real event loop without keeping the process alive', async () => {
  const counters = { overloadEntered: 0, overloadLeft: 0, overloadMilliseconds: 0 };
  // Utilization 0: every sample counts as overloaded, so it must start limiting.
  const d = new OverloadDetector({ utilization: 0, lagMs: 1000, intervalMs: 10 }, counters);
  d.start();
  await new Promise((resolve) => setTimeout(resolve, 200));
  d.stop();
  assert.equal(d.limiting, true, 'sampled');
  assert.equal(counters.overloadEntered, 1);
});
