/**
 * The peak of a point, found as the studies (and `npm run bench:sipp`) find it: an open-loop
 * ladder of offered call rates, `from` upward by `factor` to `to`, stopping at the first rate that
 * fails, then `refine` bisections (geometric) between the last rate that passed and the first that
 * failed. A rate passes when its calls succeed at ≥ `success` (99.9%) and the achieved rate is
 * ≥ `achieved` (95%) of the offered one. The peak is the highest rate that passed, with the run
 * there (throughput, latency, CPU).
 *
 * A step the runner must skip (its window could not contain the workload at that rate) is
 * neither pass nor fail: the ladder climbs on. A step that measured the generator or Redis
 * rather than the proxy ends the ladder, and the peak is then unknown (the point is invalid), as
 * it is when no rate passed or when the top rate still passed (the peak lies above `to`).
 */
import type { BenchResult } from '@switchboard/bench';

export interface PeakSearch {
  readonly from: number;
  readonly to: number;
  readonly factor: number;
  readonly refine: number;
  readonly success: number;
  readonly achieved: number;
  readonly arrivals: 'exponential' | 'deterministic' | 'uniform' | 'pareto';
}

export const DEFAULT_PEAK: Omit<PeakSearch, 'from' | 'to'> = { factor: 1.5, refine: 2, success: 0.999, achieved: 0.95, arrivals: 'deterministic' };

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
}

function stepLoad(result: BenchResult): Pick<LadderStep, 'p99Ms' | 'proxyCpuPercent' | 'proxyRssBytes'> {
  const latency = result.latencyMs?.register ?? result.latencyMs?.['invite-200'];
  const rss = result.proxy?.processes?.reduce((sum, usage) => sum + usage.rssBytesMax, 0);
  return { ...(latency === undefined ? {} : { p99Ms: latency.p99 }), ...(result.proxy === undefined ? {} : { proxyCpuPercent: result.proxy.cpuPercentTotal }), ...(rss === undefined ? {} : { proxyRssBytes: rss }) };
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

export function stepPasses(search: PeakSearch, rate: number, result: BenchResult): boolean {
  return result.calls.successRatio >= search.success && result.calls.perSecond >= search.achieved * rate;
}

export async function searchPeak(search: PeakSearch, runStep: (rate: number) => Promise<StepRun>, options: { readonly signal?: AbortSignal; readonly onStep?: (step: LadderStep) => void } = {}): Promise<PeakOutcome> {
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
  for (let rate = search.from; rate <= search.to * 1.0001 && !signal?.aborted; rate = roundRate(rate * search.factor)) {
    const outcome = await step(rate);
    if (outcome === 'invalid') {
      invalid.push(`peak: the step at ${rate} calls/s did not measure the proxy (${steps.at(-1)?.reasons?.join('; ')}); the peak is unknown`);
      break;
    }
    if (outcome === 'fail') {
      failedAt = rate;
      break;
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
  if (invalid.length === 0) {
    if (best === undefined) invalid.push(steps.every((s) => s.outcome === 'skipped') ? 'peak: no rate of the ladder could be measured (every window too short for the workload)' : `peak: no rate passed (lowest measured ${steps.find((s) => s.outcome !== 'skipped')?.rate} calls/s); lower peak.from`);
    else if (failedAt === undefined) invalid.push(`peak: the top of the ladder (${best.rate} calls/s) still passed; the peak lies above it (raise peak.to)`);
  }
  const result = best?.result ?? lastResult;
  return { steps, ...(best === undefined ? {} : { peakRate: best.rate }), ...(result === undefined ? {} : { result }), invalid };
}
