/**
 * Inter-arrival times for open-loop load: exponential (Poisson arrivals), deterministic,
 * uniform on [0, 2/rate] and Pareto (shape 2.5, heavy-tailed but with finite variance), all with
 * mean 1/rate, from a seeded generator so a run can be repeated.
 */
import type { Arrivals } from './bench-result.js';

export const ARRIVALS: readonly Arrivals[] = ['exponential', 'deterministic', 'uniform', 'pareto'];
const PARETO_SHAPE = 2.5;

/** mulberry32: small, fast and good enough for arrival times. Values in (0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const value = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return value === 0 ? Number.MIN_VALUE : value;
  };
}

/** A function giving the next gap in milliseconds, for `rate` arrivals per second. */
export function interArrival(arrivals: Arrivals, rate: number, random: () => number): () => number {
  if (!(rate > 0)) throw new RangeError(`rate must be positive, not ${rate}`);
  const mean = 1000 / rate;
  switch (arrivals) {
    case 'exponential':
      return () => -Math.log(random()) * mean;
    case 'deterministic':
      return () => mean;
    case 'uniform':
      return () => random() * 2 * mean;
    case 'pareto': {
      const scale = (mean * (PARETO_SHAPE - 1)) / PARETO_SHAPE;
      return () => scale / random() ** (1 / PARETO_SHAPE);
    }
  }
}
