/**
 * The M/G/1 fit of study 003 over E9's load points: per load, ρ = λE[X] and the modelled wait
 * W = λE[X²]/(2(1 − ρ)) beside the measured wait (batch-means interval), α(λ) the inflation of
 * the mean service time over the lightest load's, and where the model stops holding.
 */
import type { BatchMeansEstimate } from './batch-means.js';
import { mg1Waiting, utilisation } from './mg1.js';
import type { Moments } from './service-moments.js';

/** What one E9 load point measured (times in seconds, rates per second). */
export interface LoadPointMeasurement {
  readonly arrivals: string;
  /** Offered calls per second, and achieved. */
  readonly offeredCallsPerSecond: number;
  readonly achievedCallsPerSecond: number;
  readonly successRatio: number;
  /** Messages arriving at the proxy per second (λ), from the capture. */
  readonly lambda: number;
  readonly service: { readonly byKind: Readonly<Record<string, Moments>>; readonly overall: Moments };
  /** Waiting time (residence − service) of the matched messages, batch means. */
  readonly waiting: BatchMeansEstimate;
  readonly residenceMean: number;
  readonly matched: number;
}

export interface FitRow {
  readonly arrivals: string;
  readonly offeredCallsPerSecond: number;
  readonly achievedCallsPerSecond: number;
  readonly successRatio: number;
  readonly lambda: number;
  readonly meanService: number;
  readonly meanSquareService: number;
  readonly rho: number;
  readonly alpha: number;
  readonly modelled: number;
  readonly measured: BatchMeansEstimate;
  /** modelled / measured. */
  readonly ratio: number;
  /** The model within the measured interval, or within `tolerance` of the measured mean. */
  readonly holds: boolean;
}

/** Relative distance within which modelled and measured waits agree when the interval is narrower. */
export const AGREEMENT_TOLERANCE = 0.25;

export function fitRows(points: readonly LoadPointMeasurement[], tolerance = AGREEMENT_TOLERANCE): FitRow[] {
  const rows: FitRow[] = [];
  const byArrivals = new Map<string, LoadPointMeasurement[]>();
  for (const point of points) {
    const list = byArrivals.get(point.arrivals) ?? [];
    list.push(point);
    byArrivals.set(point.arrivals, list);
  }
  for (const [arrivals, list] of byArrivals) {
    const sorted = [...list].sort((a, b) => a.offeredCallsPerSecond - b.offeredCallsPerSecond);
    const base = sorted.find((point) => Number.isFinite(point.service.overall.mean))?.service.overall.mean ?? Number.NaN;
    for (const point of sorted) {
      const { mean, meanSquare } = point.service.overall;
      const rho = utilisation(point.lambda, mean);
      const modelled = mg1Waiting(point.lambda, mean, meanSquare);
      const measured = point.waiting;
      const ratio = modelled / measured.mean;
      const inInterval = Number.isFinite(measured.low) && modelled >= measured.low && modelled <= measured.high;
      rows.push({
        arrivals,
        offeredCallsPerSecond: point.offeredCallsPerSecond,
        achievedCallsPerSecond: point.achievedCallsPerSecond,
        successRatio: point.successRatio,
        lambda: point.lambda,
        meanService: mean,
        meanSquareService: meanSquare,
        rho,
        alpha: mean / base,
        modelled,
        measured,
        ratio,
        holds: rho < 1 && (inInterval || Math.abs(ratio - 1) <= tolerance),
      });
    }
  }
  return rows;
}

/** The first load (by offered rate) of an arrival process from which the model no longer holds, if any. */
export function breakdown(rows: readonly FitRow[], arrivals: string): FitRow | undefined {
  return rows.filter((row) => row.arrivals === arrivals).sort((a, b) => a.offeredCallsPerSecond - b.offeredCallsPerSecond).find((row) => !row.holds);
}
