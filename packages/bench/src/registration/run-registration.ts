/**
 * A registration run (`switchboard bench --workload scale|registration`): REGISTERing clients
 * spread over loopback source addresses and generator processes (source-addresses.ts).
 *
 * - `scale` (E5, study 004 §4): opens `clients` persistent TCP or TLS connections at a bounded
 *   rate, REGISTERs on each and holds them (refreshing before expiry when the hold is long);
 *   measures the proxy's memory (RSS and PSS of every proxy process) and the kernel's (sockstat,
 *   slab) before and after, the open phase's and close phase's rate and proxy CPU, and, while
 *   they are held, a probe of REGISTERs over the held connections at each of `probeRates`.
 * - `registration` (E6, study 004 §5): an open-loop load of `rate` REGISTERs/s over `clients`
 *   clients in one of the four modes of registering-clients.ts.
 *
 * Either way `result.calls` counts the window's REGISTERs, `result.latencyMs.register` their
 * response times, and `result.registration` holds the rest (registration-result.ts).
 */
import { machineFacts } from '@switchboard/sip/machine-facts';
import { BENCH_RESULT_SCHEMA, type BenchResult, type BenchTransport, type ProcessUsage } from '../bench-result.js';
import { BenchError } from '../bench-error.js';
import type { BenchTlsOptions } from '../phone-links.js';
import { cpuBusyBetween, readCpuTimes, type CpuBusy } from '../cpu-busy.js';
import { cpuCount, descendants, ProcessSampler } from '../process-usage.js';
import { addedWindows, countersOfWindow, lateCountersReason, timedScrape } from '../proxy-counters.js';
import { addDrops, readUdpCounters, udpDropsBetween, type UdpCounters } from '../udp-drops.js';
import { summarizeLatencies } from './latency-summary.js';
import { memorySnapshot, slabGrowth, type MemorySnapshot } from './memory-readers.js';
import type { LoadCounts } from './register-load.js';
import type { RegistrationMode, RetryAfterBehaviour } from './registering-clients.js';
import type { MemoryPerConnection, PhaseCost, ProbeResult, RegistrationFigures, RegistrationWorkload } from './registration-result.js';
import { RegistrationProcess } from './registration-processes.js';
import { generatorSourcePorts, localPortsPerAddress, processShareOfPorts, spreadConnections } from './source-addresses.js';

export interface RegistrationRunOptions {
  /** The proxy, HOST:PORT. */
  readonly proxy: string;
  readonly domain?: string;
  readonly transport: BenchTransport;
  readonly tls?: BenchTlsOptions;
  readonly workload: RegistrationWorkload;
  /** Connections to hold (scale) or clients sharing the load (registration). */
  readonly clients: number;
  /** registration: how each REGISTER travels (default persistent; udp over UDP). */
  readonly mode?: RegistrationMode;
  /** registration: offered REGISTERs per second. */
  readonly rate?: number;
  /** The registration window, or each probe's window, seconds. */
  readonly durationSeconds: number;
  readonly warmupSeconds?: number;
  /** scale: offered REGISTERs/s of each probe, in order (default study 004's 83). */
  readonly probeRates?: readonly number[];
  /** scale: connections opened (and closed) per second at most, all processes together. */
  readonly openRate?: number;
  readonly closeRate?: number;
  /** scale: connections being opened at once, per process. */
  readonly openConcurrency?: number;
  readonly expiresSeconds?: number;
  /** registration: what phones do with a failure's Retry-After (default ignore; registering-clients.ts). */
  readonly retryAfter?: RetryAfterBehaviour;
  /** A REGISTER with no final response after this long fails as `timeout` (RFC 3261 Timer F: 32 s). */
  readonly timeoutMs?: number;
  /** At least this many generator processes (more when the file limit needs them). */
  readonly procs?: number;
  /** Open files per generator process (default: this process's RLIMIT_NOFILE as Node sees it, 20,000 on the lab machines). */
  readonly fileLimit?: number;
  readonly minAddresses?: number;
  /** The first client's number (users are reg<N>), so runs against one proxy can use apart AORs. */
  readonly firstClient?: number;
  readonly proxyPid?: number;
  readonly proxyMetricsUrl?: string;
  readonly generatorCpus?: string;
  readonly generatorCpuLimitPercent?: number;
  readonly observe?: ReadonlyArray<{ pid: number; role: string }>;
}

const PAGE_BYTES = 4096;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const round = (value: number, digits = 1): number => Math.round(value * 10 ** digits) / 10 ** digits;

