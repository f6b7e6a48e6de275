/**
 * The numbers of a report, computed from `results/<id>/experiment.json` and `results.jsonl`:
 * per point the median over its repeats, then the ratios the studies talk in (TCP/UDP, fd cache
 * on/off, heap/scan), the worker-count sweep, and our value for each published figure. The
 * report's Markdown, HTML and `report.json` are all written from this one structure.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchResult, LatencySummary } from '@switchboard/bench';
import { counterMetric, type CounterName } from '@switchboard/cluster';
import type { MachineFacts } from '@switchboard/sip/machine-facts';
import type { ExperimentConfig, PublishedFigure } from '../experiment/experiment-config.js';
import type { ExperimentPoint, ExperimentRecord } from '../experiment/experiment-record.js';
import { ReportError } from './report-error.js';

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
  readonly repeats: number;
  readonly operationsPerSecond: number;
  readonly callsPerSecond: number;
  readonly successRatio: number;
  readonly callSetupMs?: LatencyPercentiles;
  readonly byeMs?: LatencyPercentiles;
  readonly registerMs?: LatencyPercentiles;
  readonly proxyCpuPercent?: number;
  readonly proxyRssMaxBytes?: number;
  readonly generatorCpuPercent: number;
  readonly generatorSaturated: boolean;
  /** Some run scraped the proxy's metrics but got no worker's counters (the workers did not answer in time). */
  readonly countersMissing: boolean;
  /** fd requests per 1000 operations (process-pool). */
  readonly fdRequestsPer1000Operations?: number;
  /** fd-cache hits / (hits + misses). */
  readonly fdCacheHitRate?: number;
  /** Milliseconds in IPC code over the proxy's CPU milliseconds. */
  readonly ipcShare?: number;
  /** Connections visited per idle sweep. */
  readonly idleSweepVisitedPerSweep?: number;
  readonly failures: Readonly<Record<string, number>>;
}

export interface Ratio {
  readonly configuration: string;
  readonly load: number;
  readonly numerator: number;
  readonly denominator: number;
  readonly ratio: number;
}

export interface WorkerSweepRow {
  readonly configuration: string;
  readonly workers: number;
  /** Best operations/s over the loads at this worker count. */
  readonly operationsPerSecond: number;
}

export interface PublishedComparison {
  readonly label: string;
  readonly published: number;
  readonly ours?: number;
  /** `yes` when ours lies on the same side of 1 as the published ratio, `no` when not; `n/a` when there is nothing to compare. */
  readonly reproduces: 'yes' | 'no' | 'n/a';
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
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
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
  return result.proxyCounters?.[counterMetric(name)];
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

function summarize(records: readonly ExperimentRecord[], varying: readonly Dimension[], extraVarying: readonly string[]): PointSummary {
  const first = records[0] as ExperimentRecord;
  const point = first.point;
  const results = records.map((record) => record.result).filter((result): result is BenchResult => result !== undefined);
  const words = varying.filter((dimension) => !(point.transport === 'udp' && (dimension === 'connection' || dimension === 'calleeConnection' || dimension === 'idleStrategy'))).map((dimension) => describe(dimension, point));
  // TLS choices say nothing about a UDP or TCP point.
  for (const key of extraVarying) if (!(key.startsWith('tls-') && point.transport !== 'tls')) words.push(`${key} ${point.extra?.[key] ?? ''}`);
  const operations = medianOf(results, (r) => r.operations.perSecond) ?? 0;
  const perThousand = medianOf(results, (r) => {
    const requests = counter(r, 'fdRequests');
    return requests === undefined || r.operations.total === 0 ? undefined : (requests / r.operations.total) * 1000;
  });
  const hitRate = medianOf(results, (r) => {
    const hits = counter(r, 'fdCacheHits') ?? 0;
    const misses = counter(r, 'fdCacheMisses') ?? 0;
    return hits + misses === 0 ? undefined : hits / (hits + misses);
  });
  const ipcShare = medianOf(results, (r) => {
    const ipc = counter(r, 'ipcMilliseconds');
    const cpuMs = r.proxy === undefined ? 0 : (r.proxy.cpuPercentTotal / 100) * r.windowSeconds * 1000;
    return ipc === undefined || cpuMs <= 0 ? undefined : ipc / cpuMs;
  });
  const visited = medianOf(results, (r) => {
    const sweeps = counter(r, 'idleSweeps') ?? 0;
    return sweeps === 0 ? undefined : (counter(r, 'idleSweepVisited') ?? 0) / sweeps;
  });
  const failures: Record<string, number> = {};
  for (const result of results) for (const [kind, count] of Object.entries(result.failures)) failures[kind] = (failures[kind] ?? 0) + count;
  const optional = <K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));
  return {
    key: first.pointKey,
    point,
    configuration: words.length === 0 ? 'all' : words.join(', '),
    load: point.clients ?? point.rate ?? 0,
    repeats: results.length,
    operationsPerSecond: round(operations, 1),
    callsPerSecond: round(medianOf(results, (r) => r.calls.perSecond) ?? 0, 1),
    successRatio: round(medianOf(results, (r) => r.calls.successRatio) ?? 0, 5),
    ...optional('callSetupMs', percentiles(results, 'invite-200')),
    ...optional('byeMs', percentiles(results, 'bye-200')),
    ...optional('registerMs', percentiles(results, 'register')),
    ...optional('proxyCpuPercent', medianOf(results, (r) => r.proxy?.cpuPercentTotal)),
    ...optional('proxyRssMaxBytes', medianOf(results, (r) => (r.proxy === undefined ? undefined : r.proxy.processes.reduce((sum, usage) => sum + usage.rssBytesMax, 0)))),
    generatorCpuPercent: medianOf(results, (r) => Math.max(...r.generator.processes.map((usage) => usage.cpuPercent))) ?? 0,
    generatorSaturated: results.some((r) => r.generator.saturated),
    countersMissing: results.some((r) => r.proxyCounters !== undefined && counter(r, 'requestsReceived') === undefined),
    ...optional('fdRequestsPer1000Operations', perThousand === undefined ? undefined : round(perThousand, 1)),
    ...optional('fdCacheHitRate', hitRate === undefined ? undefined : round(hitRate, 4)),
    ...optional('ipcShare', ipcShare === undefined ? undefined : round(ipcShare, 4)),
    ...optional('idleSweepVisitedPerSweep', visited === undefined ? undefined : round(visited, 1)),
    failures,
  };
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

