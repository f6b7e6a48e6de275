/**
 * `switchboard experiment run`: every point of an experiment's matrix, `repeats` times. For each
 * run it starts what the point needs (a redis-server for `state: redis`, then the proxy) under the
 * point's CPU budget, runs the generator against it on its own CPUs, stops both, and appends one
 * record to `results.jsonl` at once, so an interrupted experiment resumes where it stopped: runs
 * already recorded are skipped.
 *
 * - With `peak:` a run is an open-loop ladder of offered rates (peak-ladder.ts), each step on a
 *   fresh proxy; the record holds every step and the run at the peak.
 * - Each run's window must contain its workload (run-validity.ts): an open-loop step gets the
 *   window its rate needs up front (or is skipped when that exceeds `window.max`); a closed-loop
 *   run whose connection lifetimes did not go round is run once more with the window it needed,
 *   when that fits, and is otherwise recorded invalid.
 * - A run whose generator or Redis ran out of CPU is recorded invalid, with the reason.
 * - With `reuse:`, a run another experiment already made under the same settings is copied
 *   (`reusedFrom`), not measured again (reused-runs.ts).
 */
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { cpuCount, runBench, type BenchProgress, type BenchResult } from '@switchboard/bench';
import { startRedisServer, type RedisTestServer } from '@switchboard/testkit/redis-server';
import { machineFacts, type MachineFacts } from '@switchboard/sip/machine-facts';
import { probeSpeed } from './speed-probe.js';
import { codeVersion, distinctCodeVersions, sameCode, type CodeVersion } from './code-version.js';
import { parseExperimentConfig, type ExperimentConfig } from './experiment-config.js';
import { ExperimentError } from './experiment-error.js';
import { experimentPoints, pointKey } from './experiment-matrix.js';
import { CpuBudget, type AppliedBudget } from './cpu-budget.js';
import { EXPERIMENT_RECORD_SCHEMA, type ExperimentPoint, type ExperimentRecord } from './experiment-record.js';
import { searchPeak, stepPasses, type LadderStep, type PeakOutcome, type PeakSearch } from './peak-ladder.js';
import { foreignLoadReason, invalidReasons, isWindowReason, windowChecks, windowNeeded } from './run-validity.js';
import { preparePointSecurity, type PointSecurity } from './point-security.js';
import { EXPERIMENT_DOMAIN, startProxyUnderTest, type ProxyUnderTest } from './proxy-under-test.js';
import { capacityReason, runRegistrationPoint } from './registration-workload.js';
import { runOverloadSteps, type OverloadMeasurement } from './overload-steps.js';
import type { RegistrationWorkloadConfig } from './workload-config.js';
import { capacitySourceKey } from './capacity-source.js';
import { PeakBook, type EarlierPeak } from './peak-book.js';
import { reusableRuns } from './reused-runs.js';
import { isFinalRecord, readResultsFile } from './results-file.js';
import type { ProxyRunTotals } from './proxy-run-totals.js';

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
  /** `code`: the code this sitting measures; `recordedCode`: the versions of the runs already recorded, when any differs from it. */
  | { readonly kind: 'start'; readonly id: string; readonly outDir: string; readonly runs: number; readonly done: number; readonly code?: CodeVersion; readonly recordedCode?: readonly CodeVersion[] }
  | { readonly kind: 'run'; readonly index: number; readonly runs: number; readonly key: string; readonly repeat: number }
  | { readonly kind: 'step'; readonly key: string; readonly repeat: number; readonly step: LadderStep }
  | { readonly kind: 'recorded'; readonly record: ExperimentRecord }
  | { readonly kind: 'skipped'; readonly key: string; readonly repeat: number }
  | { readonly kind: 'reused'; readonly key: string; readonly repeat: number; readonly from: string }
  | { readonly kind: 'reuse-refused'; readonly from: string; readonly reason: string };

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

