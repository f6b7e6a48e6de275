/**
 * One bench run: forks the generator processes, has every phone register (not measured), runs
 * the load through a warm-up and then the measured window, and gathers a BenchResult: counts and
 * latency histograms of every process merged, each generator process's CPU (and whether one was
 * the bottleneck), and, when told where the proxy is, its processes' CPU and memory and its own
 * counters over the window.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { machineFacts } from '@switchboard/sip/machine-facts';
import { ARRIVALS } from './arrivals.js';
import { BENCH_RESULT_SCHEMA, type Arrivals, type BenchResult, type BenchSettings, type BenchTransport, type ConnectionLifetime, type PhoneConnections, type ProcessUsage } from './bench-result.js';
import { BenchError } from './bench-error.js';
import type { FromLoadProcess, LoadProgress, ToLoadProcess, WindowChurn } from './load-process.js';
import { mergeSnapshots, windowCallsLimitMs, type LoadSnapshot } from './load-stats.js';
import { operationsPerConnection, type BenchTlsOptions } from './phone-links.js';
import { cpuBusyBetween, readCpuTimes } from './cpu-busy.js';
import { cpuCount, descendants, ProcessSampler } from './process-usage.js';
import { countersOfWindow, scrapeCountersOrReason, timedScrape } from './proxy-counters.js';
import { readUdpCounters, udpDropsBetween } from './udp-drops.js';

export interface BenchOptions {
  /** The proxy under test, HOST:PORT. */
  readonly proxy: string;
  readonly domain?: string;
  readonly transport: BenchTransport;
  readonly clients?: number;
  readonly rate?: number;
  readonly arrivals?: Arrivals;
  /** Phone pairs in open loop (default: rate, at least 10). */
  readonly pairs?: number;
  readonly callerConnection?: ConnectionLifetime;
  /** Default: the caller's lifetime. */
  readonly calleeConnection?: ConnectionLifetime;
  readonly durationSeconds: number;
  readonly calls?: number;
  readonly warmupSeconds?: number;
  readonly holdMs?: number;
  readonly timeoutMs?: number;
  readonly procs?: number;
  /** Spread phones over this many loopback addresses (127.0.0.1–127.0.0.N); default 50 for loopback proxies. */
  readonly localHosts?: number;
  readonly tls?: Partial<BenchTlsOptions>;
  /** Digest authentication: the password of every phone (callerN, calleeN); challenges are answered once. */
  readonly authPassword?: string;
  /** RFC 5626 CRLF keep-alives on the phones' connections after this many idle seconds (default: none). */
  readonly keepaliveSeconds?: number;
  readonly seed?: number;
  /** The proxy's pid: its CPU and memory (and its descendants') go into the result. */
  readonly proxyPid?: number;
  /** The proxy's Prometheus URL: its counters' differences over the window go into the result. */
  readonly proxyMetricsUrl?: string;
  /** A generator process above this CPU percent marks the result as generator-bound (default 90). */
  readonly generatorCpuLimitPercent?: number;
  /** Run generator processes under `taskset -c CPUS`. */
  readonly generatorCpus?: string;
  /** Other processes whose CPU and memory go into the result over the window (the proxy's Redis). */
  readonly observe?: ReadonlyArray<{ readonly pid: number; readonly role: string }>;
  readonly onProgress?: (progress: BenchProgress) => void;
}

export interface BenchProgress {
  readonly phase: 'register' | 'warmup' | 'window' | 'drain';
  readonly elapsedSeconds: number;
  readonly totalSeconds: number;
  readonly callsCompleted: number;
  readonly callsFailed: number;
  readonly running: number;
}

const LOAD_PROCESS = fileURLToPath(new URL('./load-process.js', import.meta.url));

function positive(value: number | undefined, flag: string, integer = true): void {
  if (value === undefined) return;
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) throw new BenchError('ERR_SWITCHBOARD_BENCH_OPTION', `${flag}: must be a positive ${integer ? 'integer' : 'number'}, not ${value}`);
}

