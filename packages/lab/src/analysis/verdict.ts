/**
 * The verdict on one published figure, from our interval:
 *
 * - a published **ratio** (the figure has a denominator) is `reproduced` when our whole interval
 *   lies on the published side of 1 and within the tolerance band of the published magnitude
 *   (the published value or range, divided and multiplied by the tolerance factor: 1.5 by
 *   default, a band symmetric on the log scale); `direction only` when it lies on that side but
 *   not inside the band; `not reproduced` when it lies on the other side of 1; `inconclusive`
 *   when it spans 1;
 * - a published **magnitude** (no denominator, or a published ratio of exactly 1): `reproduced`
 *   when the interval lies inside the band, `not reproduced` when it lies wholly outside it,
 *   `inconclusive` otherwise;
 * - a **target** of our own (`compare: at-least` / `at-most`): `target met` when the whole
 *   interval is on the right side of it, `target missed` when wholly on the wrong side,
 *   `inconclusive` when it spans the target;
 * - `no valid data` when no valid point (≥ 99.9% success, generator and Redis within budget,
 *   window containing the workload) matches, and `inconclusive` when there are fewer than two
 *   valid repeats, so no interval.
 */
import type { Interval } from './confidence-interval.js';

export type Verdict = 'reproduced' | 'direction only' | 'not reproduced' | 'inconclusive' | 'target met' | 'target missed' | 'no valid data';

export const DEFAULT_TOLERANCE = 1.5;

export interface FigureToJudge {
  /** The published value (or our target). */
  readonly value: number;
  /** A published range ("4–7x"): the band is built around it instead of `value`. */
  readonly range?: readonly [number, number];
  /** `ratio` for figures with a denominator, `magnitude` for a single metric. */
  readonly shape: 'ratio' | 'magnitude';
  /** Our own target, not a study's figure. */
  readonly target?: 'at-least' | 'at-most';
}

/** The band a reproduced interval must lie in. */
export function toleranceBand(figure: FigureToJudge, tolerance = DEFAULT_TOLERANCE): [number, number] {
  const [low, high] = figure.range ?? [figure.value, figure.value];
  return [Math.min(low, high) / tolerance, Math.max(low, high) * tolerance];
}

export function verdict(figure: FigureToJudge, ours: Interval | undefined, tolerance = DEFAULT_TOLERANCE): Verdict {
  if (ours === undefined || !Number.isFinite(ours.estimate)) return 'no valid data';
  if (ours.low === undefined || ours.high === undefined) return 'inconclusive';
  const { low, high } = ours;
  if (figure.target !== undefined) {
    const above = low >= figure.value;
    const below = high <= figure.value;
    if (figure.target === 'at-least') return above ? 'target met' : high < figure.value ? 'target missed' : 'inconclusive';
    return below ? 'target met' : low > figure.value ? 'target missed' : 'inconclusive';
  }
  const [bandLow, bandHigh] = toleranceBand(figure, tolerance);
  const inBand = low >= bandLow && high <= bandHigh;
  if (figure.shape === 'magnitude' || figure.value === 1) {
    if (inBand) return 'reproduced';
    return high < bandLow || low > bandHigh ? 'not reproduced' : 'inconclusive';
  }
  if (low <= 1 && high >= 1) return 'inconclusive';
  const oursAbove = low > 1;
  if (oursAbove !== figure.value > 1) return 'not reproduced';
  return inBand ? 'reproduced' : 'direction only';
}