/** Runs already recorded with a result, as `pointKey#repeat`; their peaks go into `peaks`. */
function recordedRuns(records: readonly ExperimentRecord[], peaks: PeakBook): Set<string> {
  const done = new Set<string>();
  for (const record of records) {
    if (isFinalRecord(record)) done.add(`${record.pointKey}#${record.repeat}`);
    peaks.note(record);
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
  const peaks = new PeakBook();
  const earlierRecords = await readResultsFile(resultsFile);
  const done = recordedRuns(earlierRecords, peaks);
  const code = codeVersion();
  const recordedCode = distinctCodeVersions(earlierRecords.filter(isFinalRecord)).versions;
  const codeDiffers = recordedCode.some((version) => code === undefined || !sameCode(version, code));
  const points = experimentPoints(config, quick);
  const reusable = await reusableRuns(config, outDir, quick);
  for (const { id, reason } of reusable.refused) options.onEvent?.({ kind: 'reuse-refused', from: id, reason });
  const repeats = options.repeats ?? (quick ? config.quick.repeats : config.repeats);
  // The machine as it is, before this process is pinned (its facts read the CPUs allowed).
  const machine = machineFacts();
  // The runner coordinates the generator (progress, sampling): it belongs on the generator's CPUs.
  // Only when the proxy has CPUs of its own, as what the runner starts inherits its affinity until
  // it joins the proxy's cpuset (or gets the proxy's affinity).
  if (config.budget?.generatorCpus !== undefined && config.budget.proxyCpus !== undefined) pinSelf(config.budget.generatorCpus);
  const runs: Array<{ point: ExperimentPoint; repeat: number }> = [];
  for (let repeat = 0; repeat < repeats; repeat++) for (const point of points) runs.push({ point, repeat });
  options.onEvent?.({ kind: 'start', id: config.id, outDir, runs: runs.length, done: runs.filter((run) => done.has(`${pointKey(run.point)}#${run.repeat}`)).length, ...(code === undefined ? {} : { code }), ...(codeDiffers ? { recordedCode } : {}) });

  let recorded = 0;
  for (const [index, { point, repeat }] of runs.entries()) {
    if (options.signal?.aborted) break;
    const key = pointKey(point);
    if (done.has(`${key}#${repeat}`)) {
      options.onEvent?.({ kind: 'skipped', key, repeat });
      continue;
    }
    const taken = reusable.runs.get(`${key}#${repeat}`);
    if (taken !== undefined) {
      const record: ExperimentRecord = { ...taken, experiment: config.id };
      await appendFile(resultsFile, `${JSON.stringify(record)}\n`);
      peaks.note(record);
      recorded++;
      options.onEvent?.({ kind: 'reused', key, repeat, from: taken.reusedFrom ?? '' });
      continue;
    }
    options.onEvent?.({ kind: 'run', index, runs: runs.length, key, repeat });
    const record = await runPoint(config, point, repeat, quick, machine, code, options, peaks.seed(key), peaks);
    // A ladder (or overload steps) cut short by the stop is not a result: it runs again on resume.
    if (options.signal?.aborted && (record.peak !== undefined || record.capacity !== undefined)) break;
    await appendFile(resultsFile, `${JSON.stringify(record)}\n`);
    peaks.note(record);
    recorded++;
    options.onEvent?.({ kind: 'recorded', record });
  }
  return { outDir, records: recorded };
}

/** Moves this process (every thread) onto `cpus`; nothing when taskset is missing. */
function pinSelf(cpus: string): void {
  spawnSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' });
}

/** The pid of the redis-server on `port` (INFO server → process_id). */
async function redisPid(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    const done = (pid: number | undefined): void => {
      socket.destroy();
      resolve(pid);
    };
    socket.setTimeout(2000, () => done(undefined));
    socket.on('error', () => done(undefined));
    socket.on('connect', () => socket.write('INFO server\r\n'));
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const match = /process_id:(\d+)/.exec(text);
      if (match !== null) done(Number(match[1]));
    });
  });
}

interface Measured {
  readonly result: BenchResult;
  readonly serveArgs: readonly string[];
  readonly budget: AppliedBudget;
  /** What overload control did over the proxy's whole run (its stop line), when it logged it. */
  readonly proxyTotals?: ProxyRunTotals;
}

let budgetSerial = 0;

