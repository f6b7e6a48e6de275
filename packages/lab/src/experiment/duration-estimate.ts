/**
 * How long an experiment will take, before it runs: every point and repeat, each a ladder of
 * steps (peak experiments) or one run, each step costing its window (lengthened as the runner
 * would lengthen it for connection lifetimes), the warm-up, and a fixed overhead for starting
 * Redis and the proxy, registering the phones and stopping everything.
 *
 * A peak ladder's length depends on where the peak lies, which is what the run is for; the
 * estimate takes a guess per point (`guessCallsPerSecond`, e.g. from an earlier run) and
 * otherwise assumes the geometric middle of the ladder. Points whose key is in `reused` (runs
 * taken from another experiment, `reuse:`) are left out.
 */
import { capacitySourceKey } from './capacity-source.js';
import type { ExperimentConfig } from './experiment-config.js';
import { experimentPoints, pointKey } from './experiment-matrix.js';
import type { ExperimentPoint } from './experiment-record.js';
import { windowNeeded } from './run-validity.js';

export interface DurationEstimate {
  readonly id: string;
  readonly points: number;
  readonly runs: number;
  /** Measurements (ladder steps or single runs) over every point and repeat. */
  readonly measurements: number;
  readonly seconds: number;
}

/** Seconds to start Redis and the proxy, register `phones` phones, drain and stop. */
export function overheadSeconds(point: ExperimentPoint, phones: number): number {
  return 6 + phones / (point.transport === 'udp' ? 1000 : 400);
}

export function estimateDuration(config: ExperimentConfig, guessCallsPerSecond: (point: ExperimentPoint, key: string) => number | undefined = () => undefined, reused: ReadonlySet<string> = new Set()): DurationEstimate {
  // Points another experiment measures for this one (`reuse:`) cost nothing here.
  const all = experimentPoints(config);
  const points = all.filter((point) => !reused.has(pointKey(point)));
  const { durationSeconds, warmupSeconds } = config.bench;
  const maxSeconds = Math.max(durationSeconds, config.window.maxSeconds);
  let perRepeat = 0;
  let measurements = 0;
  // Later repeats of a peak point start at the earlier peak (`peak.seed`): two steps bracket it.
  let laterSeconds = 0;
  let laterMeasurements = 0;
  for (const point of points) {
    const phones = point.clients ?? config.bench.pairs;
    const operationsPerCall = point.extra?.auth !== undefined && point.extra.auth !== 'off' ? 3 : 2;
    const stepSeconds = (rate: number): number | undefined => {
      const needed = Math.ceil(windowNeeded(point, rate, operationsPerCall, config.window.reconnections));
      if (needed > maxSeconds) return undefined;
      return overheadSeconds(point, phones) + warmupSeconds + Math.max(durationSeconds, needed);
    };
    const search = config.peak;
    // E6's overload steps after the ladder; a point that takes its capacity from another runs them alone.
    const overload = config.workload?.kind === 'registration' ? config.workload.overload : undefined;
    const overloadSeconds = overload === undefined ? 0 : overload.factors.length * (overheadSeconds(point, phones) + (overload.warmupSeconds ?? warmupSeconds) + overload.durationSeconds);
    const overloadMeasurements = overload?.factors.length ?? 0;
    if (search !== undefined && overload !== undefined && capacitySourceKey(point, overload.capacityOf) !== undefined) {
      perRepeat += overloadSeconds;
      measurements += overloadMeasurements;
      laterSeconds += overloadSeconds;
      laterMeasurements += overloadMeasurements;
      continue;
    }
    if (search === undefined) {
      perRepeat += overheadSeconds(point, phones) + warmupSeconds + durationSeconds;
      measurements++;
      laterSeconds += overheadSeconds(point, phones) + warmupSeconds + durationSeconds;
      laterMeasurements++;
      continue;
    }
    const peak = guessCallsPerSecond(point, pointKey(point)) ?? Math.sqrt(search.from * search.to);
    let rate = search.from;
    let firstSeconds = 0;
    let firstMeasurements = 0;
    for (; rate <= search.to * 1.0001; rate *= search.factor) {
      const seconds = stepSeconds(rate);
      if (seconds !== undefined) {
        firstSeconds += seconds;
        firstMeasurements++;
      }
      if (rate > peak) break;
    }
    // The bisections lie between the peak and the rate that failed.
    const atPeak = stepSeconds(peak) ?? 0;
    const bisections = rate <= search.to * 1.0001 && atPeak > 0 ? search.refine : 0;
    firstSeconds += atPeak * bisections;
    firstMeasurements += bisections;
    perRepeat += firstSeconds + overloadSeconds;
    measurements += firstMeasurements + overloadMeasurements;
    if (search.seed && atPeak > 0 && peak > search.from && rate <= search.to * 1.0001) {
      laterSeconds += atPeak * (2 + search.refine);
      laterMeasurements += 2 + search.refine;
    } else {
      laterSeconds += firstSeconds;
      laterMeasurements += firstMeasurements;
    }
    laterSeconds += overloadSeconds;
    laterMeasurements += overloadMeasurements;
  }
  const later = Math.max(0, config.repeats - 1);
  return { id: config.id, points: all.length, runs: all.length * config.repeats, measurements: measurements + laterMeasurements * later, seconds: Math.round(perRepeat + laterSeconds * later) };
}
