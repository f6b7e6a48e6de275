/**
 * The peak of a point, found as the studies (and `npm run bench:sipp`) find it: an open-loop
 * ladder of offered call rates, `from` upward by `factor` to `to`, stopping at the first rate that
 * fails, then `refine` bisections (geometric) between the last rate that passed and the first that
 * failed. A rate passes when its calls succeed at ≥ `success` (99.9%) and the achieved rate is
 * ≥ `achieved` (95%) of the offered one and, with `p99Ms`, the 99th percentile of call set-up
 * (or REGISTER) time is at most that bound: a proxy that answers everything in seconds is past
 * its peak however few calls it loses. The peak is the highest rate that passed, with the run
 * there (throughput, latency, CPU).
 *
 * With `start` (a later repeat of a point whose earlier repeats found their peaks), the ladder
 * begins there instead of at `from`: upward by `factor` while steps pass, or downward by
 * `factor` while they fail, until a pass and a failure one factor apart bracket the peak; the
 * same bisections follow. The pass rule and the resolution are those of a ladder from `from`;
 * only the steps far below the peak, which every repeat passes, are saved.
 *
 * Where `from` itself fails (a slower machine than the one the config was written on, a costlier
 * point), the ladder goes on down by `factor`, below `from`, to `floor` (default: three rungs
 * below `from`), until a step passes; that pass and the failure above it bracket the peak, and the
 * same bisections follow. A seed below `from` (earlier repeats that went down) starts there, no
 * lower than `floor`. (Before this, such a point was invalid and its overload steps had no
 * capacity to start from: E6-overload's process-pool on a slower AMD guest, whose ladder failed
 * 100 REGISTERs/s in 3 of 3 repeats, experiments/e6-overload-pool-queue-2026-12-08.)
 *
 * A step the runner must skip (its window could not contain the workload at that rate) is
 * neither pass nor fail: the ladder climbs on (going down, it stops: a window too short for one
 * rate is too short for the lower ones). A step that measured the generator or Redis rather than
 * the proxy ends the ladder, and the peak is then unknown (the point is invalid), as it is when no
 * rate passed down to `floor` or when the top rate still passed (the peak lies above `to`).
 */
import { counterMetric } from '@switchboard/cluster';
import type { BenchResult } from '@switchboard/bench';
import { redisCpuPercent } from './redis-cpu.js';

export interface PeakSearch {
  readonly from: number;
  readonly to: number;
  readonly factor: number;
  readonly refine: number;
  readonly success: number;
  readonly achieved: number;
  readonly arrivals: 'exponential' | 'deterministic' | 'uniform' | 'pareto';
  /** Later repeats of a point start their ladder at the median peak of its earlier repeats (see `start`). */
  readonly seed: boolean;
  /** A bound on the 99th percentile of call set-up (REGISTER) time, in ms, that a passing step must keep. */
  readonly p99Ms?: number;
  /** The lowest rate the ladder goes down to where `from` fails (default: `defaultFloor`). */
  readonly floor?: number;
}

/** Rungs below `from` that the ladder goes down where `from` fails, unless `floor` is given. */
export const FLOOR_RUNGS = 3;

/** `from` divided by `factor` FLOOR_RUNGS times (100, ×1.5: 29.6), at least 0.1 (the rates' resolution below 100). */
export function defaultFloor(search: Pick<PeakSearch, 'from' | 'factor'>): number {
  return Math.max(0.1, roundRate(search.from / search.factor ** FLOOR_RUNGS));
}

export const DEFAULT_PEAK: Omit<PeakSearch, 'from' | 'to'> = { factor: 1.5, refine: 2, success: 0.999, achieved: 0.95, arrivals: 'deterministic', seed: true };

export type StepRun =
  | { readonly kind: 'skipped'; readonly reason: string }
  | { readonly kind: 'run'; readonly result: BenchResult; readonly invalid: readonly string[] };

export interface LadderStep {
  readonly rate: number;
  readonly outcome: 'pass' | 'fail' | 'invalid' | 'skipped';
  readonly successRatio?: number;
  readonly achievedCallsPerSecond?: number;
  readonly operationsPerSecond?: number;
  readonly windowSeconds?: number;
  readonly reasons?: readonly string[];
  /** Response time and the proxy's cost at this rate (REGISTER for registration runs, call setup otherwise). */
  readonly p99Ms?: number;
  readonly proxyCpuPercent?: number;
  readonly proxyRssBytes?: number;
  /**
   * What else spent the budget: the proxy's Redis (it shares the proxy's CPUs and quota, so a
   * step can fail with the proxy's own processes well below a core), and how busy every CPU was
   * (percent, by CPU number, from /proc/stat).
   */
  readonly redisCpuPercent?: number;
  readonly cpusBusyPercent?: Readonly<Record<string, number>>;
  /**
   * Why a step's response time jumped: requests the proxy answered again from a transaction
   * (the phones retransmitted), and datagrams the kernel dropped at a full receive buffer over the
   * window (machine-wide).
   */
  readonly retransmissionsAbsorbed?: number;
  readonly udpReceiveBufferErrors?: number;
  /**
   * The proxy's event loops over the window (every process and worker thread): the lateness of
   * their stalls (a 50 ms timer 50 ms or more late) and their garbage-collection pauses, summed, ms.
   */
  readonly eventLoopStallMilliseconds?: number;
  readonly gcPauseMilliseconds?: number;
  /** What the failed transactions got, by kind (e.g. `503`, `timeout`), when any failed. */
  readonly failures?: Readonly<Record<string, number>>;
}

