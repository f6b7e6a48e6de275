/**
 * `npm run bench:models`: the SIPp ladder (see sipp-ladder.ts) over UDP and over TCP with one
 * persistent connection per side, through Switchboard under each concurrency model: event-loop,
 * process-pool without and with the fd cache, thread-pool, and io-dispatch (one I/O process; shared
 * transactions in Redis). Reports one table: peak calls/s
 * per model and transport, the TCP/UDP ratio, the fd cache's speedup, and the model's own
 * counters scraped from --metrics at the end of each ladder (fd requests, cache hits, hand-offs,
 * and the IPC share: time in IPC code over the proxy's CPU time). Results with machine facts go
 * to experiments/models/.
 */
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { counterMetric, type CounterName } from '@switchboard/cluster';
import { startRedisServer } from '@switchboard/testkit/redis-server';
import { describeMachine, machineFacts } from '@switchboard/sip/machine-facts';
import { treeCpuTimes } from './process-cpu.js';
import { freePort } from '@switchboard/testkit/free-port';
import { runLadder, type LadderResult } from './sipp-ladder.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface Variant {
  readonly name: string;
  readonly args: (redisUrl: string) => string[];
  /** Runs with `--transactions shared` only (io-dispatch). */
  readonly sharedOnly?: boolean;
}

function variants(workers: number): Variant[] {
  return [
    { name: 'event-loop', args: () => ['--model', 'event-loop'] },
    { name: 'process-pool', args: (url) => ['--model', 'process-pool', '--workers', String(workers), '--redis-url', url] },
    { name: 'process-pool + fd cache', args: (url) => ['--model', 'process-pool', '--workers', String(workers), '--fd-cache', '8', '--redis-url', url] },
    { name: 'thread-pool', args: () => ['--model', 'thread-pool', '--workers', String(workers)] },
    { name: 'io-dispatch', sharedOnly: true, args: (url) => ['--model', 'io-dispatch', '--workers', String(workers), '--transactions', 'shared', '--redis-url', url] },
  ];
}

/**
 * Each variant in each transaction design asked for (`--transactions owned,shared`); a shared run
 * is named `<model> [shared]`. A variant that needs shared transactions runs only so.
 */
function withTransactions(chosen: readonly Variant[], modes: ReadonlyArray<'owned' | 'shared'>): Variant[] {
  return chosen.flatMap((variant) => {
    const sharedOnly = variant.sharedOnly === true;
    const wanted = sharedOnly ? ['shared' as const] : modes;
    return wanted.map((mode) => ({
      ...variant,
      name: mode === 'shared' && !sharedOnly ? `${variant.name} [shared]` : variant.name,
      args: (url: string) => [...variant.args(url), '--transactions', mode],
    }));
  });
}

/** Counters summed over workers, from the Prometheus text. */
function sumMetric(text: string, name: string): number {
  let total = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}

