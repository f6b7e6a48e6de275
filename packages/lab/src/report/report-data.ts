/**
 * The numbers of a report, computed from `results/<id>/experiment.json` and `results.jsonl`:
 * per point the median over its valid repeats with a 95% interval (confidence-interval.ts), then
 * the ratios the studies talk in (TCP/UDP, fd cache on/off, heap/scan) with their intervals, the
 * worker-count sweep, the verdict on each published figure (verdict.ts), and the facts of the
 * setup (CPU budget, windows, peak search) the report's prose is written from. The report's
 * Markdown, HTML and `report.json` are all written from this one structure.
 *
 * A run counts only when it measured the proxy (run-validity.ts: generator and Redis within
 * their budget, window containing the workload, a peak found); a point with no such run is shown
 * but marked invalid, and it and points below 99.9% success never feed a ratio or a published
 * comparison. Records of schema version 1 (made before these rules) are read too, and the report
 * then says that the result set predates them.
 */
import { speedSpread } from '../experiment/speed-probe.js';
import { foreignLoad, type ForeignLoad } from './foreign-load.js';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lateCountersReason, type BenchResult, type LatencySummary } from '@switchboard/bench';
import { counterMetric, type CounterName } from '@switchboard/cluster';
import type { MachineFacts } from '@switchboard/sip/machine-facts';
import { isWide, median, medianInterval, ratioInterval, type Interval } from '../analysis/confidence-interval.js';
import { DEFAULT_TOLERANCE, toleranceBand, verdict, type FigureToJudge, type Verdict } from '../analysis/verdict.js';
import type { AppliedBudget } from '../experiment/cpu-budget.js';
import type { ExperimentConfig, PublishedFigure } from '../experiment/experiment-config.js';
import { LEGACY_RECORD_SCHEMA, type ExperimentPoint, type ExperimentRecord } from '../experiment/experiment-record.js';
import type { PeakSearch } from '../experiment/peak-ladder.js';
import { foreignLoadReason, invalidReasons, isForeignLoadReason } from '../experiment/run-validity.js';
import { REGISTRATION_METRICS } from './registration-metrics.js';
import { withSourceServedBest } from './served-best.js';
import { redisCpuPercent } from '../experiment/redis-cpu.js';
import { peakWithinBound, T1_MS, type BoundedPeak } from '../experiment/peak-within-bound.js';
import { ReportError } from './report-error.js';
import { isFinalRecord, readResultsFile } from '../experiment/results-file.js';
import { distinctCodeVersions, describeCodeVersion, type CodeVersion } from '../experiment/code-version.js';
import { experimentPoints } from '../experiment/experiment-matrix.js';

export { median };

/** Calls must succeed at this ratio for a point to feed a ratio or a published comparison. */
export const SUCCESS_FLOOR = 0.999;