/** The response time a step is judged by: REGISTER's for registration runs, call set-up (INVITE to 200) otherwise. */
const stepLatency = (result: BenchResult): { readonly p99: number } | undefined => result.latencyMs?.register ?? result.latencyMs?.['invite-200'];

function stepLoad(result: BenchResult): Pick<LadderStep, 'p99Ms' | 'proxyCpuPercent' | 'proxyRssBytes' | 'redisCpuPercent' | 'cpusBusyPercent' | 'retransmissionsAbsorbed' | 'udpReceiveBufferErrors' | 'eventLoopStallMilliseconds' | 'gcPauseMilliseconds' | 'failures'> {
  const latency = stepLatency(result);
  const rss = result.proxy?.processes?.reduce((sum, usage) => sum + usage.rssBytesMax, 0);
  const redis = redisCpuPercent(result);
  const absorbed = result.proxyCounters?.[counterMetric('retransmissionsAbsorbed')];
  const stalls = result.proxyCounters?.[counterMetric('eventLoopStallMilliseconds')];
  const collections = result.proxyCounters?.[counterMetric('gcPauseMilliseconds')];
  return {
    ...(latency === undefined ? {} : { p99Ms: latency.p99 }),
    ...(result.proxy === undefined ? {} : { proxyCpuPercent: result.proxy.cpuPercentTotal }),
    ...(rss === undefined ? {} : { proxyRssBytes: rss }),
    ...(redis === undefined ? {} : { redisCpuPercent: redis }),
    ...(result.cpus === undefined ? {} : { cpusBusyPercent: result.cpus.busyPercent }),
    ...(absorbed === undefined ? {} : { retransmissionsAbsorbed: absorbed }),
    ...(result.udpDrops === undefined ? {} : { udpReceiveBufferErrors: result.udpDrops.receiveBufferErrors }),
    ...(stalls === undefined ? {} : { eventLoopStallMilliseconds: Math.round(stalls) }),
    ...(collections === undefined ? {} : { gcPauseMilliseconds: Math.round(collections) }),
    ...(Object.keys(result.failures ?? {}).length === 0 ? {} : { failures: result.failures }),
  };
}

export interface PeakOutcome {
  readonly steps: readonly LadderStep[];
  /** The highest rate that passed, when the ladder bracketed it. */
  readonly peakRate?: number;
  /** The run at the peak (or, when there is none, the last run made, for the record). */
  readonly result?: BenchResult;
  /** Why the peak is unknown (the point is then invalid). */
  readonly invalid: readonly string[];
}

const roundRate = (rate: number): number => (rate >= 100 ? Math.round(rate) : Math.round(rate * 10) / 10);

/** A step passes on success and achieved rate and, with a latency bound, a p99 inside it (an unmeasured p99 does not pass). */
export function stepPasses(search: PeakSearch, rate: number, result: BenchResult): boolean {
  if (!(result.calls.successRatio >= search.success && result.calls.perSecond >= search.achieved * rate)) return false;
  if (search.p99Ms === undefined) return true;
  const p99 = stepLatency(result)?.p99;
  return p99 !== undefined && p99 <= search.p99Ms;
}

