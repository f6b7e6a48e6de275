import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OverloadDetector } from './overload-detector.js';

function detector(): { detector: OverloadDetector; counters: { overloadEntered: number; overloadLeft: number; overloadMilliseconds: number } } {
  const counters = { overloadEntered: 0, overloadLeft: 0, overloadMilliseconds: 0 };
  return { detector: new OverloadDetector({ utilization: 0.9, lagMs: 100, intervalMs: 100 }, counters), counters };
}

test('the reduction climbs 10 points per overloaded sample up to 100% and falls 5 per calm one to 0', () => {
  const { detector: d, counters } = detector();
  assert.equal(d.reduction, 0);
  d.update(0.5, 0, 100);
  assert.equal(d.reduction, 0, 'calm');
  for (let n = 1; n <= 12; n++) d.update(0.95, 0, 100);
  assert.equal(d.reduction, 1);
  assert.equal(counters.overloadEntered, 1);
  for (let n = 0; n < 19; n++) d.update(0.2, 0, 100);
  assert.equal(d.reduction, 0.05);
  assert.equal(counters.overloadLeft, 0);
  d.update(0.2, 0, 100);
  assert.equal(d.reduction, 0);
  assert.equal(counters.overloadLeft, 1);
  assert.equal(counters.overloadMilliseconds, 31 * 100, 'time counted for every sample that began overloaded');
});

test('lag alone makes a worker overloaded (one long turn of the loop)', () => {
  const { detector: d } = detector();
  d.update(0.1, 150, 250);
  assert.equal(d.reduction, 0.1);
});

test('start and stop sample the real event loop without keeping the process alive', async () => {
  const counters = { overloadEntered: 0, overloadLeft: 0, overloadMilliseconds: 0 };
  // Utilization 0: every sample counts as overloaded, so the reduction must climb.
  const d = new OverloadDetector({ utilization: 0, lagMs: 1000, intervalMs: 10 }, counters);
  d.start();
  await new Promise((resolve) => setTimeout(resolve, 200));
  d.stop();
  assert.ok(d.reduction > 0, 'sampled');
  assert.equal(counters.overloadEntered, 1);
});