/** Point fields a configuration can differ in, in the order labels are written. */
export const DIMENSIONS = ['transport', 'connection', 'calleeConnection', 'model', 'workers', 'state', 'fdCache', 'idleStrategy'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

export interface LatencyPercentiles {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
}

export interface PointSummary {
  readonly key: string;
  readonly point: ExperimentPoint;
  /** The configuration without the load, in the words of the dimensions that vary. */
  readonly configuration: string;
  /** Clients (closed loop) or calls/s (open loop). */
  readonly load: number;
  /** Runs with a result behind the figures (the valid ones; all of them when none is valid). */
  readonly repeats: number;
  /** Runs that measured the proxy. */
  readonly validRepeats: number;
  /** Runs with a result, valid or not. */
  readonly runs: number;
  /** At least one valid run: the point may feed ratios and comparisons (when its success is ≥ 99.9%). */
  readonly valid: boolean;
  /** Why runs of this point were invalid, each reason once. */
  readonly invalidReasons: readonly string[];
  /**
   * Median success of the runs behind the figures is at least 99.9%; always true for a point
   * that ran no ladder (`overloadStep`), whose success past capacity is no measure of the proxy.
   */
  readonly meetsSuccess: boolean;
  /**
   * A point that ran no ladder (`workload.overload.capacity-of`: overloaded at multiples of its
   * source point's capacity): its figures are those of its first overload step, at this multiple.
   * Its own measure is goodput (REGISTRATION_METRICS' goodputRatioAt*).
   */
  readonly overloadStep?: number;
  /** The 95% intervals of the main figures (see confidence-interval.ts). */
  readonly intervals: Readonly<Partial<Record<'operationsPerSecond' | 'callsPerSecond' | 'operationsPerProxyCpuSecond' | 'proxyCpuMsPerCall' | 'peakCallsPerSecond', Interval>>>;
  /** Figures whose interval reaches further than ±5% from the median. */
  readonly wide: readonly string[];
  /** Peak points: the offered rate at the peak (median over runs), calls/s. */
  readonly peakCallsPerSecond?: number;
  /**
   * Peak points whose ladder allowed a p99 beyond one T1: the rates bracketing the peak at a p99
   * of one T1 (500 ms), from the ladder's own steps (peak-within-bound.ts), medians over runs.
   */
  readonly peakAtT1?: BoundedPeak;
  readonly operationsPerSecond: number;
  readonly callsPerSecond: number;
  readonly successRatio: number;
  readonly callSetupMs?: LatencyPercentiles;
  readonly byeMs?: LatencyPercentiles;
  readonly registerMs?: LatencyPercentiles;
  readonly proxyCpuPercent?: number;
  readonly proxyRssMaxBytes?: number;
  /** The generator's CPU summed over its processes (median), percent of one core. */
  readonly generatorCpuPercent: number;
  readonly generatorSaturated: boolean;
  /** The proxy's Redis, percent of one core (median), when it was sampled. */
  readonly redisCpuPercent?: number;
  /** Operations per CPU-second of the proxy, and the proxy's CPU milliseconds per call (medians). */
  readonly operationsPerProxyCpuSecond?: number;
  readonly proxyCpuMsPerCall?: number;
  /** Some run scraped the proxy's metrics but found no worker's counters in the scrape. */
  readonly countersMissing: boolean;
  /** fd requests per 1000 operations (process-pool). */
  readonly fdRequestsPer1000Operations?: number;
  /** Transaction-store operations per call (`--transactions shared`), and messages handed to another worker per call. */
  readonly storeRoundTripsPerCall?: number;
  readonly handOffsPerCall?: number;
  /** fd-cache hits / (hits + misses). */
  readonly fdCacheHitRate?: number;
  /** Milliseconds in IPC code over the proxy's CPU milliseconds. */
  readonly ipcShare?: number;
  /** Connections visited per idle sweep. */
  readonly idleSweepVisitedPerSweep?: number;
  /**
   * The proxy's event loops (every process and worker thread, summed) per second of the window:
   * how late their 50 ms timers fired in stalls, and their garbage-collection pauses, in ms.
   */
  readonly eventLoopStallMsPerSecond?: number;
  readonly gcPauseMsPerSecond?: number;
  readonly failures: Readonly<Record<string, number>>;
}

export interface Ratio {
  readonly configuration: string;
  readonly load: number;
  readonly numerator: number;
  readonly denominator: number;
  /** Median over median, rounded. */
  readonly ratio: number;
  readonly interval: Interval;
  /** The interval reaches further than ±5%. */
  readonly wide: boolean;
}

export interface WorkerSweepRow {
  readonly configuration: string;
  readonly workers: number;
  /** Best operations/s over the loads at this worker count. */
  readonly operationsPerSecond: number;
}

export interface PublishedComparison {
  readonly label: string;
  /** A study's figure, a target of our own, or an observation with nothing to hold it against. */
  readonly kind: 'published' | 'target' | 'observation';
  readonly published?: number;
  readonly range?: readonly [number, number];
  /** The band our interval must lie in to reproduce the figure (published figures). */
  readonly band?: readonly [number, number];
  readonly ours?: Interval;
  /** The verdict (verdict.ts); `observation` for figures without a published value. */
  readonly verdict: Verdict | 'observation';
  /** The points ours comes from, and how many valid points matched each filter. */
  readonly numeratorPoint?: string;
  readonly denominatorPoint?: string;
  readonly matched: { readonly numerator: number; readonly denominator?: number };
}

/** The recorded facts of the setup, from which the report's prose about it is written. */
export interface SetupFacts {
  /** The result set was recorded before repeats, budgets, window checks and peak search (schema 1). */
  readonly legacy: boolean;
  /** Distinct CPU budgets applied (usually one). */
  readonly budgets: readonly AppliedBudget[];
  /** Runs recorded without a budget (legacy records). */
  readonly runsWithoutBudget: number;
  /** Repeats the runs were asked for (the highest repeat recorded, plus one). */
  readonly repeatsConfigured: number;
  /** Measured windows, seconds (min and max over runs), and how many the runner lengthened. */
  readonly windowSeconds: { readonly min: number; readonly max: number };
  readonly windowsLengthened: number;
  readonly windowLimitSeconds?: number;
  /** The ladder, when the experiment's throughput is a peak. */
  readonly peak?: PeakSearch;
  /**
   * When the set's ladders did not all start from the same `from` (the config's lowest rate was
   * lowered between sittings for points that passed no rate): each `from` with its runs.
   */
  readonly peakStarts?: ReadonlyArray<{ readonly from: number; readonly runs: number }>;
  readonly tolerance: number;
  readonly runs: number;
  readonly invalidRuns: number;
  /** Runs taken from another experiment's (`reuse:`), by experiment. */
  readonly reused: Readonly<Record<string, number>>;
  /** The speed probes of the runs that recorded one (ms of a fixed CPU workload on the proxy's CPUs) and their spread. */
  readonly speed?: { readonly min: number; readonly max: number; readonly spread: number; readonly runs: number };
  /** What else kept the proxy's CPUs busy during the measured windows (foreign-load.ts). */
  readonly foreignLoad?: ForeignLoad;
  /** The code the runs measured (distinct versions), and how many runs recorded none. */
  readonly code: { readonly versions: readonly CodeVersion[]; readonly unknown: number };
  /** Runs finished (measured, failed or found invalid) against the runs the matrix and repeats ask for; absent for legacy sets. */
  readonly completeness?: { readonly finished: number; readonly expected: number };
}

export interface ReportData {
  readonly experiment: ExperimentConfig;
  /** The generator settings the runs used (a quick run shrinks the window). */
  readonly generator: { readonly procs: number; readonly durationSeconds: number; readonly warmupSeconds: number; readonly timeoutMs: number };
  readonly machine: MachineFacts;
  readonly quick: boolean;
  readonly records: number;
  readonly loadKind: 'clients' | 'rate';
  readonly varying: readonly Dimension[];
  readonly points: readonly PointSummary[];
  readonly failedRuns: ReadonlyArray<{ readonly key: string; readonly repeat: number; readonly code: string; readonly message: string }>;
  readonly caveats: readonly string[];
  readonly tcpUdp: readonly Ratio[];
  readonly fdCache: readonly Ratio[];
  readonly heapScan: readonly Ratio[];
  readonly workerSweep: readonly WorkerSweepRow[];
  readonly bestWorkers: ReadonlyArray<{ readonly configuration: string; readonly workers: number; readonly operationsPerSecond: number }>;
  readonly published: readonly PublishedComparison[];
  readonly setup: SetupFacts;
}

const round = (value: number, digits = 3): number => {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
};

function medianOf(results: readonly BenchResult[], pick: (result: BenchResult) => number | undefined): number | undefined {
  const values = results.map(pick).filter((value): value is number => value !== undefined && Number.isFinite(value));
  return values.length === 0 ? undefined : median(values);
}

function percentiles(results: readonly BenchResult[], kind: 'invite-200' | 'bye-200' | 'register'): LatencyPercentiles | undefined {
  const summaries = results.map((result) => result.latencyMs[kind]).filter((summary): summary is LatencySummary => summary !== undefined);
  if (summaries.length === 0) return undefined;
  return { p50: median(summaries.map((s) => s.p50)), p90: median(summaries.map((s) => s.p90)), p99: median(summaries.map((s) => s.p99)) };
}

function counter(result: BenchResult, name: CounterName): number | undefined {
  return countersCoverWindow(result) ? result.proxyCounters?.[counterMetric(name)] : undefined;
}

/**
 * False for a registration run recorded before the bench refused late counters itself
 * (lateCountersReason): its first scrape was answered too far into the window for the counters
 * to stand for it.
 */
function countersCoverWindow(result: BenchResult): boolean {
  const overhang = result.proxyCountersOverhangMs;
  return result.registration === undefined || overhang === undefined || lateCountersReason(overhang.beforeWindow, result.windowSeconds * 1000) === undefined;
}

/** The words of one dimension's value in a configuration label. */
export function describe(dimension: Dimension, point: ExperimentPoint): string {
  switch (dimension) {
    case 'workers':
      return `${point.workers} worker${point.workers === 1 ? '' : 's'}`;
    case 'fdCache':
      return point.fdCache > 0 ? `fd-cache ${point.fdCache}` : 'no fd-cache';
    case 'idleStrategy':
      return `idle ${point.idleStrategy}`;
    case 'state':
      return `state ${point.state}`;
    case 'calleeConnection':
      return `callee ${point.calleeConnection}`;
    case 'transport':
      return point.transport.toUpperCase();
    default:
      return String(point[dimension]);
  }
}

/**
 * The machine facts of a result set: its first run's, with the CPUs online taken from the per-CPU
 * busy shares (/proc/stat lists the online CPUs) where the run predates recording them, so a
 * report never reads as if the machine had only the CPUs its recording process was allowed.
 */
export function machineOfSet(measured: ReadonlyArray<{ readonly machine: MachineFacts; readonly result: BenchResult }>): MachineFacts {
  const machine = (measured[0] as { readonly machine: MachineFacts }).machine;
  if (machine.cpusOnline !== undefined) return machine;
  const online = Math.max(0, ...measured.map((record) => Object.keys(record.result.cpus?.busyPercent ?? {}).length));
  return online > 0 ? { ...machine, cpusOnline: online } : machine;
}

/** The figures of one run, by name (the metrics a published figure can name). */
export const RUN_METRICS: Record<string, (record: ExperimentRecord & { result: BenchResult }) => number | undefined> = {
  operationsPerSecond: ({ result }) => result.operations.perSecond,
  callsPerSecond: ({ result }) => result.calls.perSecond,
  successRatio: ({ result }) => result.calls.successRatio,
  peakCallsPerSecond: (record) => record.peak?.rate,
  ipcShare: ({ result }) => {
    const ipc = counter(result, 'ipcMilliseconds');
    const cpuMs = result.proxy === undefined ? 0 : (result.proxy.cpuPercentTotal / 100) * result.windowSeconds * 1000;
    return ipc === undefined || cpuMs <= 0 ? undefined : ipc / cpuMs;
  },
  fdCacheHitRate: ({ result }) => {
    const hits = counter(result, 'fdCacheHits') ?? 0;
    const misses = counter(result, 'fdCacheMisses') ?? 0;
    return hits + misses === 0 ? undefined : hits / (hits + misses);
  },
  callSetupP99Ms: ({ result }) => result.latencyMs['invite-200']?.p99,
  storeRoundTripsPerCall: ({ result }) => perCall(result, counter(result, 'transactionStoreRoundTrips')),
  handOffsPerCall: ({ result }) => perCall(result, counter(result, 'handOffsSent')),
  fdRequestsPerCall: ({ result }) => perCall(result, counter(result, 'fdRequests')),
  eventLoopStallMsPerSecond: ({ result }) => perWindowSecond(result, counter(result, 'eventLoopStallMilliseconds')),
  gcPauseMsPerSecond: ({ result }) => perWindowSecond(result, counter(result, 'gcPauseMilliseconds')),
  proxyCpuPercent: ({ result }) => result.proxy?.cpuPercentTotal,
  callsPerProxyCpuSecond: ({ result }) => (result.proxy === undefined || result.proxy.cpuPercentTotal <= 0 ? undefined : result.calls.perSecond / (result.proxy.cpuPercentTotal / 100)),
  operationsPerProxyCpuSecond: ({ result }) => (result.proxy === undefined || result.proxy.cpuPercentTotal <= 0 ? undefined : result.operations.perSecond / (result.proxy.cpuPercentTotal / 100)),
  proxyCpuMsPerCall: ({ result }) => (result.proxy === undefined || result.calls.perSecond <= 0 ? undefined : (result.proxy.cpuPercentTotal / 100) * 1000 / result.calls.perSecond),
  // Registration runs (E5, E6; a "call" is one REGISTER there).
  ...REGISTRATION_METRICS,
};

type Measured = ExperimentRecord & { result: BenchResult };

/** A counter over the window per second of it (undefined without the counter). */
function perWindowSecond(result: BenchResult, count: number | undefined): number | undefined {
  return count === undefined || !(result.windowSeconds > 0) ? undefined : count / result.windowSeconds;
}

/** A counter over the window per successful call (undefined without the counter or a call). */
function perCall(result: BenchResult, count: number | undefined): number | undefined {
  const calls = result.calls.completed;
  return count === undefined || !(calls > 0) ? undefined : count / calls;
}

/**
 * Why a run is invalid: what the runner recorded, or (schema 1 records) what the rules say of its
 * result; and, in a run that is not a quick smoke run, other load on the proxy's CPUs in its
 * window (judged here too, so that runs recorded before the runner judged it are held to it).
 */
export function recordInvalidReasons(record: Measured): readonly string[] {
  const known = judged.get(record);
  if (known !== undefined) return known;
  const reasons = record.invalid ?? invalidReasons(record.point, record.result);
  const foreign = record.quick || reasons.some(isForeignLoadReason) ? undefined : foreignLoadReason(record.result, record.budget?.proxy.cpus);
  const all = foreign === undefined ? reasons : [...reasons, foreign];
  judged.set(record, all);
  return all;
}

/** Each record's reasons, judged once (a report asks for them per point, per set and per flag). */
const judged = new WeakMap<Measured, readonly string[]>();

interface PointGroup {
  readonly summary: PointSummary;
  /** The runs behind the figures (the valid ones when any). */
  readonly runs: readonly Measured[];
}

function values(runs: readonly Measured[], metric: string): number[] {
  const pick = RUN_METRICS[metric] as (record: Measured) => number | undefined;
  return runs.map(pick).filter((value): value is number => value !== undefined && Number.isFinite(value));
}

function summarize(records: readonly Measured[], varying: readonly Dimension[], extraVarying: readonly string[]): PointGroup {
  const first = records[0] as Measured;
  const point = first.point;
  const validRuns = records.filter((record) => recordInvalidReasons(record).length === 0);
  const runs = validRuns.length > 0 ? validRuns : records;
  const results = runs.map((record) => record.result);
  const words = varying.filter((dimension) => !(point.transport === 'udp' && (dimension === 'connection' || dimension === 'calleeConnection' || dimension === 'idleStrategy'))).map((dimension) => describe(dimension, point));
  // TLS choices say nothing about a UDP or TCP point; a key only other points carry (set by
  // `implies:` for them) says nothing about this one.
  for (const key of extraVarying) {
    const value = point.extra?.[key];
    if (value !== undefined && !(key.startsWith('tls-') && point.transport !== 'tls')) words.push(`${key} ${value}`);
  }
  const metricMedian = (metric: string): number | undefined => {
    const found = values(runs, metric);
    return found.length === 0 ? undefined : median(found);
  };
  const operations = metricMedian('operationsPerSecond') ?? 0;
  const perThousand = medianOf(results, (r) => {
    const requests = counter(r, 'fdRequests');
    return requests === undefined || r.operations.total === 0 ? undefined : (requests / r.operations.total) * 1000;
  });
  const hitRate = metricMedian('fdCacheHitRate');
  const storeRoundTrips = metricMedian('storeRoundTripsPerCall');
  const handOffs = metricMedian('handOffsPerCall');
  const ipcShare = metricMedian('ipcShare');
  const stalls = metricMedian('eventLoopStallMsPerSecond');
  const collections = metricMedian('gcPauseMsPerSecond');
  const visited = medianOf(results, (r) => {
    const sweeps = counter(r, 'idleSweeps') ?? 0;
    return sweeps === 0 ? undefined : (counter(r, 'idleSweepVisited') ?? 0) / sweeps;
  });
  const failures: Record<string, number> = {};
  for (const result of results) for (const [kind, count] of Object.entries(result.failures)) failures[kind] = (failures[kind] ?? 0) + count;
  const optional = <K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));
  const intervals: Record<string, Interval> = {};
  for (const metric of ['operationsPerSecond', 'callsPerSecond', 'operationsPerProxyCpuSecond', 'proxyCpuMsPerCall', 'peakCallsPerSecond']) {
    const found = values(runs, metric);
    if (found.length > 0) intervals[metric] = medianInterval(found);
  }
  const successRatio = round(metricMedian('successRatio') ?? 0, 5);
  const overloadStep = runs.every((record) => record.capacity !== undefined) ? runs[0]?.overload?.[0]?.factor : undefined;
  const reasons = [...new Set(records.flatMap((record) => recordInvalidReasons(record)))];
  const efficiency = metricMedian('operationsPerProxyCpuSecond');
  const cpuPerCall = metricMedian('proxyCpuMsPerCall');
  const peak = metricMedian('peakCallsPerSecond');
  const redis = medianOf(results, redisCpuPercent);
  const atT1 = runs.flatMap((record) => (record.peak === undefined || (record.peak.search.p99Ms ?? Number.POSITIVE_INFINITY) <= T1_MS ? [] : [peakWithinBound(record.peak.steps, T1_MS)]));
  const bracketMedian = (side: keyof BoundedPeak): number | undefined => {
    const found = atT1.map((bracket) => bracket[side]).filter((value): value is number => value !== undefined);
    return found.length === 0 ? undefined : round(median(found), 1);
  };
  const summary: PointSummary = {
    key: first.pointKey,
    point,
    configuration: words.length === 0 ? 'all' : words.join(', '),
    load: point.clients ?? point.rate ?? 0,
    repeats: runs.length,
    validRepeats: validRuns.length,
    runs: records.length,
    valid: validRuns.length > 0,
    invalidReasons: reasons,
    meetsSuccess: overloadStep !== undefined || successRatio >= SUCCESS_FLOOR,
    ...optional('overloadStep', overloadStep),
    intervals,
    wide: Object.entries(intervals).filter(([, interval]) => isWide(interval)).map(([metric]) => metric),
    ...optional('peakCallsPerSecond', peak === undefined ? undefined : round(peak, 1)),
    ...optional('peakAtT1', atT1.length === 0 ? undefined : { ...optional('atLeast', bracketMedian('atLeast')), ...optional('below', bracketMedian('below')) }),
    operationsPerSecond: round(operations, 1),
    callsPerSecond: round(metricMedian('callsPerSecond') ?? 0, 1),
    successRatio,
    ...optional('callSetupMs', percentiles(results, 'invite-200')),
    ...optional('byeMs', percentiles(results, 'bye-200')),
    ...optional('registerMs', percentiles(results, 'register')),
    ...optional('proxyCpuPercent', medianOf(results, (r) => r.proxy?.cpuPercentTotal)),
    ...optional('proxyRssMaxBytes', medianOf(results, (r) => (r.proxy === undefined ? undefined : r.proxy.processes.reduce((sum, usage) => sum + usage.rssBytesMax, 0)))),
    ...optional('operationsPerProxyCpuSecond', efficiency === undefined ? undefined : round(efficiency, 1)),
    ...optional('proxyCpuMsPerCall', cpuPerCall === undefined ? undefined : round(cpuPerCall, 4)),
    generatorCpuPercent: medianOf(results, (r) => r.generator.cpuPercentTotal ?? r.generator.processes.reduce((sum, usage) => sum + usage.cpuPercent, 0)) ?? 0,
    generatorSaturated: records.some((record) => record.result.generator.saturated || recordInvalidReasons(record).some((reason) => reason.startsWith('generator:'))),
    ...optional('redisCpuPercent', redis),
    countersMissing: results.some((r) => r.proxyCounters !== undefined && counter(r, 'requestsReceived') === undefined),
    ...optional('fdRequestsPer1000Operations', perThousand === undefined ? undefined : round(perThousand, 1)),
    ...optional('storeRoundTripsPerCall', storeRoundTrips === undefined ? undefined : round(storeRoundTrips, 2)),
    ...optional('handOffsPerCall', handOffs === undefined ? undefined : round(handOffs, 2)),
    ...optional('fdCacheHitRate', hitRate === undefined ? undefined : round(hitRate, 4)),
    ...optional('ipcShare', ipcShare === undefined ? undefined : round(ipcShare, 4)),
    ...optional('idleSweepVisitedPerSweep', visited === undefined ? undefined : round(visited, 1)),
    ...optional('eventLoopStallMsPerSecond', stalls === undefined ? undefined : round(stalls, 1)),
    ...optional('gcPauseMsPerSecond', collections === undefined ? undefined : round(collections, 1)),
    failures,
  };
  return { summary, runs };
}

