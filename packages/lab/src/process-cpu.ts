/**
 * CPU time of a process tree from /proc (Linux): user and system apart, in milliseconds, for the
 * process and every descendant alive when read (a pool's workers). Read before and after a window,
 * the difference is what the tree spent in it.
 */
import { readFile, readdir } from 'node:fs/promises';

export interface CpuTimes {
  readonly userMs: number;
  readonly systemMs: number;
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

async function processTimes(pid: number): Promise<CpuTimes> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command (which may hold spaces), from field 3 (state): utime is field 14, stime 15.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const toMs = (ticks: string | undefined): number => ((Number(ticks) || 0) * 1000) / TICKS_PER_SECOND;
  return { userMs: toMs(fields[11]), systemMs: toMs(fields[12]) };
}

async function treePids(pid: number): Promise<number[]> {
  const found = [pid];
  for (let i = 0; i < found.length; i++) {
    const id = found[i] as number;
    const tasks = await readdir(`/proc/${id}/task`).catch(() => [] as string[]);
    const lists = await Promise.all(tasks.map((task) => readFile(`/proc/${id}/task/${task}/children`, 'utf8').catch(() => '')));
    for (const child of lists.join(' ').split(/\s+/).filter(Boolean)) found.push(Number(child));
  }
  return found;
}

/** User and system CPU of `pid` and its descendants so far; processes gone meanwhile count 0. */
export async function treeCpuTimes(pid: number): Promise<CpuTimes> {
  const times = await Promise.all((await treePids(pid)).map((id) => processTimes(id).catch(() => ({ userMs: 0, systemMs: 0 }))));
  return times.reduce((sum, time) => ({ userMs: sum.userMs + time.userMs, systemMs: sum.systemMs + time.systemMs }), { userMs: 0, systemMs: 0 });
}
