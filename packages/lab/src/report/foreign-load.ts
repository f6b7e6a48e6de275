/**
 * Whether the proxy really had its CPUs to itself: for each run that recorded how busy every CPU
 * was (`result.cpus`, from /proc/stat) and the proxy's CPU list (its budget), the busy share of
 * those CPUs that the proxy's processes and its Redis do not account for. What is left is other
 * processes on those CPUs, or kernel work no process is charged for (softirqs, mostly: loopback
 * packets received in interrupt context). Host steal is given beside it.
 */
import { cpuNumbers, type BenchResult } from '@switchboard/bench';
import { median } from '../analysis/confidence-interval.js';
import type { AppliedBudget } from '../experiment/cpu-budget.js';

export interface ForeignLoad {
  /** Percent of one core, over the runs that could be judged. */
  readonly medianPercent: number;
  readonly maxPercent: number;
  /** The most the host stole from any CPU in any of those runs, percent of that CPU. */
  readonly maxStealPercent: number;
  readonly runs: number;
  readonly proxyCpus: string;
}

const round = (value: number): number => Math.round(value * 10) / 10;

/** Busy percent of the proxy's CPUs beyond the proxy and Redis in one run, or undefined when it cannot be told. */
export function runForeignPercent(result: BenchResult, proxyCpus: string | undefined): number | undefined {
  if (result.cpus === undefined || proxyCpus === undefined || result.proxy === undefined) return undefined;
  const cpus = cpuNumbers(proxyCpus);
  if (cpus === undefined || cpus.some((cpu) => result.cpus?.busyPercent[cpu] === undefined)) return undefined;
  const busy = cpus.reduce((sum, cpu) => sum + (result.cpus?.busyPercent[cpu] ?? 0), 0);
  const accounted = result.proxy.cpuPercentTotal + (result.observed ?? []).reduce((sum, usage) => sum + usage.cpuPercent, 0);
  // Sampling instants differ by a few ms, so what is left can dip just below zero.
  return Math.max(0, busy - accounted);
}

export function foreignLoad(records: ReadonlyArray<{ readonly result: BenchResult; readonly budget?: AppliedBudget }>): ForeignLoad | undefined {
  const judged = records.flatMap((record) => {
    const percent = runForeignPercent(record.result, record.budget?.proxy.cpus);
    return percent === undefined ? [] : [{ percent, steal: Math.max(0, ...Object.values(record.result.cpus?.stealPercent ?? {})), proxyCpus: record.budget?.proxy.cpus as string }];
  });
  if (judged.length === 0) return undefined;
  const percents = judged.map((run) => run.percent);
  return { medianPercent: round(median(percents)), maxPercent: round(Math.max(...percents)), maxStealPercent: round(Math.max(...judged.map((run) => run.steal))), runs: judged.length, proxyCpus: [...new Set(judged.map((run) => run.proxyCpus))].join(' / ') };
}