function mergeCounts(all: readonly LoadCounts[]): { attempted: number; completed: number; failures: Record<string, number>; latencies: number[] } {
  const failures: Record<string, number> = {};
  const latencies: number[] = [];
  let attempted = 0;
  let completed = 0;
  for (const counts of all) {
    attempted += counts.attempted;
    completed += counts.completed;
    for (const [kind, count] of Object.entries(counts.failures)) failures[kind] = (failures[kind] ?? 0) + count;
    for (const ms of counts.latenciesMs) latencies.push(ms);
  }
  return { attempted, completed, failures, latencies };
}

function cpuSeconds(usage: readonly ProcessUsage[], seconds: number): number {
  return (usage.reduce((sum, process) => sum + process.cpuPercent, 0) / 100) * seconds;
}

/** `seconds`: the phase as the generator saw it; `sampledSeconds`: the span the proxy's CPU was sampled over (it may add a settle). */
function phaseCost(connections: number, seconds: number, usage: readonly ProcessUsage[] | undefined, sampledSeconds = seconds): PhaseCost {
  const cpu = usage === undefined || usage.length === 0 ? undefined : cpuSeconds(usage, sampledSeconds);
  return {
    connections,
    seconds: round(seconds, 3),
    perSecond: seconds > 0 ? round(connections / seconds) : 0,
    ...(cpu === undefined ? {} : { proxyCpuSeconds: round(cpu, 3), ...(connections > 0 ? { proxyCpuMicrosPerConnection: round((cpu * 1e6) / connections) } : {}) }),
  };
}

function perConnection(before: MemorySnapshot, held: MemorySnapshot, connections: number): MemoryPerConnection {
  const sockets = connections * 2;
  if (connections <= 0) return { socketsCounted: 0 };
  const rss = before.proxy !== undefined && held.proxy !== undefined ? (held.proxy.rssBytes - before.proxy.rssBytes) / connections : undefined;
  const pss = before.proxy !== undefined && held.proxy !== undefined ? (held.proxy.pssBytes - before.proxy.pssBytes) / connections : undefined;
  const tcp = before.sockstat !== undefined && held.sockstat !== undefined ? ((held.sockstat.tcpMemPages - before.sockstat.tcpMemPages) * PAGE_BYTES) / sockets : undefined;
  const slabBytes = slabGrowth(before, held);
  const slab = slabBytes === undefined ? undefined : slabBytes / sockets;
  return {
    ...(rss === undefined ? {} : { proxyRssBytes: Math.round(rss) }),
    ...(pss === undefined ? {} : { proxyPssBytes: Math.round(pss) }),
    ...(tcp === undefined ? {} : { tcpBufferBytesPerSocket: Math.round(tcp) }),
    ...(slab === undefined ? {} : { slabBytesPerSocket: Math.round(slab) }),
    ...(tcp === undefined && slab === undefined ? {} : { kernelBytesPerSocket: Math.round((tcp ?? 0) + (slab ?? 0)) }),
    socketsCounted: sockets,
  };
}

async function proxyPids(pid: number | undefined): Promise<number[]> {
  return pid === undefined ? [] : [pid, ...(await descendants(pid))];
}

