/**
 * The probe's statistics: REGISTER response times (milliseconds) gathered by several generator
 * processes as plain arrays, merged and summarised with nearest-rank percentiles. A probe window
 * holds at most a few tens of thousands of samples, so sorting them is cheap and exact.
 */
import type { LatencySummary } from '../bench-result.js';

/** The nearest-rank `q`-quantile (0 < q ≤ 1) of sorted values. */
export function nearestRank(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] as number;
}

const round = (value: number): number => Math.round(value * 1000) / 1000;

export function summarizeLatencies(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const count = sorted.length;
  const mean = count === 0 ? 0 : sorted.reduce((sum, value) => sum + value, 0) / count;
  return {
    count,
    min: round(sorted[0] ?? 0),
    mean: round(mean),
    p50: round(nearestRank(sorted, 0.5)),
    p90: round(nearestRank(sorted, 0.9)),
    p99: round(nearestRank(sorted, 0.99)),
    p999: round(nearestRank(sorted, 0.999)),
    max: round(sorted[count - 1] ?? 0),
  };
}
