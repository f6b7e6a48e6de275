/**
 * `npm run bench:efficiency`: CPU per proxied call, Switchboard's models beside Kamailio in one
 * run. For each repeat, transport and proxy (the order rotated every repeat), SIPp places
 * record-routed calls (INVITE, 180, 200, ACK, BYE, 200) at a fixed rate well under saturation
 * for a fixed time; the proxy's process tree (its workers, and the process-pool's redis-server)
 * runs on CPUs of its own (taskset), SIPp on the others. CPU per call = the tree's user and
 * system time over the window (/proc) divided by the calls that succeeded. Each Switchboard
 * figure is divided by Kamailio's of the same repeat and transport, so the ratio is measured side
 * by side; the report gives the median and the range over repeats. Results (JSON and Markdown,
 * with machine facts) go to experiments/efficiency/. A benchmark, not a test: nothing is asserted.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startRedisServer } from '@switchboard/testkit/redis-server';
import { describeMachine, machineFacts, type MachineFacts } from '@switchboard/sip/machine-facts';
import { treeCpuTimes, type CpuTimes } from './process-cpu.js';
import { median } from './analysis/confidence-interval.js';
import { freePort } from '@switchboard/testkit/free-port';
import { runStep, startCallee, startProxy, stop } from './sipp-ladder.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SUCCESS_THRESHOLD = 0.999;

/**
 * The proxies measured: Kamailio and each Switchboard model, in the owned transaction design
 * (`event-loop`) or the shared one (`event-loop/shared`: `--transactions shared` in the model's
 * own store, Map, SharedArrayBuffer or Redis); the pools also with responses handled where they
 * are read (`process-pool/where-read`: shared, `--shared-responses where-read`). `node-relay` is the
 * floor beneath them, no proxy: the same calls' bytes relayed by Node's sockets alone
 * (node-relay.ts), so a model's CPU per call above it is the proxy's own work.
 */
const SWITCHBOARD_MODELS = ['event-loop', 'process-pool', 'thread-pool'] as const;
type ModelName = (typeof SWITCHBOARD_MODELS)[number];
/** The models with more than one worker, where a response can be read by a worker that does not hold its transaction. */
const POOL_MODELS = ['process-pool', 'thread-pool'] as const;
type PoolModelName = (typeof POOL_MODELS)[number];
type ProxyName = 'kamailio' | 'node-relay' | ModelName | `${ModelName}/shared` | `${PoolModelName}/where-read` | 'io-dispatch';
/** io-dispatch exists in the shared design only (its workers share transactions in Redis). */
const PROXIES: readonly ProxyName[] = ['kamailio', 'node-relay', ...SWITCHBOARD_MODELS, ...SWITCHBOARD_MODELS.map((model) => `${model}/shared` as const), ...POOL_MODELS.map((model) => `${model}/where-read` as const), 'io-dispatch'];
/** Measured unless `--proxies` says otherwise. */
const DEFAULT_PROXIES: readonly ProxyName[] = ['kamailio', ...SWITCHBOARD_MODELS];

export interface EfficiencySample {
  readonly repeat: number;
  readonly proxy: ProxyName;
  readonly transport: 'udp' | 'tcp';
  readonly rate: number;
  readonly calls: number;
  readonly successRatio: number;
  readonly userMs: number;
  readonly systemMs: number;
  /** (user + system) / successful calls, in microseconds; user and system apart. */
  readonly microsPerCall: number;
  readonly userMicrosPerCall: number;
  readonly systemMicrosPerCall: number;
}

export { median };

/** CPU per successful call of one window, from the tree's CPU before and after it. */
export function perCall(before: CpuTimes, after: CpuTimes, successful: number): { userMs: number; systemMs: number; micros: number; userMicros: number; systemMicros: number } {
  const userMs = after.userMs - before.userMs;
  const systemMs = after.systemMs - before.systemMs;
  const per = (ms: number): number => (successful === 0 ? Number.NaN : (ms * 1000) / successful);
  return { userMs, systemMs, micros: per(userMs + systemMs), userMicros: per(userMs), systemMicros: per(systemMs) };
}