export async function runRegistration(options: RegistrationRunOptions): Promise<BenchResult> {
  const [, host = '', port = '0'] = /^(.+):(\d+)$/.exec(options.proxy) ?? [];
  if (host === '' || !(Number(port) > 0)) throw new BenchError('ERR_SWITCHBOARD_BENCH_OPTION', `--proxy: expected HOST:PORT, not ${options.proxy}`);
  if (!(options.clients >= 1)) throw new BenchError('ERR_SWITCHBOARD_BENCH_OPTION', `--clients: expected a positive number, not ${options.clients}`);
  const transport = options.transport;
  const mode: RegistrationMode = transport === 'udp' ? 'udp' : options.mode === undefined || options.mode === 'udp' ? 'persistent' : options.mode;
  if (options.workload === 'scale' && transport === 'udp') throw new BenchError('ERR_SWITCHBOARD_BENCH_OPTION', '--workload scale holds connections: use --transport tcp or tls');
  if (options.workload === 'registration' && !(options.rate !== undefined && options.rate > 0)) throw new BenchError('ERR_SWITCHBOARD_BENCH_OPTION', '--rate: the registration workload needs an offered REGISTER rate');
  const warmupSeconds = options.warmupSeconds ?? 0;
  const timeoutMs = options.timeoutMs ?? 32_000;
  const expiresSeconds = options.expiresSeconds ?? 3600;
  const retryAfter = options.retryAfter ?? 'ignore';
  const fileLimit = options.fileLimit ?? 20_000;
  // TCP and TLS connections bind explicit ports below the ephemeral range (source-addresses.ts):
  // held ones by client index, connections per REGISTER from each process's share in turn (closed
  // ones sit in TIME_WAIT, so their addresses are counted at 85% of the block).
  const sourcePorts = transport === 'udp' ? undefined : generatorSourcePorts();
  const portsPerAddress = sourcePorts?.count ?? localPortsPerAddress();
  const socketsOverRun = mode === 'per-transaction' ? Math.ceil((options.rate ?? 0) * (warmupSeconds + options.durationSeconds + 60)) : options.clients;
  const spread = spreadConnections(options.clients, { fileLimit, portsPerAddress, ...(sourcePorts !== undefined && mode !== 'per-transaction' ? { portShare: 1 } : {}), socketsOverRun, minAddresses: options.minAddresses ?? 1, minProcesses: Math.min(options.procs ?? 1, options.clients) });
  const processes = spread.perProcess.length;
  const portsNote = sourcePorts === undefined ? `${portsPerAddress} local ports each` : `source ports ${sourcePorts.first}–${sourcePorts.first + sourcePorts.count - 1} bound explicitly`;
  const spreadNote = `${options.clients} clients over ${processes} generator process${processes === 1 ? '' : 'es'} (at most ${fileLimit - 256} files each) and ${spread.addresses.length} source address${spread.addresses.length === 1 ? '' : 'es'} (${portsNote}${mode === 'per-transaction' ? `, ${socketsOverRun} connections opened over the run` : ''})`;
  const startedAt = new Date().toISOString();
  const machine = machineFacts();
  const generators = spread.perProcess.map(() => new RegistrationProcess(options.generatorCpus));
  const proxyAddress = { host: host.replace(/^\[|\]$/g, ''), port: Number(port) };
  const slowMs = 120_000 + options.clients * 10;
  const settings = {
    proxy: options.proxy,
    domain: options.domain ?? 'example.com',
    transport,
    ...(options.workload === 'registration' ? { rate: options.rate as number, arrivals: 'deterministic' as const } : {}),
    clients: options.clients,
    pairs: options.clients,
    callerConnection: mode === 'per-transaction' ? ('per-transaction' as const) : ('persistent' as const),
    calleeConnection: 'persistent' as const,
    durationSeconds: options.durationSeconds,
    warmupSeconds,
    holdMs: 0,
    timeoutMs,
    procs: processes,
  };
  try {
    let first = options.firstClient ?? 0;
    await Promise.all(
      generators.map((generator, index) => {
        const count = spread.perProcess[index] as number;
        const firstIndex = first;
        first += count;
        return generator.ask({ type: 'init', clients: { proxy: proxyAddress, domain: settings.domain, transport, ...(options.tls === undefined ? {} : { tls: options.tls }), firstIndex, count, addresses: spread.addresses, ...(sourcePorts === undefined ? {} : { sourcePorts, churnPorts: processShareOfPorts(sourcePorts, index, processes) }), expiresSeconds, timeoutMs, retryAfter } }, 'ready', 30_000);
      }),
    );
    const share = (index: number): number => (spread.perProcess[index] as number) / options.clients;
    const pids = await proxyPids(options.proxyPid);
    const roles = pids.map((pid, index) => ({ pid, role: index === 0 ? 'main' : 'worker' }));
    const openRate = options.openRate ?? 2000;
    const concurrency = options.openConcurrency ?? 64;
    const figures: { -readonly [K in keyof RegistrationFigures]?: RegistrationFigures[K] } = { workload: options.workload, mode, clients: options.clients, generatorProcesses: processes, sourceAddresses: spread.addresses.length, spreadNote, expiresSeconds, timeoutMs, ...(options.workload === 'registration' ? { retryAfter } : {}) };

    // Persistent connections (scale, or the registration test's `persistent` mode) open first.
    let memoryBefore: MemorySnapshot | undefined;
    if (options.workload === 'scale' || mode === 'persistent') {
      memoryBefore = await memorySnapshot(pids);
      const probeRates = options.probeRates ?? [83];
      const holdSeconds = options.workload === 'scale' ? probeRates.length * (warmupSeconds + options.durationSeconds) + 5 : warmupSeconds + options.durationSeconds;
      const refreshMs = holdSeconds > expiresSeconds * 0.5 ? expiresSeconds * 1000 * 0.5 : undefined;
      const sampler = new ProcessSampler(roles);
      await sampler.start(250);
      const openStart = performance.now();
      const opened = await Promise.all(generators.map((generator, index) => generator.ask({ type: 'open', rate: Math.max(1, openRate * share(index)), concurrency, ...(refreshMs === undefined ? {} : { refreshMs }) }, 'opened', slowMs)));
      const openSeconds = (performance.now() - openStart) / 1000;
      const usage = await sampler.stop();
      const registered = opened.reduce((sum, answer) => sum + answer.registered, 0);
      const openFailures: Record<string, number> = {};
      for (const answer of opened) for (const [kind, count] of Object.entries(answer.failures)) openFailures[kind] = (openFailures[kind] ?? 0) + count;
      if (registered === 0) throw new BenchError('ERR_SWITCHBOARD_BENCH_PROXY_UNREACHABLE', `--proxy: no client could register with ${options.proxy} over ${transport} (${JSON.stringify(openFailures)}); is the proxy running there, serving --domain ${settings.domain}?`);
      figures.open = phaseCost(registered, openSeconds, usage);
      figures.openFailures = openFailures;
      await sleep(1000);
      const counted = await Promise.all(generators.map((generator) => generator.ask({ type: 'count' }, 'counted', 30_000)));
      figures.held = counted.reduce((sum, answer) => sum + answer.held, 0);
      const memoryHeld = await memorySnapshot(await proxyPids(options.proxyPid));
      figures.memoryBefore = memoryBefore;
      figures.memoryHeld = memoryHeld;
      if (options.workload === 'scale') figures.perConnection = perConnection(memoryBefore, memoryHeld, figures.held);
    }

    // The measured load: each probe (scale) or the one window (registration).
    const loads = options.workload === 'scale' ? options.probeRates ?? [83] : [options.rate as number];
    const loadMode: RegistrationMode = options.workload === 'scale' ? 'persistent' : mode;
    const probes: ProbeResult[] = [];
    const windows: Array<ReturnType<typeof mergeCounts>> = [];
    const generatorUsage: ProcessUsage[] = [];
    let proxyUsage: ProcessUsage[] = [];
    let observedUsage: ProcessUsage[] = [];
    let cpus: CpuBusy | undefined;
    // Summed over the probe windows, as the counters are.
    let udpDrops: UdpCounters | undefined;
    // The proxy's counters, read around each measured window (not its warm-up) and added up.
    const counterWindows: Array<ReturnType<typeof countersOfWindow>> = [];
    const overhangMs = { beforeWindow: 0, afterWindow: 0 };
    for (const rate of loads) {
      const answers = generators.map((generator, index) => generator.ask({ type: 'load', plan: { rate: rate * share(index), seconds: options.durationSeconds, warmupSeconds, mode: loadMode } }, 'loaded', slowMs + (warmupSeconds + options.durationSeconds) * 1000 + timeoutMs));
      await sleep(warmupSeconds * 1000);
      const sampler = new ProcessSampler(roles);
      const observed = new ProcessSampler(options.observe ?? []);
      const [cpuTimesBefore, udpBefore] = await Promise.all([readCpuTimes(), readUdpCounters()]);
      // The generators time their own windows, so nothing here may wait for the proxy's answer to
      // a scrape: an overloaded proxy answers /metrics seconds late, and the CPU samplers would
      // start that much after the generators' window.
      const countersAsked = performance.now();
      const countersBeforePending = timedScrape(options.proxyMetricsUrl);
      await Promise.all([sampler.start(250), observed.start(500)]);
      const windowStart = performance.now();
      await sleep(options.durationSeconds * 1000);
      const windowEnd = performance.now();
      const countersAfterPending = timedScrape(options.proxyMetricsUrl);
      const [usage, observedNow, cpuTimesAfter, udpAfter] = await Promise.all([sampler.stop(), observed.stop(), readCpuTimes(), readUdpCounters()]);
      udpDrops = addDrops(udpDrops, udpDropsBetween(udpBefore, udpAfter));
      observedUsage = observedNow;
      const [before, after] = await Promise.all([countersBeforePending, countersAfterPending]);
      counterWindows.push(countersOfWindow(lateCountersReason(before.answered - windowStart, windowEnd - windowStart) ?? before.counters, after.counters));
      overhangMs.beforeWindow += Math.round(Math.max(windowStart - countersAsked, before.answered - windowStart));
      overhangMs.afterWindow += Math.round(after.answered - windowEnd);
      // The last window's, as proxyUsage is (the peak ladder runs one rate per measurement).
      cpus = cpuTimesBefore === undefined || cpuTimesAfter === undefined ? undefined : cpuBusyBetween(cpuTimesBefore, cpuTimesAfter);
      const loaded = await Promise.all(answers);
      const merged = mergeCounts(loaded.map((answer) => answer.counts));
      windows.push(merged);
      proxyUsage = usage;
      generatorUsage.splice(0, generatorUsage.length, ...loaded.map((answer, index) => ({ pid: generators[index]?.child.pid ?? 0, role: 'generator', cpuPercent: answer.cpuPercent, cpuPercentMax: answer.cpuPercent, rssBytesMax: answer.rssBytes })));
      if (options.workload === 'scale') {
        const counted = await Promise.all(generators.map((generator) => generator.ask({ type: 'count' }, 'counted', 30_000)));
        const held = counted.reduce((sum, answer) => sum + answer.held, 0);
        figures.reconnected = counted.reduce((sum, answer) => sum + answer.reconnected, 0);
        probes.push({ rate, held, attempted: merged.attempted, completed: merged.completed, failures: merged.failures, latency: summarizeLatencies(merged.latencies), proxyCpuPercent: round(usage.reduce((sum, process) => sum + process.cpuPercent, 0)) });
      }
    }
    if (options.workload === 'scale') {
      figures.probes = probes;
      figures.heldAtEnd = probes.at(-1)?.held ?? figures.held ?? 0;
      const sampler = new ProcessSampler(roles);
      await sampler.start(250);
      const closeStart = performance.now();
      const closed = await Promise.all(generators.map((generator, index) => generator.ask({ type: 'close', rate: Math.max(1, (options.closeRate ?? openRate) * share(index)) }, 'closed', slowMs)));
      // The proxy sees each close as it reads EOF: give it a moment to finish closing its ends.
      await sleep(500);
      const sampledSeconds = (performance.now() - closeStart) / 1000;
      const closeSeconds = Math.max(0.001, ...closed.map((answer) => answer.seconds));
      figures.close = phaseCost(closed.reduce((sum, answer) => sum + answer.closed, 0), closeSeconds, await sampler.stop(), sampledSeconds);
    } else {
      figures.rate = options.rate as number;
      if (figures.memoryHeld === undefined) figures.memoryHeld = await memorySnapshot(await proxyPids(options.proxyPid));
    }

    const all = mergeCounts(windows.map((window) => ({ attempted: window.attempted, completed: window.completed, failures: window.failures, latenciesMs: window.latencies, windowSeconds: options.durationSeconds })));
    const windowSeconds = options.durationSeconds * loads.length;
    const failed = all.attempted - all.completed;
    const cpuLimit = options.generatorCpuLimitPercent ?? 90;
    const generatorTotal = round(generatorUsage.reduce((sum, usage) => sum + usage.cpuPercent, 0));
    const budgetCores = cpuCount(options.generatorCpus ?? machine.cpusAllowed) ?? machine.cores;
    return {
      schema: BENCH_RESULT_SCHEMA,
      startedAt,
      settings,
      machine: { ...machine, cpusAllowed: options.generatorCpus ?? machine.cpusAllowed },
      windowSeconds,
      operations: { invite: 0, bye: 0, total: all.completed, perSecond: round(all.completed / windowSeconds) },
      calls: { attempted: all.attempted, completed: all.completed, failed, perSecond: round(all.completed / windowSeconds), successRatio: all.attempted === 0 ? 1 : Math.round((all.completed / all.attempted) * 100000) / 100000 },
      registrations: { attempted: all.attempted, completed: all.completed, failed },
      failures: all.failures,
      latencyMs: all.latencies.length === 0 ? {} : { register: summarizeLatencies(all.latencies) },
      generator: { processes: generatorUsage, saturated: generatorUsage.some((usage) => usage.cpuPercent > cpuLimit) || generatorTotal > budgetCores * cpuLimit, thresholdPercent: cpuLimit, cpuPercentTotal: generatorTotal, budgetCores },
      ...(proxyUsage.length === 0 ? {} : { proxy: { processes: proxyUsage, cpuPercentTotal: round(proxyUsage.reduce((sum, usage) => sum + usage.cpuPercent, 0)) } }),
      ...addedWindows(counterWindows),
      ...(options.proxyMetricsUrl === undefined ? {} : { proxyCountersOverhangMs: overhangMs }),
      ...(observedUsage.length === 0 ? {} : { observed: observedUsage }),
      ...(cpus === undefined ? {} : { cpus }),
      ...(udpDrops === undefined ? {} : { udpDrops }),
      registration: figures as RegistrationFigures,
    };
  } finally {
    await Promise.all(generators.map((generator) => generator.end()));
  }
}
