/**
 * How busy each CPU of the machine was over a window, from the kernel's own accounting
 * (/proc/stat): busy = everything but idle and iowait, and steal (time the hypervisor gave to
 * another guest) apart. Beside the CPU time of the processes a run watches, it shows whether
 * anything else ran on the proxy's CPUs (other processes, or kernel work such as softirqs that no
 * process is charged for) and whether the host took CPU away from this VM. Linux only; elsewhere
 * nothing is recorded.
 */
import { readFile } from 'node:fs/promises';

/** Jiffies of one CPU at one instant. */
interface CpuJiffies {
  readonly total: number;
  readonly idle: number;
  readonly steal: number;
}

export type CpuTimesSnapshot = ReadonlyMap<string, CpuJiffies>;

/** Per CPU (by number, as /proc/stat names them "cpu0", "cpu1"...), percent of that CPU over the window. */
export interface CpuBusy {
  readonly busyPercent: Readonly<Record<string, number>>;
  readonly stealPercent: Readonly<Record<string, number>>;
}

/** Parses /proc/stat's per-CPU lines (the aggregate "cpu" line is left out). */
export function parseCpuTimes(text: string): CpuTimesSnapshot {
  const cpus = new Map<string, CpuJiffies>();
  for (const line of text.split('\n')) {
    const match = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (match === null) continue;
    // user nice system idle iowait irq softirq steal guest guest_nice: guest time is already in user.
    const fields = (match[2] as string).trim().split(/\s+/).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
    cpus.set(match[1] as string, { total: user + nice + system + idle + iowait + irq + softirq + steal, idle: idle + iowait, steal });
  }
  return cpus;
}

export async function readCpuTimes(): Promise<CpuTimesSnapshot | undefined> {
  try {
    return parseCpuTimes(await readFile('/proc/stat', 'utf8'));
  } catch {
    return undefined;
  }
}

const percent = (part: number, whole: number): number => (whole <= 0 ? 0 : Math.round((part / whole) * 1000) / 10);

/** Busy and steal percent of each CPU between two snapshots (CPUs present in both). */
export function cpuBusyBetween(before: CpuTimesSnapshot, after: CpuTimesSnapshot): CpuBusy {
  const busyPercent: Record<string, number> = {};
  const stealPercent: Record<string, number> = {};
  for (const [cpu, end] of after) {
    const start = before.get(cpu);
    if (start === undefined) continue;
    const total = end.total - start.total;
    const steal = end.steal - start.steal;
    busyPercent[cpu] = percent(total - (end.idle - start.idle) - steal, total);
    stealPercent[cpu] = percent(steal, total);
  }
  return { busyPercent, stealPercent };
}