function ratios(points: readonly PointSummary[], isNumerator: (p: ExperimentPoint) => boolean, isDenominator: (p: ExperimentPoint) => boolean, ignore: readonly Dimension[]): Ratio[] {
  const found: Ratio[] = [];
  for (const top of points) {
    if (!isNumerator(top.point)) continue;
    const bottom = points.find((candidate) => isDenominator(candidate.point) && sameExcept(top.point, candidate.point, ignore));
    if (bottom === undefined || bottom.operationsPerSecond <= 0) continue;
    found.push({ configuration: top.configuration, load: top.load, numerator: top.operationsPerSecond, denominator: bottom.operationsPerSecond, ratio: round(top.operationsPerSecond / bottom.operationsPerSecond) });
  }
  return found;
}

type Filter = Readonly<Record<string, string | number>>;

function matches(point: ExperimentPoint, filter: Filter): boolean {
  for (const [key, value] of Object.entries(filter)) {
    const actual = (point as unknown as Record<string, unknown>)[key] ?? point.extra?.[key];
    if (String(actual) !== String(value)) return false;
  }
  return true;
}

const METRICS: Record<string, (summary: PointSummary) => number | undefined> = {
  operationsPerSecond: (s) => s.operationsPerSecond,
  callsPerSecond: (s) => s.callsPerSecond,
  successRatio: (s) => s.successRatio,
  ipcShare: (s) => s.ipcShare,
  fdCacheHitRate: (s) => s.fdCacheHitRate,
  callSetupP99Ms: (s) => s.callSetupMs?.p99,
  proxyCpuPercent: (s) => s.proxyCpuPercent,
  callsPerProxyCpuSecond: (s) => (s.proxyCpuPercent === undefined || s.proxyCpuPercent <= 0 ? undefined : s.callsPerSecond / (s.proxyCpuPercent / 100)),
};

/** Our value for a published figure: the metric of the best matching point, or the ratio of two. */
function ours(points: readonly PointSummary[], figure: PublishedFigure): number | undefined {
  const spec = figure.ours;
  if (spec === undefined) return undefined;
  const metric = METRICS[spec.metric];
  if (metric === undefined) throw new ReportError('ERR_SWITCHBOARD_REPORT_BAD_FIGURE', `published figure "${figure.label}": unknown metric ${spec.metric} (known: ${Object.keys(METRICS).join(', ')})`);
  const best = (filter: Filter): number | undefined => {
    const values = points.filter((summary) => matches(summary.point, filter)).map(metric).filter((value): value is number => value !== undefined);
    return values.length === 0 ? undefined : Math.max(...values);
  };
  const top = best(spec.numerator);
  if (spec.denominator === undefined) return top;
  const bottom = best(spec.denominator);
  return top === undefined || bottom === undefined || bottom === 0 ? undefined : round(top / bottom);
}

