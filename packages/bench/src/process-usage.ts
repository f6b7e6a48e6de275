/**
 * CPU and memory of processes while a window runs: the proxy under test (a pid and, on Linux,
 * its descendants: the workers of a process pool) sampled with pidusage. Mean CPU comes from
 * the CPU time used over the window, not from averaging samples.
 */
import { readFile, readdir } from 'node:fs/promises';
import pidusage from 'pidusage';
import type { ProcessUsage } from './bench-result.js';

/** Children of `pid` and their children (Linux /proc; none elsewhere). */
export async function descendants(pid: number): Promise<number[]> {
  const found: number[] = [];
  const visit = async (id: number): Promise<void> => {
    let tasks: string[];
    try {
      tasks = await readdir(`/proc/${id}/task`);
    } catch {
      return;
    }
    const lists = await Promise.all(tasks.map((task) => readFile(`/proc/${id}/task/${task}/children`, 'utf8').catch(() => '')));
    const children = lists.join(' ').split(/\s+/).filter(Boolean).map(Number);
    for (const child of children) {
      found.push(child);
      await visit(child);
    }
  };
  await visit(pid);
  return found;
}

/** The CPU numbers of a taskset list ("0-2,5" → [0, 1, 2, 5]); undefined when it cannot be read. */
export function cpuNumbers(list: string): number[] | undefined {
  const numbers: number[] = [];
  for (const part of list.split(',').map((item) => item.trim()).filter(Boolean)) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (match === null) return undefined;
    const last = match[2] === undefined ? Number(match[1]) : Number(match[2]);
    for (let cpu = Number(match[1]); cpu <= last; cpu++) numbers.push(cpu);
  }
  return numbers.length > 0 ? numbers : undefined;
}

/** The CPUs of a taskset list ("0-2,5" → 4); undefined when it cannot be read. */
export function cpuCount(list: string): number | undefined {
  return cpuNumbers(list)?.length;
}

interface Track {
  readonly pid: number;
  readonly role: string;
  startCpuMs: number | undefined;
  lastCpuMs: number | undefined;
  cpuPercentMax: number;
  rssBytesMax: number;
}

export class ProcessSampler {
  readonly #tracks: Track[];
  #timer: NodeJS.Timeout | undefined;
  #startedAt = 0;
  #sampling: Promise<void> = Promise.resolve();

  constructor(processes: ReadonlyArray<{ pid: number; role: string }>) {
    this.#tracks = processes.map(({ pid, role }) => ({ pid, role, startCpuMs: undefined, lastCpuMs: undefined, cpuPercentMax: 0, rssBytesMax: 0 }));
  }

  async start(intervalMs = 500): Promise<void> {
    this.#startedAt = performance.now();
    await this.#sample(true);
    this.#timer = setInterval(() => {
      this.#sampling = this.#sample(false);
    }, intervalMs);
    // A run that fails between start and stop must not be kept alive by its sampler.
    this.#timer.unref();
  }

  async #sample(first: boolean): Promise<void> {
    await Promise.all(
      this.#tracks.map(async (track) => {
        try {
          const stat = await pidusage(track.pid);
          if (first) track.startCpuMs = stat.ctime;
          else track.cpuPercentMax = Math.max(track.cpuPercentMax, stat.cpu);
          track.lastCpuMs = stat.ctime;
          track.rssBytesMax = Math.max(track.rssBytesMax, stat.memory);
        } catch {
          // The process ended (a worker replaced): keep what was seen.
        }
      }),
    );
  }

  async stop(): Promise<ProcessUsage[]> {
    clearInterval(this.#timer);
    await this.#sampling;
    await this.#sample(false);
    const elapsedMs = performance.now() - this.#startedAt;
    pidusage.clear();
    return this.#tracks.map((track) => ({
      pid: track.pid,
      role: track.role,
      cpuPercent: track.startCpuMs === undefined || track.lastCpuMs === undefined || elapsedMs <= 0 ? 0 : Math.round(((track.lastCpuMs - track.startCpuMs) / elapsedMs) * 1000) / 10,
      cpuPercentMax: Math.round(track.cpuPercentMax * 10) / 10,
      rssBytesMax: track.rssBytesMax,
    }));
  }
}