/** Points equal in every field but the ones named (and the ones UDP ignores when `udp`). */
function sameExcept(a: ExperimentPoint, b: ExperimentPoint, ignore: readonly Dimension[]): boolean {
  for (const dimension of DIMENSIONS) {
    if (ignore.includes(dimension)) continue;
    if (a[dimension] !== b[dimension]) return false;
  }
  if ((a.clients ?? -1) !== (b.clients ?? -1) || (a.rate ?? -1) !== (b.rate ?? -1)) return false;
  return JSON.stringify(a.extra ?? {}) === JSON.stringify(b.extra ?? {});
}

/** Comparable: measured the proxy and kept calls at ≥ 99.9%. */
const comparable = (group: PointGroup): boolean => group.summary.valid && group.summary.meetsSuccess;

function ratios(groups: readonly PointGroup[], isNumerator: (p: ExperimentPoint) => boolean, isDenominator: (p: ExperimentPoint) => boolean, ignore: readonly Dimension[]): Ratio[] {
  const found: Ratio[] = [];
  for (const top of groups) {
    if (!isNumerator(top.summary.point) || !comparable(top)) continue;
    const bottom = groups.find((candidate) => isDenominator(candidate.summary.point) && sameExcept(top.summary.point, candidate.summary.point, ignore));
    if (bottom === undefined || !comparable(bottom) || bottom.summary.operationsPerSecond <= 0) continue;
    const interval = ratioInterval(values(top.runs, 'operationsPerSecond'), values(bottom.runs, 'operationsPerSecond'));
    found.push({ configuration: top.summary.configuration, load: top.summary.load, numerator: top.summary.operationsPerSecond, denominator: bottom.summary.operationsPerSecond, ratio: round(interval.estimate), interval: roundInterval(interval), wide: isWide(interval) });
  }
  return found.sort((a, b) => a.configuration.localeCompare(b.configuration) || a.load - b.load);
}

