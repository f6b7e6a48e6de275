/**
 * Whether a run measured the proxy, and whether its window contained its workload. A run is
 * invalid when:
 * - the generator ran out of its CPU budget (one process above the limit of a core, or all of
 *   them summed above the limit of the cores it was given): the figure would measure the
 *   generator;
 * - the proxy's Redis was above the limit of its one core (Redis serves on one thread): the
 *   figure would measure Redis;
 * - a connection lifetime of the point did not churn within the window: with `per-ops:N` the
 *   window's operations must imply at least `reconnections` (50) reconnections per side
 *   (window operations / N), and the proxy's own counters must show at least half of them as
 *   accepts (callers) or opens (callees). Without that the point is the persistent workload under
 *   another name. Every phone need not go through a whole lifetime in the window: the generator
 *   gives each phone's first connection a random share of its lifetime (phone-links.ts), so
 *   connections retire at the steady rate operations / N from the first call on, whatever the
 *   number of phones.
 * - a registration run's connections failed on the generator's own side (`connect:<code>`:
 *   EADDRNOTAVAIL, EADDRINUSE, EMFILE, ...): what it held or how fast it opened would be the
 *   generator's limit (E5's first sitting held 13,232 of 19,000 that way and was not told);
 * - other work kept the proxy's CPUs busy above FOREIGN_LOAD_LIMIT_PERCENT of a core in the window
 *   (judged when the proxy's CPU list is given): the proxy did not have its budget to itself.
 * Calls below 99.9% success do not make a run invalid, but such points never feed a published
 * comparison (see report-data.ts).
 */
import type { BenchResult } from '@switchboard/bench';
import { cpuCount, cpuNumbers } from '@switchboard/bench';
import { counterMetric } from '@switchboard/cluster';
import type { ExperimentPoint } from './experiment-record.js';

export interface WindowCheck {
  readonly side: 'caller' | 'callee';
  readonly lifetime: string;
  /** Operations a connection carries before it is replaced. */
  readonly operationsPerConnection: number;
  readonly phones: number;
  /** Reconnections the window's operations imply. */
  readonly expected: number;
  /** Accepts (caller side) or opens (callee side) the proxy counted; absent without counters. */
  readonly observed?: number;
  readonly contains: boolean;
  /** The window that would contain it (`reconnections` expected at this window's rate). */
  readonly neededSeconds: number;
}

/** Operations a connection lifetime carries; undefined for persistent connections. */
export function lifetimeOperations(lifetime: string): number | undefined {
  if (lifetime === 'per-transaction') return 1;
  const match = /^per-ops:(\d+)$/.exec(lifetime);
  return match === null ? undefined : Number(match[1]);
}

/** The fewest reconnections per side a window must imply, unless the config says otherwise (`window.reconnections`). */
export const DEFAULT_RECONNECTIONS = 50;

/**
 * The window an open-loop run at `rate` calls/s needs so that its operations imply
 * `reconnections` reconnections on each side with a connection lifetime (0 for persistent
 * connections).
 */
export function windowNeeded(point: ExperimentPoint, rate: number, operationsPerCall: number, reconnections = DEFAULT_RECONNECTIONS): number {
  let needed = 0;
  for (const lifetime of [point.connection, point.calleeConnection]) {
    const operations = lifetimeOperations(lifetime);
    if (operations === undefined || point.transport === 'udp') continue;
    needed = Math.max(needed, (reconnections * operations) / (rate * operationsPerCall));
  }
  return needed;
}

export function windowChecks(point: ExperimentPoint, result: BenchResult, reconnections = DEFAULT_RECONNECTIONS): WindowCheck[] {
  // A registration run's connections are its workload (held, or one per REGISTER), not a lifetime to go round.
  if (point.transport === 'udp' || result.registration !== undefined) return [];
  const phones = result.settings.clients ?? result.settings.pairs;
  const checks: WindowCheck[] = [];
  for (const side of ['caller', 'callee'] as const) {
    const lifetime = side === 'caller' ? point.connection : point.calleeConnection;
    const operations = lifetimeOperations(lifetime);
    if (operations === undefined) continue;
    const counter = point.transport === 'tls' ? (side === 'caller' ? 'tlsConnectionsAccepted' : 'tlsConnectionsOpened') : side === 'caller' ? 'tcpConnectionsAccepted' : 'tcpConnectionsOpened';
    const observed = result.proxyCounters?.[counterMetric(counter)];
    const expected = result.operations.total / operations;
    const contains = expected >= reconnections && (observed === undefined || observed >= expected / 2);
    const neededSeconds = expected > 0 ? (result.windowSeconds * reconnections) / expected : Number.POSITIVE_INFINITY;
    checks.push({ side, lifetime, operationsPerConnection: operations, phones, expected: Math.round(expected), ...(observed === undefined ? {} : { observed }), contains, neededSeconds: Math.ceil(neededSeconds) });
  }
  return checks;
}

/**
 * Busy percent of the proxy's CPUs beyond the proxy and Redis in one run (from /proc/stat: other
 * processes, or kernel work no process is charged for, such as softirqs), or undefined when it
 * cannot be told.
 */
