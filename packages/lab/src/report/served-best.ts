/**
 * What a step under overload could have served, as a second denominator for its goodput
 * (E6-overload).
 *
 * Goodput / capacity divides by the ladder's peak: the highest rate a fresh proxy kept at 100%
 * success with p99 within the ladder's bound. On a small CPU budget that bound is met far below
 * what the proxy can serve (E6-overload, 2026-12-05: the event-loop's UDP peak 932–1,148/s, where
 * the same proxy without control served 1,864–2,263/s at "2x"), so "goodput / capacity" of 1.6 at
 * 8x says the offered load was not 8x of what the proxy could do, not that control kept it whole.
 * The issue's own first figures read goodput "of its best". So a step's goodput is also divided by
 * what could have been served there: the lesser of the step's offered rate and the most its
 * capacity source (the control-off run of the same repeat, or the run itself when it climbed its
 * own ladder) served in any measurement it made, a passing ladder step's achieved rate or a valid
 * overload step's goodput. That denominator is not low because a latency bound was, nor high
 * where the load offered was below what the proxy can serve, and what control loses shows.
 */
import type { BenchResult } from '@switchboard/bench';
import type { ExperimentRecord } from '../experiment/experiment-record.js';
import { measuredStepAt, stepMeasured } from '../experiment/overload-steps.js';

type Measured = ExperimentRecord & { result: BenchResult };

/** A record with the most its capacity source served (REGISTERs or calls per second), where known. */
export type WithServedBest<T> = T & { readonly sourceServedBest?: number };

/** The most a run served: its passing ladder steps' achieved rates and its valid overload steps' goodput. */
export function servedBest(record: ExperimentRecord): number | undefined {
  const ladder = (record.peak?.steps ?? []).filter((step) => step.outcome === 'pass').map((step) => step.achievedCallsPerSecond ?? step.rate);
  const overload = (record.overload ?? []).filter(stepMeasured).map((step) => step.goodputPerSecond);
  const served = [...ladder, ...overload].filter((rate) => Number.isFinite(rate) && rate > 0);
  return served.length === 0 ? undefined : Math.max(...served);
}

/**
 * Each record with `sourceServedBest`: for a run overloaded at multiples of another run's
 * capacity (`capacity.of`), what that run served at most in the same repeat; for a run with
 * overload steps after its own ladder, what it served itself. Other records are returned as they are.
 */
export function withSourceServedBest<T extends ExperimentRecord>(records: readonly T[]): Array<WithServedBest<T>> {
  const byRun = new Map(records.map((record) => [`${record.pointKey}#${record.repeat}`, record]));
  return records.map((record) => {
    if ((record.overload?.length ?? 0) === 0) return record;
    const source = record.capacity === undefined ? record : byRun.get(`${record.capacity.of}#${record.repeat}`);
    const best = source === undefined ? undefined : servedBest(source);
    return best === undefined ? record : { ...record, sourceServedBest: best };
  });
}

/** Goodput at `factor` / the lesser of its offered rate and the most the run's capacity source served (undefined without both). */
export const goodputOfServable = (factor: number) => (record: WithServedBest<Measured>): number | undefined => {
  const step = measuredStepAt(record.overload, factor);
  if (step === undefined || record.sourceServedBest === undefined) return undefined;
  const servable = Math.min(step.offeredRate, record.sourceServedBest);
  return servable > 0 ? step.goodputPerSecond / servable : undefined;
};