interface ModelRun {
  readonly model: string;
  readonly ladder: LadderResult;
  readonly counters: Record<string, number>;
  readonly cpuMs: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rates: { type: 'string', default: '250,500,1000,1500,2000,2500,3000,3500,4000' },
      'step-seconds': { type: 'string', default: '5' },
      workers: { type: 'string', default: String(cpus().length) },
      models: { type: 'string' },
      out: { type: 'string', default: `${ROOT}experiments/models` },
      'report-only': { type: 'boolean', default: false },
      'tcp-connections': { type: 'string', default: 'one' },
      transports: { type: 'string', default: 'udp,tcp' },
      transactions: { type: 'string', default: 'owned' },
    },
  });
  if (values['report-only'] === true) {
    const saved = JSON.parse(await readFile(`${values.out}/models.json`, 'utf8')) as { machine: ReturnType<typeof machineFacts>; stepSeconds: number; workers: number; tcpMode?: 't1' | 'tn'; runs: ModelRun[] };
    const report = modelsMarkdown(saved.runs, saved.machine, saved.stepSeconds, saved.workers, saved.tcpMode ?? 't1');
    await writeFile(`${values.out}/models.md`, report);
    process.stdout.write(report);
    return;
  }
  const rates = String(values.rates).split(',').map(Number);
  const seconds = Number(values['step-seconds']);
  const workers = Number(values.workers);
  if (rates.some((rate) => !Number.isInteger(rate) || rate <= 0)) throw new Error(`--rates must be positive integers, got ${values.rates}`);
  if (!(seconds > 0)) throw new Error(`--step-seconds must be positive, got ${values['step-seconds']}`);
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`--workers must be a whole number, got ${values.workers}`);
  const tcpMode = values['tcp-connections'] === 'per-call' ? 'tn' : 't1';
  if (values['tcp-connections'] !== 'one' && values['tcp-connections'] !== 'per-call') throw new Error(`--tcp-connections must be one or per-call, got ${values['tcp-connections']}`);
  const transports = String(values.transports).split(',') as Array<'udp' | 'tcp'>;
  if (transports.some((transport) => transport !== 'udp' && transport !== 'tcp')) throw new Error(`--transports takes udp and/or tcp, got ${values.transports}`);
  const modes = String(values.transactions).split(',');
  if (modes.some((mode) => mode !== 'owned' && mode !== 'shared')) throw new Error(`--transactions takes owned and/or shared, got ${values.transactions}`);
  const chosen = withTransactions(values.models === undefined ? variants(workers) : variants(workers).filter((variant) => String(values.models).split(',').includes(variant.name)), modes as Array<'owned' | 'shared'>);

  const redis = await startRedisServer();
  const facts = machineFacts();
  const runs: ModelRun[] = [];
  try {
    for (const variant of chosen) {
      for (const transport of transports) {
        const metricsPort = await freePort();
        let counters: Record<string, number> = {};
        let cpuMs = 0;
        const ladder = await runLadder('switchboard', transport, rates, seconds, (line) => process.stderr.write(`${line}\n`), {
          label: variant.name,
          tcpMode,
          switchboardArgs: [...variant.args(redis.url), '--metrics', `127.0.0.1:${metricsPort}`],
          async beforeStop({ pid }) {
            const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
            counters = Object.fromEntries(COUNTERS.map((name) => [name, sumMetric(text, counterMetric(name))]));
            const times = await treeCpuTimes(pid);
            cpuMs = times.userMs + times.systemMs;
          },
        });
        runs.push({ model: variant.name, ladder, counters, cpuMs });
      }
    }
  } finally {
    await redis.stop();
  }
  await mkdir(String(values.out), { recursive: true });
  await writeFile(`${values.out}/models.json`, `${JSON.stringify({ machine: facts, stepSeconds: seconds, workers, rates, tcpMode, runs }, null, 2)}\n`);
  const report = modelsMarkdown(runs, facts, seconds, workers, tcpMode);
  await writeFile(`${values.out}/models.md`, report);
  process.stdout.write(report);
}

const COUNTERS = ['fdRequests', 'fdCacheHits', 'fdCacheMisses', 'handOffsSent', 'remoteWrites', 'ipcMilliseconds', 'requestsForwarded', 'transactionStoreRoundTrips'] as const satisfies readonly CounterName[];

