import { tQuantile975 } from '../analysis/confidence-interval.js';

/** A mean with its 95% confidence interval by the method of batch means. */
export interface BatchMeansEstimate {
  readonly mean: number;
  readonly low: number;
  readonly high: number;
  readonly batches: number;
}

/**
 * Batch means: a correlated series (waiting times in arrival order) cut into `batches` contiguous
 * batches whose means are close to independent when batches are long, then a Student-t interval on
 * those means. Fewer than 2 × `batches` values: no interval (low = high = NaN).
 */
export function batchMeans(values: readonly number[], batches = 20): BatchMeansEstimate {
  const n = values.length;
  const mean = n === 0 ? Number.NaN : values.reduce((sum, value) => sum + value, 0) / n;
  if (n < 2 * batches) return { mean, low: Number.NaN, high: Number.NaN, batches: 0 };
  const size = Math.floor(n / batches);
  const means: number[] = [];
  for (let b = 0; b < batches; b++) {
    let sum = 0;
    for (let i = b * size; i < (b + 1) * size; i++) sum += values[i] as number;
    means.push(sum / size);
  }
  const grand = means.reduce((sum, value) => sum + value, 0) / batches;
  const variance = means.reduce((sum, value) => sum + (value - grand) ** 2, 0) / (batches - 1);
  const half = tQuantile975(batches - 1) * Math.sqrt(variance / batches);
  return { mean: grand, low: grand - half, high: grand + half, batches };
}
