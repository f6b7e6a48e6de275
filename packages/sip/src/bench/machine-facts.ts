import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface MachineFacts {
  readonly cpu: string;
  readonly cores: number;
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
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpusAllowed,
    date: new Date().toISOString(),
  };
}