/** One measurement: Redis and the proxy under the budget, the generator on its CPUs, then all stopped. */
async function measure(config: ExperimentConfig, point: ExperimentPoint, repeat: number, quick: boolean, load: { clients: number } | { rate: number; pairs: number; arrivals: PeakSearch['arrivals'] }, durationSeconds: number, options: ExperimentRunOptions, onServe: (args: readonly string[], budget: AppliedBudget) => void, warmupOverride?: number, stopGraceMs?: number): Promise<Measured> {
  const warmupSeconds = warmupOverride ?? (quick ? config.quick.warmupSeconds : config.bench.warmupSeconds);
  let redis: RedisTestServer | undefined;
  let proxy: ProxyUnderTest | undefined;
  let security: PointSecurity | undefined;
  const budget = CpuBudget.create(config.budget, `${config.id}-${budgetSerial++}`, cpuCount(machineFacts().cpusAllowed) ?? machineFacts().cores);
  try {
    const observe: Array<{ pid: number; role: string }> = [];
    if (point.state === 'redis') {
      redis = await startRedisServer();
      const pid = await redisPid(redis.port);
      if (pid !== undefined) {
        await budget.enter(pid);
        observe.push({ pid, role: 'redis' });
      }
    }
    security = await preparePointSecurity(point, 'clients' in load ? load.clients : load.pairs);
    proxy = await startProxyUnderTest({ switchboardBin: options.switchboardBin, point, redisUrl: redis?.url, serve: { ...config.serve, ...security.serve } });
    await budget.enter(proxy.pid);
    onServe(proxy.args, budget.applied);
    const result = config.workload !== undefined
      ? await runRegistrationPoint(config, point, load, durationSeconds, warmupSeconds, {
          proxy: proxy.address,
          domain: EXPERIMENT_DOMAIN,
          ...(security.bench.tls === undefined ? {} : { tls: security.bench.tls }),
          proxyPid: proxy.pid,
          proxyMetricsUrl: proxy.metricsUrl,
          observe,
          ...(budget.applied.generator.cpus === undefined ? {} : { generatorCpus: budget.applied.generator.cpus }),
        })
      : await runBench({
      proxy: proxy.address,
      domain: EXPERIMENT_DOMAIN,
      transport: point.transport,
      ...load,
      callerConnection: point.connection as never,
      calleeConnection: point.calleeConnection as never,
      durationSeconds,
      warmupSeconds,
      holdMs: config.bench.holdMs,
      timeoutMs: config.bench.timeoutMs,
      procs: config.bench.procs,
      ...(config.bench.keepaliveSeconds === undefined || point.transport === 'udp' ? {} : { keepaliveSeconds: config.bench.keepaliveSeconds }),
      seed: repeat + 1,
      ...security.bench,
      proxyPid: proxy.pid,
      proxyMetricsUrl: proxy.metricsUrl,
      observe,
      ...(budget.applied.generator.cpus === undefined ? {} : { generatorCpus: budget.applied.generator.cpus }),
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    });
    const proxyTotals = await proxy.stop(stopGraceMs);
    return { result, serveArgs: proxy.args, budget: budget.applied, ...(proxyTotals === undefined ? {} : { proxyTotals }) };
  } finally {
    await proxy?.stop();
    await redis?.stop();
    await security?.remove();
    await budget.release();
  }
}

/**
 * The proxy's CPUs to judge other load on: none in a quick smoke run, which shares its CPUs by
 * design. A peak ladder judges it on the run at the peak only: a step past the peak may load the
 * kernel in ways no process is charged for (drops), and that must not end the ladder.
 */
const judgedCpus = (quick: boolean, budget: AppliedBudget | undefined): string | undefined => (quick ? undefined : budget?.proxy.cpus);

/** Why a searched point is invalid: the ladder's reasons, and other load on the proxy's CPUs in the run at the peak. */
function peakInvalidReasons(outcome: PeakOutcome, proxyCpus: string | undefined): readonly string[] {
  const foreign = outcome.result === undefined ? undefined : foreignLoadReason(outcome.result, proxyCpus);
  return foreign === undefined ? outcome.invalid : [...outcome.invalid, foreign];
}

/**
 * A measurement whose window must contain its workload: when only the window makes it invalid
 * and the window it needed fits under the limit, it is measured once more with that window.
 */
async function measureContained(config: ExperimentConfig, point: ExperimentPoint, repeat: number, quick: boolean, load: Parameters<typeof measure>[4], durationSeconds: number, maxSeconds: number, options: ExperimentRunOptions, onServe: Parameters<typeof measure>[7]): Promise<Measured & { invalid: string[]; lengthened: boolean }> {
  const first = await measure(config, point, repeat, quick, load, durationSeconds, options, onServe);
  const reasons = invalidReasons(point, first.result, config.window.reconnections, judgedCpus(quick, first.budget));
  if (reasons.length === 0 || !reasons.every(isWindowReason)) return { ...first, invalid: reasons, lengthened: false };
  const needed = Math.max(...windowChecks(point, first.result, config.window.reconnections).filter((check) => !check.contains).map((check) => check.neededSeconds));
  if (!(needed > durationSeconds && needed <= maxSeconds)) return { ...first, invalid: reasons.map((reason) => `${reason}; above the ${maxSeconds} s limit (${quick ? 'a quick run never lengthens its window' : 'window.max'})`), lengthened: false };
  const second = await measure(config, point, repeat, quick, load, needed, options, onServe);
  return { ...second, invalid: invalidReasons(point, second.result, config.window.reconnections, judgedCpus(quick, second.budget)), lengthened: true };
}