/** Checks options the way the CLI's users typed them; every error names its flag. */
export function benchSettings(options: BenchOptions): BenchSettings {
  const match = /^(.+):(\d+)$/.exec(options.proxy);
  if (match === null || Number(match[2]) < 1 || Number(match[2]) > 65535) throw new BenchError('ERR_SWITCHBOARD_BENCH_OPTION', `--proxy: expected HOST:PORT, not ${options.proxy}`);
  if (!['udp', 'tcp', 'tls'].includes(options.transport)) throw new BenchError('ERR_SWITCHBOARD_BENCH_OPTION', `--transport: must be udp, tcp or tls, not ${options.transport}`);
  if ((options.clients === undefined) === (options.rate === undefined)) throw new BenchError('ERR_SWITCHBOARD_BENCH_OPTION', '--clients / --rate: give exactly one (closed loop: --clients N; open loop: --rate CALLS_PER_SECOND)');
  positive(options.clients, '--clients');
  positive(options.rate, '--rate', false);
  positive(options.pairs, '--pairs');
  positive(options.durationSeconds, '--duration', false);
  positive(options.calls, '--calls');
  positive(options.procs, '--procs');
  positive(options.timeoutMs, '--timeout', false);
  positive(options.localHosts, '--local-hosts');
  positive(options.keepaliveSeconds, '--keepalive', false);
  if (options.keepaliveSeconds !== undefined && options.transport === 'udp') throw new BenchError('ERR_SWITCHBOARD_BENCH_OPTION', '--keepalive: CRLF keep-alives are for TCP and TLS connections, not --transport udp');
  if (options.localHosts !== undefined && options.localHosts > 254) throw new BenchError('ERR_SWITCHBOARD_BENCH_OPTION', `--local-hosts: at most 254, not ${options.localHosts}`);
  if (options.warmupSeconds !== undefined && !(options.warmupSeconds >= 0)) throw new BenchError('ERR_SWITCHBOARD_BENCH_OPTION', `--warmup: must be 0 or more seconds, not ${options.warmupSeconds}`);
  if (options.holdMs !== undefined && !(options.holdMs >= 0)) throw new BenchError('ERR_SWITCHBOARD_BENCH_OPTION', `--hold: must be 0 or more milliseconds, not ${options.holdMs}`);
  const arrivals = options.arrivals ?? 'exponential';
  if (!ARRIVALS.includes(arrivals)) throw new BenchError('ERR_SWITCHBOARD_BENCH_OPTION', `--arrivals: must be one of ${ARRIVALS.join(', ')}, not ${arrivals}`);
  const callerConnection = options.callerConnection ?? 'persistent';
  const calleeConnection = options.calleeConnection ?? callerConnection;
  for (const [flag, lifetime] of [['--conn', callerConnection], ['--callee-conn', calleeConnection]] as const) {
    try {
      operationsPerConnection(lifetime);
    } catch (error) {
      throw new BenchError('ERR_SWITCHBOARD_BENCH_OPTION', `${flag}: ${(error as Error).message}`);
    }
  }
  if (options.transport === 'udp' && (callerConnection !== 'persistent' || calleeConnection !== 'persistent')) {
    throw new BenchError('ERR_SWITCHBOARD_BENCH_OPTION', '--conn: UDP has no connections; connection lifetimes apply to --transport tcp and tls');
  }
  const pairs = options.clients ?? options.pairs ?? Math.max(10, Math.ceil(options.rate ?? 0));
  const procs = Math.min(options.procs ?? 1, pairs);
  return {
    proxy: options.proxy,
    domain: options.domain ?? 'example.com',
    transport: options.transport,
    ...(options.clients === undefined ? {} : { clients: options.clients }),
    ...(options.rate === undefined ? {} : { rate: options.rate, arrivals }),
    pairs,
    callerConnection,
    calleeConnection,
    durationSeconds: options.durationSeconds,
    ...(options.calls === undefined ? {} : { calls: options.calls }),
    warmupSeconds: options.warmupSeconds ?? 0,
    holdMs: options.holdMs ?? 0,
    timeoutMs: options.timeoutMs ?? 5000,
    procs,
    ...(options.transport === 'tls' ? { tlsResume: options.tls?.resume ?? false, tlsClientCert: options.tls?.clientCertificate ?? false } : {}),
    ...(options.authPassword === undefined ? {} : { auth: true }),
    ...(options.keepaliveSeconds === undefined ? {} : { keepaliveSeconds: options.keepaliveSeconds }),
  };
}

class LoadProcess {
  readonly child: ChildProcess;
  readonly #waiters = new Map<string, { resolve: (message: FromLoadProcess) => void; reject: (error: Error) => void }>();
  progress: LoadProgress = { callsCompleted: 0, callsFailed: 0, running: 0 };
  #failure: Error | undefined;

