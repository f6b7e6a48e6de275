/**
 * `switchboard model run`: E9. For each arrival process and offered rate, a fresh event-loop proxy
 * with `--timing` (trace sampled by Call-ID) under the config's CPU budget, the generator in open
 * loop, and tcpdump on the loopback interface; after the window the capture is matched (piscina),
 * joined with the trace, and one point appended to `points.jsonl` (resumable: points already
 * there are skipped). Captures and traces are deleted once analysed unless `keepCaptures`.
 */
import { appendFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { cpuCount, runBench, type BenchResult } from '@switchboard/bench';
import { machineFacts, type MachineFacts } from '@switchboard/sip/machine-facts';
import { CpuBudget, type AppliedBudget } from '../experiment/cpu-budget.js';
import type { ExperimentPoint } from '../experiment/experiment-record.js';
import { EXPERIMENT_DOMAIN, startProxyUnderTest, type ProxyUnderTest } from '../experiment/proxy-under-test.js';
import { analyseCapture } from './capture-analysis.js';
import { loadPoint, readTrace } from './load-point.js';
import { startLoopbackCapture, type LoopbackCapture } from './loopback-capture.js';
import { loadQueueingConfig, type ArrivalProcess, type QueueingConfig } from './queueing-config.js';
import type { LoadPointMeasurement } from './queueing-fit.js';

export const QUEUEING_RECORD_SCHEMA = 'switchboard-e9/1';

/** One line of points.jsonl. */
export interface QueueingRecord {
  readonly schema: typeof QUEUEING_RECORD_SCHEMA;
  readonly key: string;
  readonly quick: boolean;
  readonly machine: MachineFacts;
  readonly budget?: AppliedBudget;
  readonly windowSeconds: number;
  readonly proxyNice?: number;
  readonly measurement?: LoadPointMeasurement & { readonly traced: number; readonly waitingByKind: Record<string, number> };
  readonly capture?: { readonly messages: number; readonly skipped: number; readonly unmatched: number; readonly repeats: number; readonly dropped?: number };
  readonly generator?: { readonly saturated: boolean; readonly cpuPercentTotal?: number };
  readonly proxyCpuPercent?: number;
  readonly error?: { readonly code: string; readonly message: string };
}

export type QueueingEvent = { readonly kind: 'point'; readonly key: string; readonly index: number; readonly points: number } | { readonly kind: 'recorded'; readonly record: QueueingRecord } | { readonly kind: 'skipped'; readonly key: string };

export interface QueueingRunOptions {
  readonly switchboardBin: string;
  readonly quick?: boolean;
  readonly outDir?: string;
  readonly keepCaptures?: boolean;
  readonly onEvent?: (event: QueueingEvent) => void;
  readonly signal?: AbortSignal;
}

const pointKeyOf = (arrivals: string, rate: number): string => `${arrivals}@${rate}`;

async function recordedKeys(file: string): Promise<Set<string>> {
  const keys = new Set<string>();
  if (!existsSync(file)) return keys;
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    if (line.trim() === '') continue;
    try {
      const record = JSON.parse(line) as QueueingRecord;
      if (record.measurement !== undefined) keys.add(record.key);
    } catch {
      // a torn last line: that point runs again
    }
  }
  return keys;
}

export async function runQueueingExperiment(configFile: string, options: QueueingRunOptions): Promise<{ outDir: string; records: number }> {
  const config = await loadQueueingConfig(configFile);
  const quick = options.quick === true;
  const outDir = options.outDir ?? join('results', quick ? `${config.id}-quick` : config.id);
  const work = join(outDir, 'captures');
  await mkdir(work, { recursive: true });
  await writeFile(join(outDir, 'experiment.yaml'), await readFile(configFile, 'utf8'));
  await writeFile(join(outDir, 'model.json'), `${JSON.stringify({ ...config, quickRun: quick }, null, 2)}\n`);
  const file = join(outDir, 'points.jsonl');
  const done = await recordedKeys(file);
  // Children (the generator's load processes, tcpdump) inherit this process's nice value.
  if (config.generatorNice !== undefined) spawnSync('renice', ['-n', String(config.generatorNice), '-p', String(process.pid)], { stdio: 'ignore' });
  const rates = quick ? config.quick.rates : config.rates;
  const arrivalsList = quick ? config.quick.arrivals : config.arrivals;
  const points = arrivalsList.flatMap((arrivals) => rates.map((rate) => ({ arrivals, rate })));
  let recorded = 0;
  for (const [index, { arrivals, rate }] of points.entries()) {
    if (options.signal?.aborted) break;
    const key = pointKeyOf(arrivals, rate);
    if (done.has(key)) {
      options.onEvent?.({ kind: 'skipped', key });
      continue;
    }
    options.onEvent?.({ kind: 'point', key, index, points: points.length });
    const record = await runPoint(config, arrivals, rate, quick, work, options);
    await appendFile(file, `${JSON.stringify(record)}\n`);
    recorded++;
    options.onEvent?.({ kind: 'recorded', record });
  }
  if (options.keepCaptures !== true) await rm(work, { recursive: true, force: true });
  return { outDir, records: recorded };
}