/** `numerator`'s CPU per call over `denominator`'s, within each repeat both ran (same transport). */
function pairedRatios(samples: readonly EfficiencySample[], numerator: ProxyName, denominator: ProxyName, transport: 'udp' | 'tcp'): number[] {
  const ratios: number[] = [];
  for (const sample of samples.filter((candidate) => candidate.proxy === numerator && candidate.transport === transport)) {
    const anchor = samples.find((candidate) => candidate.proxy === denominator && candidate.transport === transport && candidate.repeat === sample.repeat);
    if (anchor !== undefined && Number.isFinite(sample.microsPerCall) && Number.isFinite(anchor.microsPerCall) && anchor.microsPerCall > 0) ratios.push(sample.microsPerCall / anchor.microsPerCall);
  }
  return ratios;
}

/** Per proxy and transport: each Switchboard sample divided by Kamailio's of the same repeat. */
export function ratiosToKamailio(samples: readonly EfficiencySample[]): Array<{ proxy: ProxyName; transport: 'udp' | 'tcp'; ratios: number[] }> {
  const out: Array<{ proxy: ProxyName; transport: 'udp' | 'tcp'; ratios: number[] }> = [];
  for (const transport of ['udp', 'tcp'] as const) {
    for (const proxy of PROXIES.filter((name) => name !== 'kamailio')) {
      const ratios = pairedRatios(samples, proxy, 'kamailio', transport);
      if (ratios.length > 0) out.push({ proxy, transport, ratios });
    }
  }
  return out;
}

const modelOf = (proxy: ProxyName): ModelName | 'io-dispatch' | undefined => (proxy === 'kamailio' || proxy === 'node-relay' ? undefined : (proxy.split('/')[0] as ModelName | 'io-dispatch'));
const needsRedis = (proxy: ProxyName): boolean => modelOf(proxy) === 'process-pool' || modelOf(proxy) === 'io-dispatch';

function switchboardArgs(proxy: ProxyName, workers: number, redisUrl: string | undefined): string[] {
  const model = modelOf(proxy);
  const whereRead = proxy.endsWith('/where-read');
  const shared = proxy.endsWith('/shared') || whereRead ? ['--transactions', 'shared', ...(whereRead ? ['--shared-responses', 'where-read'] : [])] : [];
  if (model === 'process-pool') return ['--model', 'process-pool', '--workers', String(workers), '--redis-url', redisUrl ?? '', ...shared];
  if (model === 'thread-pool') return ['--model', 'thread-pool', '--workers', String(workers), ...shared];
  if (model === 'io-dispatch') return ['--model', 'io-dispatch', '--workers', String(workers), '--redis-url', redisUrl ?? '', '--transactions', 'shared'];
  return shared;
}

/** Per model and transport with both designs measured: shared / owned CPU per call within each repeat (the cost of sharing). */
export function sharingCosts(samples: readonly EfficiencySample[]): Array<{ model: ModelName; transport: 'udp' | 'tcp'; ratios: number[] }> {
  const out: Array<{ model: ModelName; transport: 'udp' | 'tcp'; ratios: number[] }> = [];
  for (const transport of ['udp', 'tcp'] as const) {
    for (const model of SWITCHBOARD_MODELS) {
      const ratios = pairedRatios(samples, `${model}/shared`, model, transport);
      if (ratios.length > 0) out.push({ model, transport, ratios });
    }
  }
  return out;
}

/** Per pool and transport with both measured: where-read / by-holder (`model/shared`) CPU per call within each repeat. */
export function whereReadCosts(samples: readonly EfficiencySample[]): Array<{ model: PoolModelName; transport: 'udp' | 'tcp'; ratios: number[] }> {
  const out: Array<{ model: PoolModelName; transport: 'udp' | 'tcp'; ratios: number[] }> = [];
  for (const transport of ['udp', 'tcp'] as const) {
    for (const model of POOL_MODELS) {
      const ratios = pairedRatios(samples, `${model}/where-read`, `${model}/shared`, transport);
      if (ratios.length > 0) out.push({ model, transport, ratios });
    }
  }
  return out;
}

