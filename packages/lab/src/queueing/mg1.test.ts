import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchMeans } from './batch-means.js';
import { mg1Waiting, saturationRate, utilisation } from './mg1.js';
import { simulateMg1 } from './mg1-simulation.js';
import { momentsByKind } from './service-moments.js';
import { breakdown, fitRows, type LoadPointMeasurement } from './queueing-fit.js';

// Two message types with known service distributions: "INVITE" deterministic 400 µs, "ACK"
// exponential with mean 800 µs, half the arrivals each. E[X] = 600 µs,
// E[X²] = 0.5 · 0.16e-6 + 0.5 · 2 · 0.64e-6 = 0.72e-6 s².
const MEAN = 600e-6;
const MEAN_SQUARE = 0.72e-6;
function service(random: () => number): { kind: string; seconds: number } {
  return random() < 0.5 ? { kind: 'INVITE', seconds: 400e-6 } : { kind: 'ACK', seconds: -Math.log(random()) * 800e-6 };
}

function simulatedPoint(lambda: number, seed: number): LoadPointMeasurement {
  const kinds: string[] = [];
  const { waits, services } = simulateMg1({
    lambda,
    customers: 200_000,
    seed,
    service: (random) => {
      const drawn = service(random);
      kinds.push(drawn.kind);
      return drawn.seconds;
    },
  });
  const fitted = momentsByKind(services.map((serviceSeconds, i) => ({ kind: kinds[i] as string, serviceSeconds })));
  return { arrivals: 'exponential', offeredCallsPerSecond: lambda / 2, achievedCallsPerSecond: lambda / 2, successRatio: 1, lambda, service: fitted, waiting: batchMeans(waits, 20), residenceMean: Number.NaN, matched: waits.length };
}

test('Pollaczek-Khinchine: ρ, W and the saturation rate of a known queue', () => {
  assert.ok(Math.abs(utilisation(800, MEAN) - 0.48) < 1e-12);
  assert.ok(Math.abs(mg1Waiting(800, MEAN, MEAN_SQUARE) - (800 * 0.72e-6) / (2 * 0.52)) < 1e-15);
  assert.equal(mg1Waiting(2000, MEAN, MEAN_SQUARE), Number.POSITIVE_INFINITY);
  assert.ok(Math.abs(saturationRate(MEAN) - 1666.6667) < 1e-3);
});

test('the fit on a simulated M/G/1 queue: fitted moments, modelled W within 3% of the formula, batch means cover it', () => {
  const points = [400, 800, 1200].map((lambda, i) => simulatedPoint(lambda, 11 + i));
  const rows = fitRows(points);
  for (const row of rows) {
    const analytic = mg1Waiting(row.lambda, MEAN, MEAN_SQUARE);
    assert.ok(Math.abs(row.meanService / MEAN - 1) < 0.02, `E[X] ${row.meanService}`);
    assert.ok(Math.abs(row.meanSquareService / MEAN_SQUARE - 1) < 0.03, `E[X²] ${row.meanSquareService}`);
    assert.ok(Math.abs(row.modelled / analytic - 1) < 0.05, `modelled ${row.modelled} vs ${analytic} at λ=${row.lambda}`);
    assert.ok(row.measured.low <= analytic && analytic <= row.measured.high, `λ=${row.lambda}: [${row.measured.low}, ${row.measured.high}] must cover ${analytic}`);
    assert.ok(row.holds, `λ=${row.lambda} holds`);
    assert.ok(Math.abs(row.alpha - 1) < 0.03, 'no inflation in a simulated server');
  }
  assert.equal(breakdown(rows, 'exponential'), undefined);
});

test('the model is said to break down where the measured wait is far from it, and from ρ ≥ 1', () => {
  const point = simulatedPoint(800, 5);
  const far: LoadPointMeasurement = { ...point, waiting: { ...point.waiting, mean: point.waiting.mean * 3, low: point.waiting.mean * 2.5, high: point.waiting.mean * 3.5 } };
  const saturated: LoadPointMeasurement = { ...point, lambda: 2000 };
  const rows = fitRows([point, far, saturated].map((p, i) => ({ ...p, lambda: p.lambda + i })));
  assert.deepEqual(rows.map((row) => row.holds), [true, false, false]);
  assert.equal(breakdown(rows, 'exponential')?.lambda, 801);
});

test('batch means: no interval from too few values', () => {
  const estimate = batchMeans([1, 2, 3], 20);
  assert.equal(estimate.mean, 2);
  assert.ok(Number.isNaN(estimate.low));
});