/**
 * How long an overload step's proxy may take to stop and log its counters (proxyRunTotals): a
 * process-pool on 0.15 core took 2.4 s after an overload (a diagnostic run, 2026-12-05), past
 * the 1.5 s other measurements give.
 */
const OVERLOAD_STOP_GRACE_MS = 5000;

/**
 * One overload step (E6): `rate` REGISTERs/s for the overload's warm-up and window, on a fresh
 * proxy. It did not measure the proxy when its generator ran out of CPU or files; other load on
 * the proxy's CPUs is not judged there, as on a ladder's steps past the peak: an overload loads
 * the kernel in ways no process is charged for (drops).
 */
async function measureOverloadStep(config: ExperimentConfig, point: ExperimentPoint, repeat: number, quick: boolean, rate: number, arrivals: PeakSearch['arrivals'], options: ExperimentRunOptions, onMeasured: (measured: Measured) => void): Promise<OverloadMeasurement> {
  const plan = (config.workload as RegistrationWorkloadConfig).overload as NonNullable<RegistrationWorkloadConfig['overload']>;
  const measured = await measure(config, point, repeat, quick, { rate, pairs: point.clients ?? config.bench.pairs, arrivals }, quick ? config.quick.durationSeconds : plan.durationSeconds, options, () => undefined, quick ? undefined : plan.warmupSeconds, OVERLOAD_STOP_GRACE_MS);
  onMeasured(measured);
  return { result: measured.result, invalid: invalidReasons(point, measured.result, config.window.reconnections).filter((reason) => !isWindowReason(reason)), ...(measured.proxyTotals === undefined ? {} : { proxyTotals: measured.proxyTotals }) };
}

const optionalProbe = (ms: number | undefined): { speedProbeMs?: number } => (ms === undefined ? {} : { speedProbeMs: ms });

