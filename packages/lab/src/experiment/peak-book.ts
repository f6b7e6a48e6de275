/**
 * The peaks the ladders of an experiment have found so far, per point and repeat, read from its
 * results file and added as runs finish. Two things are derived from them: the seed of a later
 * repeat's ladder at the same point (the median of the earlier peaks, and of the lowest rates that
 * failed above them) and the capacity an overloaded point takes from its source point in the same
 * repeat (`workload.overload.capacity-of`, see capacity-source.ts).
 */
import { median } from '../analysis/confidence-interval.js';
import type { ExperimentRecord } from './experiment-record.js';

/** Where a ladder may start: an earlier peak, and the lowest rate that failed above it. */
export interface EarlierPeak {
  readonly rate: number;
  readonly above?: number;
}

interface NotedPeak extends EarlierPeak {
  readonly quick: boolean;
  readonly valid: boolean;
}

export class PeakBook {
  /** By point key, then repeat. */
  readonly #peaks = new Map<string, Map<number, NotedPeak>>();

  /** Notes a run's peak; a run without one, or that ended in an error, adds nothing. */
  note(record: Pick<ExperimentRecord, 'pointKey' | 'repeat' | 'quick' | 'peak' | 'invalid' | 'error'>): void {
    const rate = record.peak?.rate;
    if (rate === undefined || record.error !== undefined) return;
    const failedAbove = (record.peak?.steps ?? []).filter((step) => step.outcome === 'fail' && step.rate > rate).map((step) => step.rate);
    const peaks = this.#peaks.get(record.pointKey) ?? new Map<number, NotedPeak>();
    peaks.set(record.repeat, { rate, ...(failedAbove.length === 0 ? {} : { above: Math.min(...failedAbove) }), quick: record.quick, valid: (record.invalid?.length ?? 0) === 0 });
    this.#peaks.set(record.pointKey, peaks);
  }

  /** The seed of a new ladder at point `key`: from the valid peaks of full (not quick) runs only. */
  seed(key: string): EarlierPeak | undefined {
    const earlier = [...(this.#peaks.get(key)?.values() ?? [])].filter((peak) => peak.valid && !peak.quick);
    if (earlier.length === 0) return undefined;
    const aboves = earlier.flatMap((peak) => (peak.above === undefined ? [] : [peak.above]));
    return { rate: median(earlier.map((peak) => peak.rate)), ...(aboves.length === 0 ? {} : { above: median(aboves) }) };
  }

  /**
   * The capacity point `key` found in `repeat`: its valid ladder's peak. A smoke run (quick) keeps
   * an invalid ladder's highest passing rate too: it exercises the steps, as its overload steps do.
   */
  capacity(key: string, repeat: number): number | undefined {
    const peak = this.#peaks.get(key)?.get(repeat);
    return peak !== undefined && (peak.valid || peak.quick) ? peak.rate : undefined;
  }
}
