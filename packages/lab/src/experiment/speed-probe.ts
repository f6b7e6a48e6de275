/**
 * How fast the proxy's CPUs are right now. The same code costs different CPU time at different
 * hours on a shared host (on this 2-core VM, Kamailio's CPU per call went from 675 to 1,096 µs
 * between a morning and an afternoon run of `bench:efficiency`), so figures measured hours apart
 * are comparable only as far as the machine stayed the same. Before each run the runner times a
 * fixed CPU-bound workload (integer hashing, no allocation, no I/O) in a fresh process on the
 * proxy's CPUs and records the milliseconds; the report gives their spread over the result set.
 */
import { spawnSync } from 'node:child_process';

/** The workload: fixed, single-threaded, allocation-free; prints its own wall time in ms. */
const WORKLOAD = `
const t0 = performance.now();
let h = 2166136261 >>> 0;
for (let i = 0; i < 40_000_000; i++) { h ^= i & 0xff; h = Math.imul(h, 16777619) >>> 0; }
process.stdout.write(String(performance.now() - t0) + ' ' + h);
`;

function runOnce(cpus: string | undefined): number | undefined {
  const command = cpus === undefined ? process.execPath : 'taskset';
  const args = cpus === undefined ? ['-e', WORKLOAD] : ['-c', cpus, process.execPath, '-e', WORKLOAD];
  const run = spawnSync(command, args, { encoding: 'utf8', timeout: 30_000 });
  if (run.status !== 0) return undefined;
  const ms = Number(run.stdout.split(' ')[0]);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

/** The median of three timings of the workload (ms) on `cpus` (a taskset list), or undefined when it cannot run. */
export function probeSpeed(cpus: string | undefined): number | undefined {
  const times = [runOnce(cpus), runOnce(cpus), runOnce(cpus)].filter((ms): ms is number => ms !== undefined).sort((a, b) => a - b);
  if (times.length === 0) return undefined;
  return Math.round((times[Math.floor(times.length / 2)] as number) * 10) / 10;
}

/** Over a result set: the slowest probe over the fastest, minus one (0.6 = the CPUs ran 60% slower at worst). */
export function speedSpread(probes: readonly number[]): { readonly min: number; readonly max: number; readonly spread: number } | undefined {
  if (probes.length === 0) return undefined;
  const min = Math.min(...probes);
  const max = Math.max(...probes);
  return { min, max, spread: max / min - 1 };
}