const roundInterval = (interval: Interval, digits = 4): Interval => ({
  estimate: round(interval.estimate, digits),
  ...(interval.low === undefined ? {} : { low: round(interval.low, digits) }),
  ...(interval.high === undefined ? {} : { high: round(interval.high, digits) }),
  n: interval.n,
});

type Filter = Readonly<Record<string, string | number>>;

function matches(point: ExperimentPoint, filter: Filter): boolean {
  for (const [key, value] of Object.entries(filter)) {
    const actual = (point as unknown as Record<string, unknown>)[key] ?? point.extra?.[key];
    if (String(actual) !== String(value)) return false;
  }
  return true;
}

/** Our side of a published figure: the comparable point(s) matching, the interval, the verdict. */
function compare(groups: readonly PointGroup[], figure: PublishedFigure, tolerance: number): PublishedComparison {
  const kind = figure.kind ?? (figure.compare === 'at-least' || figure.compare === 'at-most' ? 'target' : 'published');
  const head = { label: figure.label, kind, ...(figure.value === undefined ? {} : { published: figure.value }), ...(figure.range === undefined ? {} : { range: figure.range }) };
  const spec = figure.ours;
  if (spec === undefined) return { ...head, verdict: kind === 'observation' ? 'observation' : 'no valid data', matched: { numerator: 0 } };
  const metric = RUN_METRICS[spec.metric];
  if (metric === undefined) throw new ReportError('ERR_SWITCHBOARD_REPORT_BAD_FIGURE', `published figure "${figure.label}": unknown metric ${spec.metric} (known: ${Object.keys(RUN_METRICS).join(', ')})`);
  // Among comparable points matching the filter, the one with the highest median of the metric.
  const best = (filter: Filter): { group?: PointGroup; matched: number } => {
    const candidates = groups.filter((group) => comparable(group) && matches(group.summary.point, filter) && values(group.runs, spec.metric).length > 0);
    const ranked = candidates.map((group) => ({ group, value: median(values(group.runs, spec.metric)) })).sort((a, b) => b.value - a.value);
    return { ...(ranked[0] === undefined ? {} : { group: ranked[0].group }), matched: candidates.length };
  };
  const top = best(spec.numerator);
  const bottom = spec.denominator === undefined ? undefined : best(spec.denominator);
  const matched = { numerator: top.matched, ...(bottom === undefined ? {} : { denominator: bottom.matched }) };
  const points = { ...(top.group === undefined ? {} : { numeratorPoint: top.group.summary.key }), ...(bottom?.group === undefined ? {} : { denominatorPoint: bottom.group.summary.key }) };
  let ours: Interval | undefined;
  if (top.group !== undefined && (bottom === undefined || bottom.group !== undefined)) {
    const a = values(top.group.runs, spec.metric);
    ours = bottom?.group === undefined ? medianInterval(a) : ratioInterval(a, values(bottom.group.runs, spec.metric));
    ours = roundInterval(ours);
  }
  const shape = spec.denominator === undefined ? 'magnitude' : 'ratio';
  if (kind === 'observation' || figure.value === undefined) return { ...head, ...(ours === undefined ? {} : { ours }), verdict: 'observation', ...points, matched };
  const judged: FigureToJudge = { value: figure.value, shape, ...(figure.range === undefined ? {} : { range: figure.range }), ...(kind === 'target' ? { target: figure.compare === 'at-most' ? ('at-most' as const) : ('at-least' as const) } : {}) };
  return {
    ...head,
    ...(kind === 'published' ? { band: toleranceBand(judged, tolerance).map((bound) => round(bound, 4)) as [number, number] } : {}),
    ...(ours === undefined ? {} : { ours }),
    verdict: verdict(judged, ours, tolerance),
    ...points,
    matched,
  };
}

