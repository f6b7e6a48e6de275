import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseExperimentConfig } from './experiment-config.js';
import { estimateDuration, overheadSeconds } from './duration-estimate.js';

const config = (extra: Record<string, unknown>) => parseExperimentConfig({ id: 'd', title: 'd', matrix: { model: ['event-loop'], transport: ['udp'], clients: [100] }, bench: { duration: 8, warmup: 2 }, ...extra }, 'd.yaml');

test('closed loop: one run per point and repeat', () => {
  const estimate = estimateDuration(config({ repeats: 3 }));
  const point = { transport: 'udp' } as never;
  assert.equal(estimate.measurements, 3);
  assert.equal(estimate.seconds, Math.round(3 * (overheadSeconds(point, 100) + 10)));
});

test('a ladder climbs past the guessed peak, then bisects', () => {
  const estimate = estimateDuration(config({ repeats: 1, peak: { from: 100, to: 10_000, factor: 2, refine: 3 } }), () => 500);
  assert.equal(estimate.measurements, 4 + 3, '100, 200, 400, 800 (fails), then three bisections');
});

test('steps whose window would exceed window.max are not run', () => {
  const tcp = parseExperimentConfig({ id: 'd', title: 'd', matrix: { model: ['event-loop'], transport: ['tcp'], connection: ['per-ops:500'], clients: [1000] }, window: { max: 60 }, peak: { from: 100, to: 10_000, factor: 2, refine: 0 } }, 'd.yaml');
  // 50 reconnections × 500 operations / (2 × rate) ≤ 60 needs rate ≥ 209: 100 and 200 are not run; 400 to 6400 are.
  assert.equal(estimateDuration(tcp, () => 20_000).measurements, 5);
  const strict = parseExperimentConfig({ id: 'd', title: 'd', matrix: { model: ['event-loop'], transport: ['tcp'], connection: ['per-ops:500'], clients: [1000] }, window: { max: 60, reconnections: 1000 }, peak: { from: 100, to: 10_000, factor: 2, refine: 0 } }, 'd.yaml');
  // 1000 × 500 / (2 × rate) ≤ 60 needs rate ≥ 4167: only 6400 runs.
  assert.equal(estimateDuration(strict, () => 20_000).measurements, 1);
});

test('later repeats start at the earlier peak: two steps and the bisections (none saved with seed: false)', () => {
  const peak = { from: 100, to: 10_000, factor: 2, refine: 3 };
  assert.equal(estimateDuration(config({ repeats: 3, peak }), () => 500).measurements, 7 + 2 * (2 + 3));
  assert.equal(estimateDuration(config({ repeats: 3, peak: { ...peak, seed: false } }), () => 500).measurements, 3 * 7);
});

test('overload steps follow each ladder; a point that takes its capacity from another runs only them', () => {
  const peak = { from: 100, to: 10_000, factor: 2, refine: 3 };
  const workload = (capacityOf?: Record<string, string>) => ({ kind: 'registration', overload: { factors: [1, 2, 4, 8], duration: 10, ...(capacityOf === undefined ? {} : { 'capacity-of': capacityOf }) } });
  assert.equal(estimateDuration(config({ repeats: 1, peak, workload: workload(), extra: { overload: ['off', 'on'] } }), () => 500).measurements, 2 * (7 + 4));
  assert.equal(estimateDuration(config({ repeats: 1, peak, workload: workload({ overload: 'off' }), extra: { overload: ['off', 'on'] } }), () => 500).measurements, 7 + 4 + 4);
});
