/**
 * 95% confidence intervals for the lab's figures, computed from the repeats of a point.
 *
 * A figure's interval is the union of two intervals, so that it is honest at three repeats and
 * still right when distributions skew at many:
 * - a percentile bootstrap of the median (seeded, so a report is reproducible byte for byte);
 * - Student's t interval of the mean of the logarithms, taken back with exp (positive figures
 *   spread multiplicatively and never go below 0; the plain t interval of the mean when a value
 *   is 0 or less); for a ratio, Welch's interval of the difference of the mean logarithms.
 * With three repeats the bootstrap of a median is about [min, max], which understates the
 * spread; the t interval (t = 4.30 at 2 degrees of freedom) then dominates. With one run there is
 * no interval at all (`low` and `high` are absent).
 */
import { seededRandom } from '@switchboard/bench';

export interface Interval {
  /** The median of the repeats (for a ratio: median over median). */
  readonly estimate: number;
  /** Bounds of the 95% interval; absent with fewer than two values on a side. */
  readonly low?: number;
  readonly high?: number;
  /** Repeats behind it (for a ratio: the smaller side). */
  readonly n: number;
}

export interface BootstrapOptions {
  /** Resamples (default 4000). */
  readonly resamples?: number;
  readonly seed?: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function quantile(sorted: ArrayLike<number>, q: number): number {
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(sorted.length - 1, below + 1);
  return (sorted[below] as number) + ((sorted[above] as number) - (sorted[below] as number)) * (position - below);
}

const T_975 = [Number.NaN, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/** The 97.5% quantile of Student's t (two-sided 95%); a fractional df rounds down (wider). */
export function tQuantile975(degreesOfFreedom: number): number {
  const df = Math.max(1, Math.floor(degreesOfFreedom));
  return df < T_975.length ? (T_975[df] as number) : 1.96 + 2.4 / df;
}

function meanAndVariance(values: readonly number[]): { mean: number; variance: number } {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1);
  return { mean, variance };
}

/** Student's t 95% interval of the mean; undefined with fewer than two values. */
export function tInterval(values: readonly number[]): [number, number] | undefined {
  if (values.length < 2) return undefined;
  const { mean, variance } = meanAndVariance(values);
  const half = tQuantile975(values.length - 1) * Math.sqrt(variance / values.length);
  return [mean - half, mean + half];
}

/** Welch's 95% interval of a / b from the logarithms of two independent samples (all > 0). */
export function logRatioInterval(numerator: readonly number[], denominator: readonly number[]): [number, number] | undefined {
  if (numerator.length < 2 || denominator.length < 2 || [...numerator, ...denominator].some((value) => !(value > 0))) return undefined;
  const a = meanAndVariance(numerator.map(Math.log));
  const b = meanAndVariance(denominator.map(Math.log));
  const va = a.variance / numerator.length;
  const vb = b.variance / denominator.length;
  const se = Math.sqrt(va + vb);
  if (se === 0) return [Math.exp(a.mean - b.mean), Math.exp(a.mean - b.mean)];
  const df = (va + vb) ** 2 / (va ** 2 / (numerator.length - 1) + vb ** 2 / (denominator.length - 1));
  const half = tQuantile975(df) * se;
  return [Math.exp(a.mean - b.mean - half), Math.exp(a.mean - b.mean + half)];
}

/**
 * Percentile bootstrap: resamples every sample with replacement, applies `statistic`, and returns
 * the 2.5% and 97.5% quantiles of the results.
 */
export function bootstrapInterval(samples: ReadonlyArray<readonly number[]>, statistic: (resampled: ReadonlyArray<readonly number[]>) => number, options: BootstrapOptions = {}): [number, number] {
  const resamples = options.resamples ?? 4000;
  const random = seededRandom(options.seed ?? 1);
  const results = new Float64Array(resamples);
  const buffers = samples.map((sample) => new Array<number>(sample.length));
  for (let index = 0; index < resamples; index++) {
    for (const [which, sample] of samples.entries()) {
      const buffer = buffers[which] as number[];
      for (let draw = 0; draw < sample.length; draw++) buffer[draw] = sample[Math.floor(random() * sample.length)] as number;
    }
    results[index] = statistic(buffers);
  }
  // A typed array sorts numerically in place, NaN last.
  results.sort();
  let finite = results.length;
  while (finite > 0 && !Number.isFinite(results[finite - 1] as number)) finite--;
  const sorted = results.subarray(0, finite);
  return finite === 0 ? [Number.NaN, Number.NaN] : [quantile(sorted, 0.025), quantile(sorted, 0.975)];
}

const union = (a: [number, number], b: [number, number] | undefined): [number, number] => (b === undefined ? a : [Math.min(a[0], b[0]), Math.max(a[1], b[1])]);

/**
 * Student's t interval of the mean of the logarithms, taken back with exp: for positive figures
 * (rates, CPU per call), whose spread is multiplicative and which cannot go below 0.
 */
export function logTInterval(values: readonly number[]): [number, number] | undefined {
  if (values.length < 2 || values.some((value) => !(value > 0))) return undefined;
  const interval = tInterval(values.map(Math.log)) as [number, number];
  return [Math.exp(interval[0]), Math.exp(interval[1])];
}

/** The interval of one figure from its repeats (t on the logarithms when every value is positive). */
export function medianInterval(values: readonly number[], options: BootstrapOptions = {}): Interval {
  const estimate = median(values);
  if (values.length < 2) return { estimate, n: values.length };
  const [low, high] = union(bootstrapInterval([values], ([sample]) => median(sample as number[]), options), logTInterval(values) ?? tInterval(values));
  return { estimate, low, high, n: values.length };
}

/** The interval of numerator / denominator, two independent sets of repeats. */
export function ratioInterval(numerator: readonly number[], denominator: readonly number[], options: BootstrapOptions = {}): Interval {
  const estimate = median(numerator) / median(denominator);
  const n = Math.min(numerator.length, denominator.length);
  if (n < 2) return { estimate, n };
  const [low, high] = union(bootstrapInterval([numerator, denominator], ([a, b]) => median(a as number[]) / median(b as number[]), options), logRatioInterval(numerator, denominator));
  return { estimate, low, high, n };
}

/** How far the interval reaches from the estimate, as a fraction of it (0.05 = ±5%). */
export function relativeHalfWidth(interval: Interval): number | undefined {
  if (interval.low === undefined || interval.high === undefined || !(interval.estimate !== 0)) return undefined;
  return Math.max(interval.high / interval.estimate - 1, 1 - interval.low / interval.estimate);
}

/** Intervals wider than this (±5%) are flagged in reports. */
export const WIDE_INTERVAL = 0.05;

export function isWide(interval: Interval): boolean {
  const width = relativeHalfWidth(interval);
  return width !== undefined && width > WIDE_INTERVAL;
}