export async function loadReportData(resultsDir: string): Promise<ReportData> {
  const configFile = join(resultsDir, 'experiment.json');
  const resultsFile = join(resultsDir, 'results.jsonl');
  if (!existsSync(configFile) || !existsSync(resultsFile)) {
    throw new ReportError('ERR_SWITCHBOARD_REPORT_NO_RESULTS', `${resultsDir}: no experiment.json and results.jsonl here; run \`switchboard experiment run\` first`);
  }
  const experiment = JSON.parse(await readFile(configFile, 'utf8')) as ExperimentConfig;
  const records = await readResultsFile(resultsFile);
  // The last record of a run wins (a failed run that was resumed and then succeeded).
  const latest = new Map<string, ExperimentRecord>();
  for (const record of records) latest.set(`${record.pointKey}#${record.repeat}`, record);
  // Overloaded runs carry the most their capacity source served (served-best.ts), for goodputOfServableAt*.
  const measured = withSourceServedBest([...latest.values()]).filter((record): record is Measured => record.result !== undefined);
  if (measured.length === 0) throw new ReportError('ERR_SWITCHBOARD_REPORT_NO_RESULTS', `${resultsFile}: no run with a result yet (${records.length} records)`);

  const failedRuns = [...latest.values()].filter((record) => record.result === undefined && record.error !== undefined).map((record) => ({ key: record.pointKey, repeat: record.repeat, code: record.error?.code ?? 'unknown', message: record.error?.message ?? '' }));
  const unmeasured = [...latest.values()].filter((record) => record.result === undefined && record.error === undefined && (record.invalid?.length ?? 0) > 0);
  const byPoint = new Map<string, Measured[]>();
  for (const record of measured) byPoint.set(record.pointKey, [...(byPoint.get(record.pointKey) ?? []), record]);
  const allPoints = measured.map((record) => record.point);
  const varying = DIMENSIONS.filter((dimension) => new Set(allPoints.map((point) => point[dimension])).size > 1);
  const extraKeys = [...new Set(allPoints.flatMap((point) => Object.keys(point.extra ?? {})))];
  const extraVarying = extraKeys.filter((key) => new Set(allPoints.map((point) => point.extra?.[key])).size > 1);
  const groups = [...byPoint.values()].map((group) => summarize(group, varying, extraVarying));
  const points = groups.map((group) => group.summary);
  const at = (summary: PointSummary): string => `${summary.configuration} at ${summary.load}`;

  const legacy = measured.some((record) => record.schema === LEGACY_RECORD_SCHEMA);
  const quick = measured.some((record) => record.quick);
  const caveats: string[] = [];
  if (legacy) caveats.push('**This result set predates the lab\'s rules** (records of schema 1): no CPU budget between the proxy and the generator, no check that windows contained their workload, no peak search, and as many repeats as were run. The intervals and verdicts below apply the rules to it as far as its records allow; rerun the experiment for figures that meet them.');
  for (const failed of failedRuns) caveats.push(`Run failed (${failed.code}): ${failed.key}, repeat ${failed.repeat}.`);
  for (const record of unmeasured) caveats.push(`Not measured: ${record.pointKey}, repeat ${record.repeat}: ${(record.invalid ?? []).join('; ')}.`);
  for (const summary of points) {
    const runs = byPoint.get(summary.key) ?? [];
    const invalid = runs.length - summary.validRepeats;
    if (invalid > 0) caveats.push(`${summary.valid ? 'Invalid runs left out' : '**Invalid point** (shown, never compared)'}: ${at(summary)}, ${invalid} of ${runs.length} run(s): ${summary.invalidReasons.join('; ')}.`);
    if (summary.countersMissing) caveats.push(`No per-worker counters in the proxy's metrics: ${at(summary)} (in at least one run the scrape held none, or was answered too far into the window to stand for it), so fd requests, cache hits and IPC share are unknown there.`);
    if (!summary.meetsSuccess) caveats.push(`Call success ${(summary.successRatio * 100).toFixed(2)}% (< 99.9%), never compared with a published figure: ${at(summary)} (${Object.entries(summary.failures).map(([kind, count]) => `${kind} ${count}`).join(', ')}).`);
  }
  const finished = [...latest.values()].filter(isFinalRecord);
  const code = distinctCodeVersions(finished);
  if (code.versions.length > 1) caveats.push(`**Runs of different code:** this result set was recorded with ${code.versions.length} code versions (${code.versions.map(describeCodeVersion).join(', ')}); its figures compare only as far as the code they exercise was the same.`);
  else if (code.versions.some((version) => version.modified)) caveats.push('**Modified code:** runs were recorded from a checkout with uncommitted changes to the proxy or generator, so the commit named does not say exactly what was measured.');
  const repeatsConfigured = setupRepeats(latest.values(), experiment, quick);
  const completeness = legacy ? undefined : expectedRuns(experiment, quick, repeatsConfigured, finished.length);
  if (completeness !== undefined && completeness.finished < completeness.expected) caveats.push(`**Incomplete result set:** ${completeness.finished} of ${completeness.expected} runs finished; the figures and verdicts below are from what has been measured so far (resume with \`switchboard experiment run\` and the same config and output directory).`);
  const widePoints = points.filter((summary) => summary.wide.length > 0);
  if (widePoints.length > 0) caveats.push(`Intervals wider than ±5% at ${widePoints.length} of ${points.length} point(s): ${widePoints.map((summary) => `${at(summary)} (${summary.wide.join(', ')})`).join('; ')}.`);

  const sweepConfigurations = new Map<string, Map<number, number>>();
  if (varying.includes('workers')) {
    for (const summary of points) {
      if (!summary.valid) continue;
      const label = DIMENSIONS.filter((dimension) => dimension !== 'workers' && varying.includes(dimension))
        .filter((dimension) => !(summary.point.transport === 'udp' && (dimension === 'connection' || dimension === 'calleeConnection' || dimension === 'idleStrategy')))
        .map((dimension) => describe(dimension, summary.point))
        .join(', ');
      const byWorkers = sweepConfigurations.get(label) ?? new Map<number, number>();
      byWorkers.set(summary.point.workers, Math.max(byWorkers.get(summary.point.workers) ?? 0, summary.operationsPerSecond));
      sweepConfigurations.set(label, byWorkers);
    }
  }
  const workerSweep: WorkerSweepRow[] = [];
  const bestWorkers: Array<{ configuration: string; workers: number; operationsPerSecond: number }> = [];
  for (const [configuration, byWorkers] of sweepConfigurations) {
    if (byWorkers.size < 2) continue;
    let best = { workers: 0, operationsPerSecond: -1 };
    for (const [workers, operationsPerSecond] of [...byWorkers].sort(([a], [b]) => a - b)) {
      workerSweep.push({ configuration, workers, operationsPerSecond });
      if (operationsPerSecond > best.operationsPerSecond) best = { workers, operationsPerSecond };
    }
    bestWorkers.push({ configuration, ...best });
  }

  const tolerance = experiment.tolerance ?? DEFAULT_TOLERANCE;
  const published = experiment.publishedFigures.map((figure) => compare(groups, figure, tolerance));

  const budgets = new Map<string, AppliedBudget>();
  for (const record of measured) if (record.budget !== undefined) budgets.set(JSON.stringify(record.budget), record.budget);
  const windows = measured.map((record) => record.result.windowSeconds);
  const settings = (measured[0] as Measured).result.settings;
  const peak = measured.find((record) => record.peak !== undefined)?.peak?.search;
  const starts = new Map<number, number>();
  for (const record of measured) if (record.peak !== undefined) starts.set(record.peak.search.from, (starts.get(record.peak.search.from) ?? 0) + 1);
  const probes = measured.flatMap((record) => (record.speedProbeMs === undefined ? [] : [record.speedProbeMs]));
  const spread = speedSpread(probes);
  const foreign = foreignLoad(measured);
  const setup: SetupFacts = {
    ...(spread === undefined ? {} : { speed: { ...spread, runs: probes.length } }),
    ...(foreign === undefined ? {} : { foreignLoad: foreign }),
    legacy,
    budgets: [...budgets.values()],
    runsWithoutBudget: measured.filter((record) => record.budget === undefined).length,
    repeatsConfigured,
    code,
    ...(completeness === undefined ? {} : { completeness }),
    windowSeconds: { min: Math.min(...windows), max: Math.max(...windows) },
    windowsLengthened: measured.filter((record) => record.window?.lengthened === true).length,
    ...(experiment.window === undefined ? {} : { windowLimitSeconds: quick ? (experiment.quick?.durationSeconds ?? settings.durationSeconds) : experiment.window.maxSeconds }),
    ...(peak === undefined ? {} : { peak }),
    ...(starts.size > 1 ? { peakStarts: [...starts].map(([from, runs]) => ({ from, runs })).sort((a, b) => b.runs - a.runs) } : {}),
    tolerance,
    runs: measured.length,
    invalidRuns: measured.filter((record) => recordInvalidReasons(record).length > 0).length,
    reused: measured.reduce<Record<string, number>>((counts, record) => (record.reusedFrom === undefined ? counts : { ...counts, [record.reusedFrom]: (counts[record.reusedFrom] ?? 0) + 1 }), {}),
  };
  return {
    experiment,
    generator: { procs: settings.procs, durationSeconds: settings.durationSeconds, warmupSeconds: settings.warmupSeconds, timeoutMs: settings.timeoutMs },
    machine: machineOfSet(measured),
    quick,
    records: records.length,
    loadKind: allPoints.some((point) => point.clients !== undefined) ? 'clients' : 'rate',
    varying,
    points,
    failedRuns,
    caveats,
    tcpUdp: ratios(groups, (p) => p.transport !== 'udp', (p) => p.transport === 'udp', ['transport', 'connection', 'calleeConnection', 'idleStrategy']),
    fdCache: varying.includes('fdCache') ? ratios(groups, (p) => p.fdCache > 0, (p) => p.fdCache === 0, ['fdCache']) : [],
    heapScan: varying.includes('idleStrategy') ? ratios(groups, (p) => p.idleStrategy === 'heap' && p.transport !== 'udp', (p) => p.idleStrategy === 'scan', ['idleStrategy']) : [],
    workerSweep,
    bestWorkers,
    published,
    setup,
  };
}

/** Repeats per point: the config's (its quick ones for a quick set), or more when more were recorded (`--repeats`). */
function setupRepeats(records: Iterable<ExperimentRecord>, experiment: ExperimentConfig, quick: boolean): number {
  const asked = quick ? experiment.quick?.repeats : experiment.repeats;
  return Math.max(asked ?? 1, ...[...records].map((record) => record.repeat + 1));
}

/** The runs the matrix asks for against those finished; undefined when the config cannot be expanded (an older experiment.json). */
function expectedRuns(experiment: ExperimentConfig, quick: boolean, repeats: number, finished: number): { finished: number; expected: number } | undefined {
  try {
    return { finished, expected: experimentPoints(experiment, quick).length * repeats };
  } catch {
    return undefined;
  }
}