/** Per Switchboard proxy and transport with the relay measured: its CPU per call minus `node-relay`'s (user and system apart) within each repeat. */
export function aboveNodeFloor(samples: readonly EfficiencySample[]): Array<{ proxy: ProxyName; transport: 'udp' | 'tcp'; micros: number[]; userMicros: number[]; systemMicros: number[] }> {
  const out: Array<{ proxy: ProxyName; transport: 'udp' | 'tcp'; micros: number[]; userMicros: number[]; systemMicros: number[] }> = [];
  for (const transport of ['udp', 'tcp'] as const) {
    for (const proxy of PROXIES.filter((name) => modelOf(name) !== undefined)) {
      const entry = { proxy, transport, micros: [] as number[], userMicros: [] as number[], systemMicros: [] as number[] };
      for (const sample of samples.filter((candidate) => candidate.proxy === proxy && candidate.transport === transport)) {
        const floor = samples.find((candidate) => candidate.proxy === 'node-relay' && candidate.transport === transport && candidate.repeat === sample.repeat);
        if (floor === undefined || !Number.isFinite(sample.microsPerCall) || !Number.isFinite(floor.microsPerCall)) continue;
        entry.micros.push(sample.microsPerCall - floor.microsPerCall);
        entry.userMicros.push(sample.userMicrosPerCall - floor.userMicrosPerCall);
        entry.systemMicros.push(sample.systemMicrosPerCall - floor.systemMicrosPerCall);
      }
      if (entry.micros.length > 0) out.push(entry);
    }
  }
  return out;
}

interface Settings {
  readonly rate: number;
  readonly seconds: number;
  /** Calls at the same rate before the window, not measured (JIT, connections, caches). */
  readonly warmupSeconds: number;
  readonly repeats: number;
  readonly workers: number;
  readonly proxyCpus: string | undefined;
  readonly generatorCpus: string | undefined;
  readonly transports: ReadonlyArray<'udp' | 'tcp'>;
  readonly proxies: readonly ProxyName[];
}

async function measure(settings: Settings, repeat: number, proxy: ProxyName, transport: 'udp' | 'tcp'): Promise<EfficiencySample> {
  const calleePort = await freePort();
  const callee = startCallee(calleePort, transport, settings.generatorCpus);
  const redis = needsRedis(proxy) ? await startRedisServer(undefined, { cpus: settings.proxyCpus }) : undefined;
  const started = await startProxy(proxy === 'kamailio' || proxy === 'node-relay' ? proxy : 'switchboard', transport, calleePort, switchboardArgs(proxy, settings.workers, redis?.url), settings.proxyCpus);
  try {
    await runStep(started.port, calleePort, transport, settings.rate, settings.warmupSeconds, 't1', settings.generatorCpus);
    const pids = [started.child.pid as number, ...(redis?.pid === undefined ? [] : [redis.pid])];
    const cpu = async (): Promise<CpuTimes> => {
      const all = await Promise.all(pids.map((pid) => treeCpuTimes(pid)));
      return all.reduce((sum, times) => ({ userMs: sum.userMs + times.userMs, systemMs: sum.systemMs + times.systemMs }), { userMs: 0, systemMs: 0 });
    };
    const before = await cpu();
    const step = await runStep(started.port, calleePort, transport, settings.rate, settings.seconds, 't1', settings.generatorCpus);
    const after = await cpu();
    const used = perCall(before, after, step.successful);
    return {
      repeat,
      proxy,
      transport,
      rate: settings.rate,
      calls: step.successful,
      successRatio: step.successRatio,
      userMs: used.userMs,
      systemMs: used.systemMs,
      microsPerCall: used.micros,
      userMicrosPerCall: used.userMicros,
      systemMicrosPerCall: used.systemMicros,
    };
  } finally {
    await stop(started.child);
    await redis?.stop();
    await stop(callee);
  }
}