  constructor(cpus: string | undefined) {
    const command = cpus === undefined ? process.execPath : 'taskset';
    const args = cpus === undefined ? [LOAD_PROCESS] : ['-c', cpus, process.execPath, LOAD_PROCESS];
    this.child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (message: FromLoadProcess) => {
      if (message.type === 'progress') {
        this.progress = message.progress;
        return;
      }
      if (message.type === 'error') {
        this.#fail(new BenchError('ERR_SWITCHBOARD_BENCH_PROCESS', `generator process ${this.child.pid}: ${message.message}`));
        return;
      }
      const waiter = this.#waiters.get(message.type);
      this.#waiters.delete(message.type);
      waiter?.resolve(message);
    });
    this.child.on('error', (error) => this.#fail(new BenchError('ERR_SWITCHBOARD_BENCH_PROCESS', `generator process could not start: ${error.message}`)));
    this.child.on('exit', (code, signal) => this.#fail(new BenchError('ERR_SWITCHBOARD_BENCH_PROCESS', `generator process ${this.child.pid} exited (${signal ?? code})`)));
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const waiter of this.#waiters.values()) waiter.reject(error);
    this.#waiters.clear();
  }

  post(message: ToLoadProcess): void {
    if (this.child.connected) this.child.send(message);
  }

  /** Waits for the next message of `type`. */
  expect<T extends FromLoadProcess['type']>(type: T, timeoutMs: number): Promise<Extract<FromLoadProcess, { type: T }>> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(type);
        reject(new BenchError('ERR_SWITCHBOARD_BENCH_PROCESS', `generator process ${this.child.pid} did not answer ${type} within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.#waiters.set(type, {
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message as Extract<FromLoadProcess, { type: T }>);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  }

  async end(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const settings = benchSettings(options);
  const [, host = '', port = '0'] = /^(.+):(\d+)$/.exec(settings.proxy) ?? [];
  const proxyHost = host.replace(/^\[|\]$/g, '');
  const localHosts = options.localHosts ?? (proxyHost.startsWith('127.') ? 50 : 1);
  const startedAt = new Date().toISOString();
  const cpuLimit = options.generatorCpuLimitPercent ?? 90;
  const processes = Array.from({ length: settings.procs }, () => new LoadProcess(options.generatorCpus));
  const report = (phase: BenchProgress['phase'], elapsedSeconds: number, totalSeconds: number): void => {
    if (options.onProgress === undefined) return;
    const sum = (pick: (progress: LoadProgress) => number): number => processes.reduce((total, load) => total + pick(load.progress), 0);
    options.onProgress({ phase, elapsedSeconds, totalSeconds, callsCompleted: sum((p) => p.callsCompleted), callsFailed: sum((p) => p.callsFailed), running: sum((p) => p.running) });
  };
  try {
    // Registration: every phone once, before any load.
    report('register', 0, 0);
    const registrationTimeoutMs = 60_000 + settings.pairs * 20;
    let firstPair = 0;
    const registered = processes.map((load, index) => {
      const pairs = Math.floor(settings.pairs / settings.procs) + (index < settings.pairs % settings.procs ? 1 : 0);
      const fleetFirst = firstPair;
      firstPair += pairs;
      const answer = load.expect('registered', registrationTimeoutMs);
      load.post({
        type: 'init',
        fleet: {
          proxy: { host: proxyHost, port: Number(port) },
          domain: settings.domain,
          transport: settings.transport,
          firstPair: fleetFirst,
          pairs,
          callerConnection: settings.callerConnection,
          calleeConnection: settings.calleeConnection,
          holdMs: settings.holdMs,
          timeoutMs: settings.timeoutMs,
          localHosts,
          seed: (options.seed ?? 1) * 1000 + index,
          ...(options.authPassword === undefined ? {} : { authPassword: options.authPassword }),
          ...(settings.keepaliveSeconds === undefined ? {} : { keepaliveMs: settings.keepaliveSeconds * 1000 }),
          ...(settings.transport === 'tls' ? { tls: { ...options.tls, resume: options.tls?.resume ?? false, clientCertificate: options.tls?.clientCertificate ?? false } } : {}),
        },
        mode: settings.rate === undefined ? { kind: 'closed' } : { kind: 'open', rate: settings.rate / settings.procs, arrivals: settings.arrivals ?? 'exponential', seed: (options.seed ?? 1) + index },
      });
      return answer;
    });
    const answers = await Promise.all(registered);
    const failure = answers.find((answer) => answer.failure !== undefined)?.failure;
    const registrations = answers.reduce((sum, answer) => ({ attempted: sum.attempted + answer.attempted, completed: sum.completed + answer.completed, failed: sum.failed + answer.failed }), { attempted: 0, completed: 0, failed: 0 });
    if (registrations.completed === 0) {
      if (failure !== undefined && /^status:(401|403|407)$/.test(failure)) {
        throw new BenchError('ERR_SWITCHBOARD_BENCH_OPTION', `--auth-password: no phone could register with ${settings.proxy}: the proxy answered ${failure.slice('status:'.length)}; ${options.authPassword === undefined ? 'it asks for credentials, give --auth-password' : 'is the password right for users callerN and calleeN in its users file?'}`);
      }
      throw new BenchError('ERR_SWITCHBOARD_BENCH_PROXY_UNREACHABLE', `--proxy: no phone could register with ${settings.proxy} over ${settings.transport} (${registrations.failed} failed${failure === undefined ? '' : `, last: ${failure}`}); is the proxy running there, serving --domain ${settings.domain}?`);
    }

    // Warm-up, then the window.
    for (const load of processes) load.post({ type: 'start' });
    const warmupStart = performance.now();
    while (performance.now() - warmupStart < settings.warmupSeconds * 1000) {
      report('warmup', (performance.now() - warmupStart) / 1000, settings.warmupSeconds);
      await sleep(Math.min(250, settings.warmupSeconds * 1000));
    }
    const proxyProcesses = options.proxyPid === undefined ? [] : [{ pid: options.proxyPid, role: 'main' }, ...(await descendants(options.proxyPid)).map((pid) => ({ pid, role: 'worker' }))];
    const proxySampler = new ProcessSampler(proxyProcesses);
    const observedSampler = new ProcessSampler(options.observe ?? []);
    await observedSampler.start();
    const countersAsked = performance.now();
    const countersBefore = await scrapeCountersOrReason(options.proxyMetricsUrl);
    // The window is timed from the moment the phones start counting: taken after the samplers
    // start (pidusage's first call runs getconf, hundreds of ms on a loaded machine), it came out
    // short and every rate 2-10% above the offered one.
    for (const load of processes) load.post({ type: 'window' });
    const windowStart = performance.now();
    const [cpuTimesBefore, udpBefore] = await Promise.all([readCpuTimes(), readUdpCounters()]);
    await proxySampler.start();
    const ended = (): boolean => {
      const elapsed = performance.now() - windowStart;
      if (elapsed >= settings.durationSeconds * 1000) return true;
      if (settings.calls === undefined) return false;
      return processes.reduce((sum, load) => sum + load.progress.callsCompleted + load.progress.callsFailed, 0) >= settings.calls;
    };
    while (!ended()) {
      report('window', (performance.now() - windowStart) / 1000, settings.durationSeconds);
      await sleep(Math.max(1, Math.min(250, settings.durationSeconds * 1000 - (performance.now() - windowStart))));
    }
    // Each process answers once the calls it started in the window have ended.
    const results = processes.map((load) => load.expect('window-result', windowCallsLimitMs(settings) + 10_000));
    for (const load of processes) load.post({ type: 'end-window' });
    const windowEnd = performance.now();
    // Rounded once, so every rate in the result divides by the window it reports.
    const windowSeconds = Math.round(windowEnd - windowStart) / 1000;
    // The proxy's side (CPU, counters) is the window's interval; the phones' answers wait for the
    // calls started in it to end, while later calls (not counted) keep the load on. The counters
    // are asked for at once, beside the samplers' stops: asked after them, they took in calls set
    // up after the window.
    const countersAfterPending = timedScrape(options.proxyMetricsUrl);
    const [proxyUsage, observedUsage, cpuTimesAfter, udpAfter] = await Promise.all([proxySampler.stop(), observedSampler.stop(), readCpuTimes(), readUdpCounters()]);
    const udpDrops = udpDropsBetween(udpBefore, udpAfter);
    const { counters: countersAfter, answered: countersAnswered } = await countersAfterPending;
    report('drain', 0, 0);
    const generatorResults = await Promise.all(results);

    // Let calls in progress end, then stop the processes.
    report('drain', 0, 0);
    const drainMs = Math.min(10_000, settings.timeoutMs + settings.holdMs);
    const stopped = processes.map((load) => load.expect('stopped', drainMs + 5000).catch(() => undefined));
    for (const load of processes) load.post({ type: 'stop', drainMs });
    await Promise.all(stopped);

    const snapshots: LoadSnapshot[] = generatorResults.map((answer) => answer.snapshot);
    const { totals, latencyMs } = mergeSnapshots(snapshots);
    const generatorProcesses: ProcessUsage[] = generatorResults.map((answer, index) => ({
      pid: processes[index]?.child.pid ?? 0,
      role: 'generator',
      cpuPercent: answer.cpuPercent,
      cpuPercentMax: answer.cpuPercent,
      rssBytesMax: answer.rssBytesMax,
    }));
    const failures = { ...totals.failures };
    const unmatched = generatorResults.reduce((sum, answer) => sum + answer.unmatched, 0);
    const unparsable = generatorResults.reduce((sum, answer) => sum + answer.unparsable, 0);
    if (unparsable > 0) failures.unparsable = unparsable;
    if (unmatched > 0) failures['unmatched-response'] = unmatched;
    const churn = generatorResults.map((answer) => answer.window);
    const churnSum = (pick: (window: WindowChurn) => number): number => churn.reduce((sum, window) => sum + pick(window), 0);
    const phoneConnections: PhoneConnections = {
      opened: churnSum((window) => window.connectionsOpened),
      registrations: churnSum((window) => window.registrations),
      ...(settings.keepaliveSeconds === undefined
        ? {}
        : { keepalive: { pingsSent: churnSum((window) => window.keepAlive.pingsSent), pongsReceived: churnSum((window) => window.keepAlive.pongsReceived), pongsMissing: churnSum((window) => window.keepAlive.pongsMissing) } }),
    };
    const ended_ = totals.callsCompleted + totals.callsFailed;
    const operations = totals.inviteOperations + totals.byeOperations;
    const machine = machineFacts();
    const generatorTotal = Math.round(generatorProcesses.reduce((sum, usage) => sum + usage.cpuPercent, 0) * 10) / 10;
    const budgetCores = cpuCount(options.generatorCpus ?? machine.cpusAllowed) ?? machine.cores;
    return {
      schema: BENCH_RESULT_SCHEMA,
      startedAt,
      settings,
      machine: { ...machine, cpusAllowed: options.generatorCpus ?? machine.cpusAllowed },
      windowSeconds,
      operations: { invite: totals.inviteOperations, bye: totals.byeOperations, total: operations, perSecond: Math.round((operations / windowSeconds) * 10) / 10 },
      calls: {
        attempted: totals.callsAttempted,
        completed: totals.callsCompleted,
        failed: totals.callsFailed,
        perSecond: Math.round((totals.callsCompleted / windowSeconds) * 10) / 10,
        successRatio: ended_ === 0 ? 1 : Math.round((totals.callsCompleted / ended_) * 100000) / 100000,
      },
      registrations,
      failures,
      latencyMs,
      generator: {
        processes: generatorProcesses,
        saturated: generatorProcesses.some((usage) => usage.cpuPercent > cpuLimit) || generatorTotal > budgetCores * cpuLimit,
        thresholdPercent: cpuLimit,
        cpuPercentTotal: generatorTotal,
        budgetCores,
      },
      ...(proxyUsage.length === 0 ? {} : { proxy: { processes: proxyUsage, cpuPercentTotal: Math.round(proxyUsage.reduce((sum, usage) => sum + usage.cpuPercent, 0) * 10) / 10 } }),
      ...(settings.transport === 'udp' ? {} : { phoneConnections }),
      ...countersOfWindow(countersBefore, countersAfter),
      ...(options.proxyMetricsUrl === undefined ? {} : { proxyCountersOverhangMs: { beforeWindow: Math.round(windowStart - countersAsked), afterWindow: Math.round(countersAnswered - windowEnd) } }),
      ...(observedUsage.length === 0 ? {} : { observed: observedUsage }),
      ...(cpuTimesBefore === undefined || cpuTimesAfter === undefined ? {} : { cpus: cpuBusyBetween(cpuTimesBefore, cpuTimesAfter) }),
      ...(udpDrops === undefined ? {} : { udpDrops }),
    };
  } finally {
    for (const load of processes) if (load.child.connected) load.child.disconnect();
    await Promise.all(processes.map((load) => load.end()));
  }
}