let serial = 0;

async function runPoint(config: QueueingConfig, arrivals: ArrivalProcess, rate: number, quick: boolean, work: string, options: QueueingRunOptions): Promise<QueueingRecord> {
  const machine = machineFacts();
  const key = pointKeyOf(arrivals, rate);
  const windowSeconds = quick ? config.quick.windowSeconds : config.windowSeconds;
  const warmupSeconds = quick ? config.quick.warmupSeconds : config.warmupSeconds;
  const base = { schema: QUEUEING_RECORD_SCHEMA, key, quick, machine, windowSeconds, ...(config.proxyNice === undefined ? {} : { proxyNice: config.proxyNice }) } as const;
  const budget = CpuBudget.create(config.budget, `e9-${process.pid}-${serial++}`, cpuCount(machine.cpusAllowed) ?? machine.cores);
  const traceFile = join(work, `${arrivals}-${rate}.trace.jsonl`);
  const pcapFile = join(work, `${arrivals}-${rate}.pcap`);
  const point: ExperimentPoint = { model: 'event-loop', workers: 1, state: 'local', fdCache: 0, idleStrategy: 'heap', transport: 'udp', connection: 'persistent', calleeConnection: 'persistent', rate };
  let proxy: ProxyUnderTest | undefined;
  let capture: LoopbackCapture | undefined;
  try {
    proxy = await startProxyUnderTest({ switchboardBin: options.switchboardBin, point, serve: { timing: true, 'timing-trace': traceFile, 'timing-sample': config.traceSample } });
    await budget.enter(proxy.pid);
    if (config.proxyNice !== undefined) spawnSync('renice', ['-n', String(config.proxyNice), '-p', String(proxy.pid)], { stdio: 'ignore' });
    const port = Number(proxy.address.split(':').pop());
    capture = await startLoopbackCapture(pcapFile, port, budget.applied.generator.cpus === undefined ? {} : { cpus: budget.applied.generator.cpus });
    let windowStartUs = 0;
    const result: BenchResult = await runBench({
      proxy: proxy.address,
      domain: EXPERIMENT_DOMAIN,
      transport: 'udp',
      rate,
      pairs: config.pairs,
      arrivals,
      durationSeconds: windowSeconds,
      warmupSeconds,
      holdMs: config.holdMs,
      timeoutMs: config.timeoutMs,
      procs: 1,
      seed: serial,
      proxyPid: proxy.pid,
      proxyMetricsUrl: proxy.metricsUrl,
      ...(budget.applied.generator.cpus === undefined ? {} : { generatorCpus: budget.applied.generator.cpus }),
      onProgress: (progress) => {
        if (progress.phase === 'window' && windowStartUs === 0) windowStartUs = Date.now() * 1000;
      },
    });
    const { dropped } = await capture.stop();
    capture = undefined;
    await proxy.stop();
    proxy = undefined;
    const window = { startUs: windowStartUs, endUs: windowStartUs + result.windowSeconds * 1e6 };
    const analysis = await analyseCapture(pcapFile, port);
    const arrivalsInWindow = analysis.arrivalTimesUs.filter((t) => t >= window.startUs && t < window.endUs).length;
    const measurement = loadPoint({
      arrivals,
      offeredCallsPerSecond: rate,
      achievedCallsPerSecond: result.calls.perSecond,
      successRatio: result.calls.successRatio,
      window,
      capture: { ...analysis, arrivalsInWindow },
      traces: await readTrace(traceFile),
      batches: config.batches,
    });
    if (options.keepCaptures !== true) await Promise.all([rm(pcapFile, { force: true }), rm(traceFile, { force: true })]);
    return {
      ...base,
      budget: budget.applied,
      measurement,
      capture: { messages: analysis.messages, skipped: analysis.skipped, unmatched: analysis.unmatched, repeats: analysis.repeats, ...(dropped === undefined ? {} : { dropped }) },
      generator: { saturated: result.generator.saturated, ...(result.generator.cpuPercentTotal === undefined ? {} : { cpuPercentTotal: result.generator.cpuPercentTotal }) },
      ...(result.proxy === undefined ? {} : { proxyCpuPercent: result.proxy.cpuPercentTotal }),
    };
  } catch (error) {
    const { code, message } = error as Error & { code?: string };
    return { ...base, budget: budget.applied, error: { code: code ?? 'ERR_SWITCHBOARD_EXPERIMENT_RUN', message } };
  } finally {
    await capture?.stop();
    await proxy?.stop();
    await budget.release();
  }
}
