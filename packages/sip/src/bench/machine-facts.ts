import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface MachineFacts {
  readonly cpu: string;
  /** CPUs this process may use (os.availableParallelism: 1 for a runner pinned to one CPU). */
  readonly cores: number;
  /** CPUs the machine has online (absent in results recorded before it was). */
  readonly cpusOnline?: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
  /** CPUs this process may run on (Cpus_allowed_list): shows taskset pinning. */
  readonly cpusAllowed: string;
  readonly date: string;
}

/** Facts recorded with every benchmark result, so a figure can be held next to its machine. */
export function machineFacts(): MachineFacts {
  let cpusAllowed = 'unknown';
  try {
    cpusAllowed = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 'unknown';
  } catch {
    // not Linux
  }
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    cpusOnline: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpusAllowed,
    date: new Date().toISOString(),
  };
}

/** "2 CPUs, the recording process allowed 1 (CPU 1)": the machine's CPUs and the share of the process that recorded them. */
export function describeCpus(facts: MachineFacts): string {
  const allowed = `${facts.cores} (CPU${facts.cores === 1 ? '' : 's'} ${facts.cpusAllowed})`;
  return facts.cpusOnline === undefined ? `the recording process allowed ${allowed}` : `${facts.cpusOnline} CPUs, the recording process allowed ${allowed}`;
}

/** One line of machine facts for a bench's report. */
export function describeMachine(facts: MachineFacts): string {
  return `${facts.cpu}, ${describeCpus(facts)}, ${facts.memoryGiB} GiB, Node ${facts.node}, ${facts.platform}; ${facts.date}`;
}