export async function loadReportData(resultsDir: string): Promise<ReportData> {
  const configFile = join(resultsDir, 'experiment.json');
  const resultsFile = join(resultsDir, 'results.jsonl');
  if (!existsSync(configFile) || !existsSync(resultsFile)) {
    throw new ReportError('ERR_SWITCHBOARD_REPORT_NO_RESULTS', `${resultsDir}: no experiment.json and results.jsonl here; run \`switchboard experiment run\` first`);
  }
  const experiment = JSON.parse(await readFile(configFile, 'utf8')) as ExperimentConfig;
  const records: ExperimentRecord[] = [];
  for (const line of (await readFile(resultsFile, 'utf8')).split('\n')) {
    if (line.trim() === '') continue;
    try {
      records.push(JSON.parse(line) as ExperimentRecord);
    } catch {
      // A line cut short by an interrupted run.
    }
  }
  // The last record of a run wins (a failed run that was resumed and then succeeded).
  const latest = new Map<string, ExperimentRecord>();
  for (const record of records) latest.set(`${record.pointKey}#${record.repeat}`, record);
  const measured = [...latest.values()].filter((record) => record.result !== undefined);
  if (measured.length === 0) throw new ReportError('ERR_SWITCHBOARD_REPORT_NO_RESULTS', `${resultsFile}: no run with a result yet (${records.length} records)`);

  const failedRuns = [...latest.values()].filter((record) => record.result === undefined).map((record) => ({ key: record.pointKey, repeat: record.repeat, code: record.error?.code ?? 'unknown', message: record.error?.message ?? '' }));
  const byPoint = new Map<string, ExperimentRecord[]>();
  for (const record of measured) byPoint.set(record.pointKey, [...(byPoint.get(record.pointKey) ?? []), record]);
  const allPoints = measured.map((record) => record.point);
  const varying = DIMENSIONS.filter((dimension) => new Set(allPoints.map((point) => point[dimension])).size > 1);
  const extraKeys = [...new Set(allPoints.flatMap((point) => Object.keys(point.extra ?? {})))];
  const extraVarying = extraKeys.filter((key) => new Set(allPoints.map((point) => point.extra?.[key])).size > 1);
  const points = [...byPoint.values()].map((group) => summarize(group, varying, extraVarying));

  const caveats: string[] = [];
  for (const failed of failedRuns) caveats.push(`Run failed (${failed.code}): ${failed.key}, repeat ${failed.repeat}.`);
  for (const summary of points) {
    if (summary.generatorSaturated) caveats.push(`Generator above its CPU limit: ${summary.configuration} at ${summary.load}; this figure measures the generator, not the proxy.`);
    if (summary.countersMissing) caveats.push(`No counters from the proxy's workers: ${summary.configuration} at ${summary.load}. The workers did not answer the stats request within 2 s (the supervisor-to-worker IPC channel was backed up), so fd requests, cache hits and IPC share are unknown there.`);
    if (summary.successRatio < 0.999) caveats.push(`Call success ${(summary.successRatio * 100).toFixed(2)}% (< 99.9%): ${summary.configuration} at ${summary.load} (${Object.entries(summary.failures).map(([kind, count]) => `${kind} ${count}`).join(', ')}).`);
  }
  const quick = measured.some((record) => record.quick);

  const sweepConfigurations = new Map<string, Map<number, number>>();
  if (varying.includes('workers')) {
    for (const summary of points) {
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

  const published: PublishedComparison[] = experiment.publishedFigures.map((figure) => {
    const value = ours(points, figure);
    const compare = figure.compare ?? (figure.ours?.denominator === undefined ? undefined : 'side-of-one');
    let reproduces: PublishedComparison['reproduces'] = 'n/a';
    if (value !== undefined && compare === 'at-least') reproduces = value >= figure.value ? 'yes' : 'no';
    else if (value !== undefined && compare === 'at-most') reproduces = value <= figure.value ? 'yes' : 'no';
    else if (value !== undefined && compare === 'side-of-one' && figure.value !== 1) reproduces = value > 1 === figure.value > 1 ? 'yes' : 'no';
    return { label: figure.label, published: figure.value, ...(value === undefined ? {} : { ours: value }), reproduces };
  });

  const settings = (measured[0] as ExperimentRecord & { result: BenchResult }).result.settings;
  return {
    experiment,
    generator: { procs: settings.procs, durationSeconds: settings.durationSeconds, warmupSeconds: settings.warmupSeconds, timeoutMs: settings.timeoutMs },
    machine: (measured[0] as ExperimentRecord).machine,
    quick,
    records: records.length,
    loadKind: allPoints.some((point) => point.clients !== undefined) ? 'clients' : 'rate',
    varying,
    points,
    failedRuns,
    caveats,
    tcpUdp: ratios(points, (p) => p.transport !== 'udp', (p) => p.transport === 'udp', ['transport', 'connection', 'calleeConnection', 'idleStrategy']),
    fdCache: varying.includes('fdCache') ? ratios(points, (p) => p.fdCache > 0, (p) => p.fdCache === 0, ['fdCache']) : [],
    heapScan: varying.includes('idleStrategy') ? ratios(points, (p) => p.idleStrategy === 'heap' && p.transport !== 'udp', (p) => p.idleStrategy === 'scan', ['idleStrategy']) : [],
    workerSweep,
    bestWorkers,
    published,
  };
}