const round = (value: number): string => (Number.isFinite(value) ? value.toFixed(0) : 'n/a');

export function efficiencyMarkdown(samples: readonly EfficiencySample[], facts: MachineFacts, settings: Settings): string {
  const lines = [
    '# CPU per proxied call: Switchboard beside Kamailio',
    '',
    `Machine: ${describeMachine(facts)}.`,
    `SIPp record-routed calls at ${settings.rate} calls/s for ${settings.seconds} s per window after ${settings.warmupSeconds} s of the same load not measured, ${settings.repeats} repeats, proxies in rotated order each repeat. ` +
      (settings.proxyCpus === undefined ? 'No CPU pinning: proxy and SIPp share the cores. ' : `Proxy tree (and the process-pool's redis-server) on CPUs ${settings.proxyCpus}, SIPp on ${settings.generatorCpus ?? 'the rest'}. `) +
      `Pools run ${settings.workers} workers; TCP is one persistent connection per side. CPU = user + system time of the proxy's process tree over the window (/proc), per successful call; a window below ${SUCCESS_THRESHOLD * 100}% success is marked.`,
    '',
    '| proxy | transport | µs per call: median (min–max) | user µs | system µs | success (worst) |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
  ];
  for (const transport of settings.transports) {
    for (const proxy of settings.proxies) {
      const mine = samples.filter((sample) => sample.proxy === proxy && sample.transport === transport);
      if (mine.length === 0) continue;
      const micros = mine.map((sample) => sample.microsPerCall);
      const worst = Math.min(...mine.map((sample) => sample.successRatio));
      lines.push(
        `| ${proxy} | ${transport} | ${round(median(micros))} (${round(Math.min(...micros))}–${round(Math.max(...micros))}) | ${round(median(mine.map((s) => s.userMicrosPerCall)))} | ${round(median(mine.map((s) => s.systemMicrosPerCall)))} | ${(worst * 100).toFixed(2)}%${worst < SUCCESS_THRESHOLD ? ' (below 99.9%)' : ''} |`,
      );
    }
  }
  const ratios = ratiosToKamailio(samples);
  if (ratios.length > 0) {
    lines.push('', '| proxy | transport | CPU per call / Kamailio\'s: median (min–max) over repeats |', '| --- | --- | ---: |');
    for (const { proxy, transport, ratios: values } of ratios) lines.push(`| ${proxy} | ${transport} | ${median(values).toFixed(2)} (${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}) |`);
    lines.push('', 'A ratio is taken within one repeat (same transport, minutes apart), then summarised over repeats: below 1.00 Switchboard spends less CPU per call than Kamailio.');
  }
  const costs = sharingCosts(samples);
  if (costs.length > 0) {
    lines.push('', '| model | transport | CPU per call, `--transactions shared` / owned: median (min–max) over repeats |', '| --- | --- | ---: |');
    for (const { model, transport, ratios: values } of costs) lines.push(`| ${model} | ${transport} | ${median(values).toFixed(2)} (${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}) |`);
    lines.push('', 'The cost of sharing transactions, within one repeat: `model/shared` keeps every transaction in the model\'s own store (the event-loop a Map, the thread-pool its SharedArrayBuffer table, the process-pool Redis, whose CPU is counted).');
  }
  const whereRead = whereReadCosts(samples);
  if (whereRead.length > 0) {
    lines.push('', '| model | transport | CPU per call, `--shared-responses where-read` / `by-holder`: median (min–max) over repeats |', '| --- | --- | ---: |');
    for (const { model, transport, ratios: values } of whereRead) lines.push(`| ${model} | ${transport} | ${median(values).toFixed(2)} (${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}) |`);
    lines.push('', 'Both with shared transactions, within one repeat: `model/where-read` handles a response in the worker that read it (two store round trips, no hand-off), `model/shared` hands it to the worker holding the transaction.');
  }
  const floors = aboveNodeFloor(samples);
  if (floors.length > 0) {
    lines.push('', '| Switchboard model | transport | µs per call above `node-relay`: median (min–max) over repeats | user µs | system µs |', '| --- | --- | ---: | ---: | ---: |');
    for (const { proxy, transport, micros, userMicros, systemMicros } of floors) {
      lines.push(`| ${proxy} | ${transport} | ${round(median(micros))} (${round(Math.min(...micros))}–${round(Math.max(...micros))}) | ${round(median(userMicros))} | ${round(median(systemMicros))} |`);
    }
    lines.push('', 'Within one repeat: the model\'s CPU per call minus that of `node-relay`, the same calls\' bytes relayed by Node\'s sockets with no SIP in between (6 datagrams in and 6 out per call over UDP, where a proxy also sends a 100; a byte pipe per connection over TCP). What is left is the proxy\'s own work.');
  }
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string', default: '400' },
      seconds: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '3' },
      repeats: { type: 'string', default: '3' },
      workers: { type: 'string', default: '2' },
      'proxy-cpus': { type: 'string', default: '1' },
      'generator-cpus': { type: 'string', default: '0' },
      transports: { type: 'string', default: 'udp,tcp' },
      proxies: { type: 'string', default: DEFAULT_PROXIES.join(',') },
      out: { type: 'string', default: `${ROOT}experiments/efficiency` },
    },
  });
  const number = (name: string, text: string | undefined): number => {
    const value = Number(text);
    if (!(value > 0)) throw new Error(`--${name} must be a positive number, got ${text}`);
    return value;
  };
  const transports = String(values.transports).split(',');
  if (transports.some((transport) => transport !== 'udp' && transport !== 'tcp')) throw new Error(`--transports takes udp and/or tcp, got ${values.transports}`);
  const proxies = String(values.proxies).split(',');
  if (proxies.some((proxy) => !PROXIES.includes(proxy as ProxyName))) throw new Error(`--proxies takes ${PROXIES.join(', ')}; got ${values.proxies}`);
  const cpusOrNone = (text: string | undefined): string | undefined => (text === undefined || text === '' || text === 'none' ? undefined : text);
  const settings: Settings = {
    rate: number('rate', values.rate),
    seconds: number('seconds', values.seconds),
    warmupSeconds: number('warmup', values.warmup),
    repeats: Math.round(number('repeats', values.repeats)),
    workers: Math.round(number('workers', values.workers)),
    proxyCpus: cpusOrNone(values['proxy-cpus']),
    generatorCpus: cpusOrNone(values['generator-cpus']),
    transports: transports as Array<'udp' | 'tcp'>,
    proxies: proxies as ProxyName[],
  };
  const facts = machineFacts();
  const samples: EfficiencySample[] = [];
  for (let repeat = 0; repeat < settings.repeats; repeat++) {
    for (const transport of settings.transports) {
      // Rotate the order each repeat so no proxy always runs first (or last) on a drifting machine.
      const order = settings.proxies.map((_, index) => settings.proxies[(index + repeat) % settings.proxies.length] as ProxyName);
      for (const proxy of order) {
        const sample = await measure(settings, repeat, proxy, transport);
        samples.push(sample);
        process.stderr.write(`repeat ${repeat + 1} ${proxy} ${transport}: ${round(sample.microsPerCall)} µs/call (user ${round(sample.userMicrosPerCall)}, sys ${round(sample.systemMicrosPerCall)}), ${sample.calls} calls, ${(sample.successRatio * 100).toFixed(2)}%\n`);
      }
    }
  }
  await mkdir(String(values.out), { recursive: true });
  await writeFile(`${values.out}/efficiency.json`, `${JSON.stringify({ machine: facts, settings, samples }, null, 2)}\n`);
  const report = efficiencyMarkdown(samples, facts, settings);
  await writeFile(`${values.out}/efficiency.md`, report);
  process.stdout.write(report);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: Error) => {
    process.stderr.write(`bench:efficiency: ${error.message}\n`);
    process.exitCode = 1;
  });
}