function modelsMarkdown(runs: ModelRun[], facts: ReturnType<typeof machineFacts>, seconds: number, workers: number, tcpMode: 't1' | 'tn'): string {
  // The peak is the highest call rate achieved (not offered) at a step where at least 99.9% of
  // calls succeeded: an overloaded SIPp or proxy can pass a step while falling behind its rate.
  const peak = (model: string, transport: string): number => {
    const steps = runs.find((run) => run.model === model && run.ladder.transport === transport)?.ladder.steps ?? [];
    return Math.round(Math.max(0, ...steps.filter((step) => step.successRatio >= 0.999).map((step) => step.achievedCallsPerSecond)));
  };
  const models = [...new Set(runs.map((run) => run.model))];
  const lines = [
    '# Concurrency models: SIPp ladder peaks',
    '',
    `Machine: ${describeMachine(facts)}.`,
    `SIPp caller, proxy (${workers} workers for the pools) and SIPp callee share the cores; no pinning. ${seconds} s per step; record-routed calls; ${tcpMode === 't1' ? 'TCP is one persistent connection per side (SIPp -t t1)' : 'over TCP the caller opens one connection per call (SIPp -t tn), the callee keeps one'}. Process-pool state in a local redis-server. Peak: the highest achieved call rate at a step with at least 99.9% of calls successful. One run.`,
    '',
    '| model | UDP peak (calls/s) | TCP peak (calls/s) | TCP/UDP |',
    '| --- | ---: | ---: | ---: |',
  ];
  for (const model of models) {
    const udp = peak(model, 'udp');
    const tcp = peak(model, 'tcp');
    lines.push(`| ${model} | ${udp} | ${tcp} | ${udp === 0 ? 'n/a' : `${((tcp / udp) * 100).toFixed(0)}%`} |`);
  }
  for (const design of ['', ' [shared]']) {
    const plain = peak(`process-pool${design}`, 'tcp');
    const cached = peak(`process-pool + fd cache${design}`, 'tcp');
    if (plain > 0 && cached > 0) lines.push('', `fd cache speedup${design} (process-pool TCP peak with / without): ${(cached / plain).toFixed(2)}x.`);
  }
  lines.push('', '| model | transport | calls | fd requests | fd cache hits | hand-offs | writes via owner thread | store round trips | per call: fd req. / hand-offs / store trips / CPU µs | IPC share of proxy CPU |', '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const run of runs) {
    const calls = run.ladder.steps.reduce((sum, step) => sum + step.successful, 0);
    const share = run.cpuMs > 0 ? `${(((run.counters.ipcMilliseconds ?? 0) / run.cpuMs) * 100).toFixed(1)}%` : 'n/a';
    const each = (count: number | undefined): string => (calls > 0 ? ((count ?? 0) / calls).toFixed(2) : 'n/a');
    const cpu = calls > 0 ? ((run.cpuMs * 1000) / calls).toFixed(0) : 'n/a';
    lines.push(`| ${run.model} | ${run.ladder.transport} | ${calls} | ${run.counters.fdRequests ?? 0} | ${run.counters.fdCacheHits ?? 0} | ${run.counters.handOffsSent ?? 0} | ${run.counters.remoteWrites ?? 0} | ${run.counters.transactionStoreRoundTrips ?? 0} | ${each(run.counters.fdRequests)} / ${each(run.counters.handOffsSent)} / ${each(run.counters.transactionStoreRoundTrips)} / ${cpu} | ${share} |`);
  }
  lines.push('', 'Counters are totals over the whole ladder (all steps), summed over workers; the supervisor counts fd requests and hand-offs it relays too, so they appear twice in the process-pool rows. Per call: over the successful calls of the whole ladder; CPU µs is the proxy tree\'s CPU over the ladder (failed calls included) per successful call, so it rises past the peak: for CPU per call below saturation use `npm run bench:efficiency`. `[shared]`: `--transactions shared`. IPC share: time workers spent in IPC code (encoding, sending, decoding, wrapping handles) over the CPU time of the proxy process tree.');
  lines.push('', '| model | transport | rate | success | achieved | call setup (ms) |', '| --- | --- | ---: | ---: | ---: | ---: |');
  for (const run of runs) {
    for (const step of run.ladder.steps) lines.push(`| ${run.model} | ${run.ladder.transport} | ${step.rate} | ${(step.successRatio * 100).toFixed(2)}% | ${step.achievedCallsPerSecond.toFixed(0)} | ${step.callSetupMs?.toFixed(2) ?? '?'} |`);
  }
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: Error) => {
    process.stderr.write(`bench:models: ${error.message}\n`);
    process.exitCode = 1;
  });
}