export async function searchPeak(search: PeakSearch, runStep: (rate: number) => Promise<StepRun>, options: { readonly signal?: AbortSignal; readonly onStep?: (step: LadderStep) => void; readonly start?: number; readonly above?: number } = {}): Promise<PeakOutcome> {
  const { signal } = options;
  const steps: LadderStep[] = [];
  let best: { rate: number; result: BenchResult } | undefined;
  let lastResult: BenchResult | undefined;
  let failedAt: number | undefined;
  const step = async (rate: number): Promise<'pass' | 'fail' | 'invalid' | 'skipped'> => {
    const run = await runStep(rate);
    if (run.kind === 'skipped') {
      steps.push({ rate, outcome: 'skipped', reasons: [run.reason] });
      options.onStep?.(steps.at(-1) as LadderStep);
      return 'skipped';
    }
    const { result } = run;
    lastResult = result;
    const outcome = run.invalid.length > 0 ? 'invalid' : stepPasses(search, rate, result) ? 'pass' : 'fail';
    steps.push({ rate, outcome, successRatio: result.calls.successRatio, achievedCallsPerSecond: result.calls.perSecond, operationsPerSecond: result.operations.perSecond, windowSeconds: result.windowSeconds, ...stepLoad(result), ...(run.invalid.length === 0 ? {} : { reasons: run.invalid }) });
    options.onStep?.(steps.at(-1) as LadderStep);
    if (outcome === 'pass') best = { rate, result };
    return outcome;
  };
  const invalid: string[] = [];
  const stop = (rate: number, outcome: 'pass' | 'fail' | 'invalid' | 'skipped'): boolean => {
    if (outcome !== 'invalid') return false;
    invalid.push(`peak: the step at ${rate} calls/s did not measure the proxy (${steps.at(-1)?.reasons?.join('; ')}); the peak is unknown`);
    return true;
  };
  // The lowest rate the ladder may go to: `from`, or below it where `from` fails (see above).
  const floor = Math.min(search.floor ?? defaultFloor(search), search.from);
  // A seed below `from` (earlier repeats peaked under it) starts there: up while passing, and
  // where it fails, down to the floor as a ladder whose `from` failed.
  const start = options.start === undefined ? search.from : Math.min(Math.max(roundRate(options.start), floor), search.to);
  // The next rate up: a factor higher, but `to` itself when the factor would pass it (a seeded
  // ladder starts between the factor's rungs, and its next rung can lie beyond `to`).
  const up = (rate: number): number => (rate < search.to ? Math.min(roundRate(rate * search.factor), search.to) : Number.POSITIVE_INFINITY);
  let climbFrom = start;
  if (start > search.from) {
    // Downward from the seed while steps fail; the first pass brackets the peak with the failure
    // above it. A seed whose window cannot be measured climbs on, as the ladder from `from` would.
    for (let rate = start; !signal?.aborted; rate = Math.max(search.from, roundRate(rate / search.factor))) {
      const outcome = await step(rate);
      if (stop(rate, outcome)) break;
      if (outcome === 'pass' || (outcome === 'skipped' && failedAt === undefined)) {
        // A passing seed climbs to the rate that failed just above the earlier peaks (`above`)
        // when that is nearer than a whole factor: a factor past a peak can lie where the
        // generator, not the proxy, runs out (E6's second repeat: 8,702 passed, 13,053 was the
        // generator's, where the first repeat had failed at 9,630).
        const climb = up(rate);
        climbFrom = outcome === 'pass' && options.above !== undefined && options.above > rate && options.above < climb ? roundRate(options.above) : climb;
        break;
      }
      if (outcome === 'fail') failedAt = rate;
      if (outcome === 'skipped' || rate <= search.from) {
        climbFrom = Number.POSITIVE_INFINITY;
        break;
      }
    }
  }
  if (invalid.length === 0 && failedAt === undefined) {
    for (let rate = climbFrom; rate <= search.to * 1.0001 && !signal?.aborted; rate = up(rate)) {
      const outcome = await step(rate);
      if (stop(rate, outcome)) break;
      if (outcome === 'fail') {
        failedAt = rate;
        break;
      }
    }
  }
  if (invalid.length === 0 && best === undefined && failedAt !== undefined && failedAt <= search.from) {
    // `from` (or a seed below it) failed: the peak lies below. Down by the factor to the floor until a step passes.
    for (let rate = Math.max(floor, roundRate(failedAt / search.factor)); rate < failedAt && !signal?.aborted; rate = Math.max(floor, roundRate(rate / search.factor))) {
      const outcome = await step(rate);
      if (stop(rate, outcome) || outcome === 'pass' || outcome === 'skipped') break;
      failedAt = rate;
    }
  }
  if (invalid.length === 0 && failedAt !== undefined && best !== undefined) {
    let low = best.rate;
    let high = failedAt;
    for (let round = 0; round < search.refine && !signal?.aborted; round++) {
      const middle = roundRate(Math.sqrt(low * high));
      if (middle <= low || middle >= high) break;
      const outcome = await step(middle);
      if (outcome === 'pass') low = middle;
      else if (outcome === 'fail') high = middle;
      else break;
    }
  }
  if (invalid.length === 0 && best === undefined && start > search.from && !steps.some((s) => s.rate <= search.from && s.outcome === 'fail') && !signal?.aborted) {
    // The seed bracketed nothing (its steps failed or could not be measured before `from` was
    // reached): the ladder from `from`, as if unseeded, after the steps made.
    const fallback = await searchPeak(search, runStep, { ...options, start: search.from });
    return { ...fallback, steps: [...steps, ...fallback.steps] };
  }
  if (invalid.length === 0) {
    if (best === undefined) invalid.push(steps.every((s) => s.outcome === 'skipped') ? 'peak: no rate of the ladder could be measured (every window too short for the workload)' : `peak: no rate passed (lowest measured ${Math.min(...steps.filter((s) => s.outcome !== 'skipped').map((s) => s.rate))} calls/s); lower peak.floor`);
    else if (failedAt === undefined) invalid.push(`peak: the top of the ladder (${best.rate} calls/s) still passed; the peak lies above it (raise peak.to)`);
  }
  const result = best?.result ?? lastResult;
  return { steps, ...(best === undefined ? {} : { peakRate: best.rate }), ...(result === undefined ? {} : { result }), invalid };
}