async function runPoint(config: ExperimentConfig, point: ExperimentPoint, repeat: number, quick: boolean, machine: MachineFacts, code: CodeVersion | undefined, options: ExperimentRunOptions, seed: EarlierPeak | undefined, peaks: PeakBook): Promise<ExperimentRecord> {
  const base = {
    schema: EXPERIMENT_RECORD_SCHEMA,
    experiment: config.id,
    pointKey: pointKey(point),
    point,
    repeat,
    quick,
    machine: { ...machine, date: new Date().toISOString() },
    ...(code === undefined ? {} : { code }),
    // Timed before the run, on the proxy's CPUs: how fast the machine was for this run (speed-probe.ts).
    ...optionalProbe(probeSpeed(config.budget?.proxyCpus)),
  } as const;
  let serveArgs: readonly string[] = [];
  let budget: AppliedBudget | undefined;
  const onServe = (args: readonly string[], applied: AppliedBudget): void => {
    serveArgs = args;
    budget = applied;
  };
  const durationSeconds = quick ? config.quick.durationSeconds : config.bench.durationSeconds;
  // A quick run never lengthens its window: it is a smoke run.
  const maxSeconds = quick ? durationSeconds : Math.max(durationSeconds, config.window.maxSeconds);
  const search = quick ? config.quick.peak : config.peak;
  try {
    const unable = capacityReason(config.workload, point);
    if (unable !== undefined) return { ...base, serveArgs, invalid: [unable] };
    const overloadPlan = config.workload?.kind === 'registration' ? config.workload.overload : undefined;
    const sourceKey = search === undefined ? undefined : capacitySourceKey(point, overloadPlan?.capacityOf);
    if (search !== undefined && overloadPlan !== undefined && sourceKey !== undefined) {
      // No ladder: the multiples of the capacity its source point found in this repeat.
      const rate = peaks.capacity(sourceKey, repeat);
      if (rate === undefined) return { ...base, serveArgs, invalid: [`capacity: ${sourceKey} has no valid peak in repeat ${repeat} (workload.overload.capacity-of), so there is nothing to overload`] };
      let first: Measured | undefined;
      const steps = await runOverloadSteps(overloadPlan.factors, rate, (offered) => measureOverloadStep(config, point, repeat, quick, offered, search.arrivals, options, (measured) => {
        first ??= measured;
        onServe(measured.serveArgs, measured.budget);
      }), options.signal);
      return {
        ...base,
        serveArgs,
        ...(budget === undefined ? {} : { budget }),
        capacity: { rate, of: sourceKey },
        ...(first === undefined ? {} : { result: first.result }),
        overload: steps,
        invalid: [],
      };
    }
    if (search !== undefined) {
      const pairs = point.clients ?? config.bench.pairs;
      const operationsPerCall = point.extra?.auth !== undefined && point.extra.auth !== 'off' ? 3 : 2;
      const outcome = await searchPeak(
        search,
        async (rate) => {
          const needed = config.workload !== undefined ? 0 : Math.ceil(windowNeeded(point, rate, operationsPerCall, config.window.reconnections));
          if (needed > maxSeconds) return { kind: 'skipped', reason: `window: at ${rate} calls/s the connection lifetimes need ${needed} s for ${config.window.reconnections} reconnections per side, above the ${maxSeconds} s limit (${quick ? 'a quick run never lengthens its window' : 'window.max'})` };
          const load = { rate, pairs, arrivals: search.arrivals };
          let duration = Math.max(durationSeconds, needed);
          let measured = await measure(config, point, repeat, quick, load, duration, options, onServe);
          let reasons = invalidReasons(point, measured.result, config.window.reconnections);
          // A step that failed failed, however many reconnections its window held; a step that
          // passed must have contained its workload: lengthen it once, or it measured nothing.
          if (stepPasses(search, rate, measured.result) && reasons.length > 0 && reasons.every(isWindowReason)) {
            const longer = Math.max(...windowChecks(point, measured.result, config.window.reconnections).filter((check) => !check.contains).map((check) => check.neededSeconds));
            if (longer > duration && longer <= maxSeconds) {
              duration = longer;
              measured = await measure(config, point, repeat, quick, load, duration, options, onServe);
              reasons = invalidReasons(point, measured.result, config.window.reconnections);
            }
            if (stepPasses(search, rate, measured.result) && reasons.length > 0 && reasons.every(isWindowReason)) return { kind: 'skipped', reason: `${reasons.join('; ')}; above the ${maxSeconds} s limit` };
          }
          return { kind: 'run', result: measured.result, invalid: reasons.filter((reason) => !isWindowReason(reason)) };
        },
        { ...(options.signal === undefined ? {} : { signal: options.signal }), ...(search.seed && seed !== undefined ? { start: seed.rate, ...(seed.above === undefined ? {} : { above: seed.above }) } : {}), onStep: (step) => options.onEvent?.({ kind: 'step', key: base.pointKey, repeat, step }) },
      );
      // Multiples of an unknown capacity mean nothing: only a bracketed peak is overloaded (a smoke run exercises the steps anyway).
      const overload = overloadPlan === undefined || outcome.peakRate === undefined || (!quick && outcome.invalid.length > 0) || options.signal?.aborted
        ? undefined
        : await runOverloadSteps(overloadPlan.factors, outcome.peakRate, (rate) => measureOverloadStep(config, point, repeat, quick, rate, search.arrivals, options, () => undefined), options.signal);
      const peakWindow = outcome.result === undefined ? undefined : { durationSeconds: outcome.result.settings.durationSeconds, lengthened: outcome.result.settings.durationSeconds > durationSeconds, checks: windowChecks(point, outcome.result, config.window.reconnections) };
      return {
        ...base,
        serveArgs,
        ...(budget === undefined ? {} : { budget }),
        peak: { search, ...(outcome.peakRate === undefined ? {} : { rate: outcome.peakRate }), steps: outcome.steps },
        ...(peakWindow === undefined ? {} : { window: peakWindow }),
        ...(outcome.result === undefined ? {} : { result: outcome.result }),
        ...(overload === undefined ? {} : { overload }),
        invalid: peakInvalidReasons(outcome, judgedCpus(quick, budget)),
      };
    }
    const load = point.clients === undefined ? { rate: point.rate ?? 0, pairs: config.bench.pairs, arrivals: config.bench.arrivals } : { clients: point.clients };
    const measured = await measureContained(config, point, repeat, quick, load, durationSeconds, maxSeconds, options, onServe);
    return {
      ...base,
      serveArgs,
      budget: measured.budget,
      window: { durationSeconds: measured.result.settings.durationSeconds, lengthened: measured.lengthened, checks: windowChecks(point, measured.result, config.window.reconnections) },
      result: measured.result,
      invalid: measured.invalid,
    };
  } catch (error) {
    const { code, message } = error as Error & { code?: string };
    return { ...base, serveArgs, ...(budget === undefined ? {} : { budget }), error: { code: code ?? 'ERR_SWITCHBOARD_EXPERIMENT_RUN', message } };
  }
}
