/**
 * `switchboard experiment run`: every point of an experiment's matrix, `repeats` times. For each
 * run it starts what the point needs (a redis-server for `state: redis`, then the proxy), runs
 * the generator against it, stops both, and appends one record to `results.jsonl` at once, so an
 * interrupted experiment resumes where it stopped: runs already recorded are skipped.
 */
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { runBench, type BenchProgress } from '@switchboard/bench';
import { startRedisServer, type RedisTestServer } from '@switchboard/cluster/redis-test-server';
import { machineFacts } from '@switchboard/sip/machine-facts';
import { ExperimentError, parseExperimentConfig, type ExperimentConfig } from './experiment-config.js';
import { experimentPoints, pointKey } from './experiment-matrix.js';
import { EXPERIMENT_RECORD_SCHEMA, type ExperimentPoint, type ExperimentRecord } from './experiment-record.js';
import { preparePointSecurity, type PointSecurity } from './point-security.js';
import { EXPERIMENT_DOMAIN, startProxyUnderTest, type ProxyUnderTest } from './proxy-under-test.js';

export interface ExperimentRunOptions {
  /** The `switchboard` launcher (bin/switchboard.js) used to start each proxy. */
  readonly switchboardBin: string;
  readonly quick?: boolean;
  /** Where results go (default: results/<id>, or results/<id>-quick with `quick`). */
  readonly outDir?: string;
  /** Override the config's repeats. */
  readonly repeats?: number;
  /** Told about each run as it starts and ends (the library does not print). */
  readonly onEvent?: (event: ExperimentEvent) => void;
  readonly onProgress?: (progress: BenchProgress) => void;
  /** Stops the experiment after the run in progress. */
  readonly signal?: AbortSignal;
}

export type ExperimentEvent =
  | { readonly kind: 'start'; readonly id: string; readonly outDir: string; readonly runs: number; readonly done: number }
  | { readonly kind: 'run'; readonly index: number; readonly runs: number; readonly key: string; readonly repeat: number }
  | { readonly kind: 'recorded'; readonly record: ExperimentRecord }
  | { readonly kind: 'skipped'; readonly key: string; readonly repeat: number };

export async function loadExperimentConfig(file: string): Promise<ExperimentConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ExperimentError('ERR_SWITCHBOARD_EXPERIMENT_CONFIG', `${file}: cannot read: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new ExperimentError('ERR_SWITCHBOARD_EXPERIMENT_CONFIG', `${file}: not YAML: ${(error as Error).message}`);
  }
  return parseExperimentConfig(raw, file);
}

/** Runs already recorded with a result, as `pointKey#repeat`. */
async function recordedRuns(file: string): Promise<Set<string>> {
  const done = new Set<string>();
  if (!existsSync(file)) return done;
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    if (line.trim() === '') continue;
    try {
      const record = JSON.parse(line) as ExperimentRecord;
      if (record.result !== undefined) done.add(`${record.pointKey}#${record.repeat}`);
    } catch {
      // A line cut short by an interruption: that run is simply run again.
    }
  }
  return done;
}

export async function runExperiment(configFile: string, options: ExperimentRunOptions): Promise<{ outDir: string; records: number }> {
  const config = await loadExperimentConfig(configFile);
  const quick = options.quick === true;
  const outDir = options.outDir ?? join('results', quick ? `${config.id}-quick` : config.id);
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'experiment.yaml'), await readFile(configFile, 'utf8'));
  await writeFile(join(outDir, 'experiment.json'), `${JSON.stringify(config, null, 2)}\n`);
  const resultsFile = join(outDir, 'results.jsonl');
  const done = await recordedRuns(resultsFile);
  const points = experimentPoints(config, quick);
  const repeats = options.repeats ?? (quick ? config.quick.repeats : config.repeats);
  const runs: Array<{ point: ExperimentPoint; repeat: number }> = [];
  for (let repeat = 0; repeat < repeats; repeat++) for (const point of points) runs.push({ point, repeat });
  options.onEvent?.({ kind: 'start', id: config.id, outDir, runs: runs.length, done: runs.filter((run) => done.has(`${pointKey(run.point)}#${run.repeat}`)).length });

  let recorded = 0;
  for (const [index, { point, repeat }] of runs.entries()) {
    if (options.signal?.aborted) break;
    const key = pointKey(point);
    if (done.has(`${key}#${repeat}`)) {
      options.onEvent?.({ kind: 'skipped', key, repeat });
      continue;
    }
    options.onEvent?.({ kind: 'run', index, runs: runs.length, key, repeat });
    const record = await runPoint(config, point, repeat, quick, options);
    await appendFile(resultsFile, `${JSON.stringify(record)}\n`);
    recorded++;
    options.onEvent?.({ kind: 'recorded', record });
  }
  return { outDir, records: recorded };
}

async function runPoint(config: ExperimentConfig, point: ExperimentPoint, repeat: number, quick: boolean, options: ExperimentRunOptions): Promise<ExperimentRecord> {
  const base = {
    schema: EXPERIMENT_RECORD_SCHEMA,
    experiment: config.id,
    pointKey: pointKey(point),
    point,
    repeat,
    quick,
    machine: machineFacts(),
    ...(config.pin === undefined ? {} : { pinning: config.pin }),
  } as const;
  let redis: RedisTestServer | undefined;
  let proxy: ProxyUnderTest | undefined;
  let security: PointSecurity | undefined;
  let serveArgs: readonly string[] = [];
  try {
    if (point.state === 'redis') redis = await startRedisServer();
    security = await preparePointSecurity(point, point.clients ?? config.bench.pairs);
    proxy = await startProxyUnderTest({ switchboardBin: options.switchboardBin, point, redisUrl: redis?.url, serve: { ...config.serve, ...security.serve }, cpus: config.pin?.proxy });
    serveArgs = proxy.args;
    const result = await runBench({
      proxy: proxy.address,
      domain: EXPERIMENT_DOMAIN,
      transport: point.transport,
      ...(point.clients === undefined ? { rate: point.rate, arrivals: config.bench.arrivals, pairs: config.bench.pairs } : { clients: point.clients }),
      callerConnection: point.connection as never,
      calleeConnection: point.calleeConnection as never,
      durationSeconds: quick ? config.quick.durationSeconds : config.bench.durationSeconds,
      warmupSeconds: quick ? config.quick.warmupSeconds : config.bench.warmupSeconds,
      holdMs: config.bench.holdMs,
      timeoutMs: config.bench.timeoutMs,
      procs: config.bench.procs,
      seed: repeat + 1,
      ...security.bench,
      proxyPid: proxy.pid,
      proxyMetricsUrl: proxy.metricsUrl,
      ...(config.pin?.generator === undefined ? {} : { generatorCpus: config.pin.generator }),
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    });
    return { ...base, serveArgs, result };
  } catch (error) {
    const { code, message } = error as Error & { code?: string };
    return { ...base, serveArgs, error: { code: code ?? 'ERR_SWITCHBOARD_EXPERIMENT_RUN', message } };
  } finally {
    await proxy?.stop();
    await redis?.stop();
    await security?.remove();
  }
}