export function runForeignPercent(result: BenchResult, proxyCpus: string | undefined): number | undefined {
  if (result.cpus === undefined || proxyCpus === undefined || result.proxy === undefined) return undefined;
  const cpus = cpuNumbers(proxyCpus);
  if (cpus === undefined || cpus.some((cpu) => result.cpus?.busyPercent[cpu] === undefined)) return undefined;
  const busy = cpus.reduce((sum, cpu) => sum + (result.cpus?.busyPercent[cpu] ?? 0), 0);
  const accounted = result.proxy.cpuPercentTotal + (result.observed ?? []).reduce((sum, usage) => sum + usage.cpuPercent, 0);
  // Sampling instants differ by a few ms, so what is left can dip just below zero.
  return Math.max(0, busy - accounted);
}

/**
 * Percent of a core of other load on the proxy's CPUs above which a run is invalid. The committed
 * reference runs saw at most 7% (E7's TLS); a second experiment started by mistake beside E2's
 * reference run put 22–58% there in five runs (experiments/diagnostics/e2-contaminated-runs.jsonl).
 */
export const FOREIGN_LOAD_LIMIT_PERCENT = 10;

/** Other load on the proxy's CPUs above the limit, as a reason (undefined when below it or unknown). */
export function foreignLoadReason(result: BenchResult, proxyCpus: string | undefined): string | undefined {
  const percent = runForeignPercent(result, proxyCpus);
  if (percent === undefined || percent <= FOREIGN_LOAD_LIMIT_PERCENT) return undefined;
  return `foreign load: the proxy's CPUs (${proxyCpus}) were ${percent.toFixed(0)}% of a core busy beyond the proxy and its Redis (limit ${FOREIGN_LOAD_LIMIT_PERCENT}%); the figure is not the proxy's alone`;
}

export const isForeignLoadReason = (reason: string): boolean => reason.startsWith('foreign load:');

/**
 * Why a run does not measure the proxy (empty when it does). Other load on the proxy's CPUs is
 * judged only when `proxyCpus` (its budget's CPU list) is given: a quick smoke run, or one
 * without a budget, shares its CPUs by design.
 */
export function invalidReasons(point: ExperimentPoint, result: BenchResult, reconnections = DEFAULT_RECONNECTIONS, proxyCpus?: string): string[] {
  const reasons: string[] = [];
  const { generator } = result;
  const limit = generator.thresholdPercent;
  const total = generator.cpuPercentTotal ?? generator.processes.reduce((sum, usage) => sum + usage.cpuPercent, 0);
  const cores = generator.budgetCores ?? cpuCount(result.machine.cpusAllowed) ?? result.machine.cores;
  const busiest = Math.max(0, ...generator.processes.map((usage) => usage.cpuPercent));
  if (busiest > limit) reasons.push(`generator: a process at ${busiest.toFixed(0)}% of a core (limit ${limit}%)`);
  else if (generator.saturated || total > cores * limit) reasons.push(`generator: ${total.toFixed(0)}% summed over ${generator.processes.length} process(es), above ${limit}% of its ${cores} core(s)`);
  for (const usage of result.observed ?? []) {
    if (usage.role === 'redis' && usage.cpuPercent > limit) reasons.push(`redis: ${usage.cpuPercent.toFixed(0)}% of its one core (limit ${limit}%)`);
  }
  for (const check of windowChecks(point, result, reconnections)) {
    if (check.contains) continue;
    reasons.push(`window: ${check.side} ${check.lifetime} over ${check.phones} phones needs ${reconnections} reconnections and at least half of them counted by the proxy; the window's operations imply ${check.expected}${check.observed === undefined ? '' : ` and the proxy counted ${check.observed}`} (a ${check.neededSeconds} s window would contain it)`);
  }
  const foreign = foreignLoadReason(result, proxyCpus);
  if (foreign !== undefined) reasons.push(foreign);
  const ownSide = generatorSideFailures(result);
  if (ownSide.total > 0) reasons.push(`generator: ${ownSide.total} connection(s) failed on the generator's own side (${ownSide.codes.join(', ')}): out of local ports or files, not the proxy`);
  return reasons;
}

/** Only the window's reasons (a longer window can cure those). */
export const isWindowReason = (reason: string): boolean => reason.startsWith('window:');

/** A registration run's connect failures the generator's own side raised (`connect:<code>`), over its open phase and its windows (a scale run's probes, the registration test's load). */
export function generatorSideFailures(result: BenchResult): { total: number; codes: string[] } {
  const registration = result.registration;
  if (registration === undefined) return { total: 0, codes: [] };
  const byCode = new Map<string, number>();
  for (const failures of [registration.openFailures ?? {}, result.failures]) {
    for (const [kind, count] of Object.entries(failures)) {
      const code = /^connect:(.+)$/.exec(kind)?.[1];
      if (code !== undefined) byCode.set(code, (byCode.get(code) ?? 0) + count);
    }
  }
  let total = 0;
  for (const count of byCode.values()) total += count;
  return { total, codes: [...byCode].map(([code, count]) => `${code}: ${count}`) };
}
