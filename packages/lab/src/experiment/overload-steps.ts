/**
 * Overload past a point's capacity (E6, study 004 §6; the targets): once the peak ladder
 * found the highest REGISTER rate at 100% success (this point's, or with `capacity-of` its source
 * point's), the point is offered `factors` × that rate, each on a fresh proxy, and goodput is
 * what succeeded within the RFC timers (a REGISTER whose 2xx arrived before its timeout,
 * bench.timeout), per second and as a share of the capacity. A step whose generator could not
 * offer the load (out of CPU or files) keeps its figures with the reasons: it did not measure
 * the proxy.
 */
import type { BenchResult } from '@switchboard/bench';
import type { ProxyRunTotals } from './proxy-run-totals.js';

export interface OverloadStep {
  readonly factor: number;
  readonly offeredRate: number;
  readonly attempted: number;
  readonly completed: number;
  readonly goodputPerSecond: number;
  /** Goodput / the capacity found by the ladder (the target: ≥ 0.9 with control on). */
  readonly goodputRatio: number;
  readonly successRatio: number;
  readonly failures: Readonly<Record<string, number>>;
  readonly registerP99Ms?: number;
  readonly proxyCpuPercent?: number;
  /**
   * What overload control did over the proxy's whole run for this step (warm-up, window and
   * drain, from its stop line): requests admitted, shed, answered 503 and dropped.
   */
  readonly proxyRun?: ProxyRunTotals;
  /** Why the step did not measure the proxy (see run-validity.ts); absent when it did. */
  readonly invalid?: readonly string[];
  readonly error?: string;
}

/** Whether a step measured the proxy (it ran, and its generator offered the load): the steps figures come from. */
export function stepMeasured(step: OverloadStep): boolean {
  return step.error === undefined && step.invalid === undefined;
}

/** The measured step at `factor` among `steps`, if there is one. */
export function measuredStepAt(steps: readonly OverloadStep[] | undefined, factor: number): OverloadStep | undefined {
  return steps?.find((step) => step.factor === factor && stepMeasured(step));
}

/** One overload step's measurement and why it does not measure the proxy, if it does not. */
export interface OverloadMeasurement {
  readonly result: BenchResult;
  readonly invalid: readonly string[];
  readonly proxyTotals?: ProxyRunTotals;
}

export async function runOverloadSteps(factors: readonly number[], capacity: number, measureAt: (rate: number) => Promise<OverloadMeasurement>, signal?: AbortSignal): Promise<OverloadStep[]> {
  const steps: OverloadStep[] = [];
  for (const factor of factors) {
    if (signal?.aborted) break;
    const offeredRate = Math.round(capacity * factor);
    try {
      const { result, invalid, proxyTotals } = await measureAt(offeredRate);
      const goodput = result.calls.completed / result.windowSeconds;
      steps.push({
        factor,
        offeredRate,
        attempted: result.calls.attempted,
        completed: result.calls.completed,
        goodputPerSecond: Math.round(goodput * 10) / 10,
        goodputRatio: Math.round((goodput / capacity) * 1000) / 1000,
        successRatio: result.calls.successRatio,
        failures: result.failures,
        ...(result.latencyMs.register === undefined ? {} : { registerP99Ms: result.latencyMs.register.p99 }),
        ...(result.proxy === undefined ? {} : { proxyCpuPercent: result.proxy.cpuPercentTotal }),
        ...(proxyTotals === undefined ? {} : { proxyRun: proxyTotals }),
        ...(invalid.length === 0 ? {} : { invalid }),
      });
    } catch (error) {
      steps.push({ factor, offeredRate, attempted: 0, completed: 0, goodputPerSecond: 0, goodputRatio: 0, successRatio: 0, failures: {}, error: (error as Error).message });
    }
  }
  return steps;
}
