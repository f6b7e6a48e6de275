/**
 * Whether the proxy really had its CPUs to itself: for each run that recorded how busy every CPU
 * was (`result.cpus`, from /proc/stat) and the proxy's CPU list (its budget), the busy share of
 * those CPUs that the proxy's processes and its Redis do not account for. What is left is other
 * processes on those CPUs, or kernel work no process is charged for (softirqs, mostly: loopback
 * packets received in interrupt context). Host steal is given beside it.
 */
import type { BenchResult } from '@switchboard/bench';
import { median } from '../analysis/confidence-interval.js';
import type { AppliedBudget } from '../experiment/cpu-budget.js';
import { runForeignPercent } from '../experiment/run-validity.js';

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

export function foreignLoad(records: ReadonlyArray<{ readonly result: BenchResult; readonly budget?: AppliedBudget }>): ForeignLoad | undefined {
  const judged = records.flatMap((record) => {
    const percent = runForeignPercent(record.result, record.budget?.proxy.cpus);
    return percent === undefined ? [] : [{ percent, steal: Math.max(0, ...Object.values(record.result.cpus?.stealPercent ?? {})), proxyCpus: record.budget?.proxy.cpus as string }];
  });
  if (judged.length === 0) return undefined;
  const percents = judged.map((run) => run.percent);
  return { medianPercent: round(median(percents)), maxPercent: round(Math.max(...percents)), maxStealPercent: round(Math.max(...judged.map((run) => run.steal))), runs: judged.length, proxyCpus: [...new Set(judged.map((run) => run.proxyCpus))].join(' / ') };
}
