/**
 * `npm run bench:sipp -- --transport udp|tcp`: SIPp at rising call rates through Switchboard
 * (event-loop model) and, in the same run, through Kamailio with the stateful record-routing
 * config in configs/anchors/kamailio.cfg. Each step runs record-routed calls (INVITE, 180, 200,
 * ACK, BYE, 200) for a fixed time and reports achieved calls/s, success ratio and call-setup time
 * (INVITE to 200, SIPp's response time 1); the peak is the highest rate with at least 99.9%
 * success and an achieved rate of at least 95% of the offered one (the experiments' rule,
 * peak-ladder.ts). Results (JSON and Markdown, with machine facts) go to experiments/sipp-ladder/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { descendants } from '@switchboard/bench';
import { freePort } from '@switchboard/testkit/free-port';
import { describeMachine, machineFacts } from '@switchboard/sip/machine-facts';
import { DEFAULT_PEAK } from './experiment/peak-ladder.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCENARIOS = `${ROOT}test/interop/scenarios/`;
const BIN = `${ROOT}packages/cli/bin/switchboard.js`;
const NODE_RELAY = fileURLToPath(new URL('./node-relay.js', import.meta.url));
const KAMAILIO_CFG = `${ROOT}configs/anchors/kamailio.cfg`;
/**
 * Kamailio's shared memory (-m, MB). Its transactions live there until their wait timer ends
 * (5 s after the final response), so at 2,500 calls/s 256 MB ran out ("new_t(): out of mem") and
 * capped its ladder at 1,500 calls/s. With 1 GiB it logged no ERROR line up to 4,000 calls/s (the
 * ladder of 2026-12-04, by hand before it); rates above that are not yet shown to fit.
 */
const KAMAILIO_SHM_MB = 1024;
const SUCCESS_THRESHOLD = DEFAULT_PEAK.success;
const ACHIEVED_THRESHOLD = DEFAULT_PEAK.achieved;
const passes = (step: LadderStep): boolean => step.successRatio >= SUCCESS_THRESHOLD && step.achievedCallsPerSecond >= ACHIEVED_THRESHOLD * step.rate;

export interface LadderStep {
  readonly rate: number;
  readonly attempted: number;
  readonly successful: number;
  readonly failed: number;
  readonly successRatio: number;
  readonly achievedCallsPerSecond: number;
  /** Mean INVITE-to-200 time in milliseconds (SIPp response time 1). */
  readonly callSetupMs: number | undefined;
  readonly retransmissions: number;
}

export interface LadderResult {
  readonly proxy: 'switchboard' | 'kamailio';
  readonly transport: 'udp' | 'tcp';
  readonly steps: LadderStep[];
  /** Highest rate with success at or above 99.9% and at least 95% of it achieved (0 if none). */
  readonly peakCallsPerSecond: number;
  /** Every step passed: the peak is the ladder's top rate, and the proxy's own lies above it. */
  readonly peakIsCeiling?: true;
}

function waitExit(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** SIGKILL to `pid` and every process under it, read while it still holds them. */
async function killTree(pid: number): Promise<void> {
  const family = await descendants(pid);
  for (const member of [pid, ...family]) {
    try {
      process.kill(member, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
}

/**
 * Stops `child`: SIGTERM, and after `graceMs` SIGKILL to it and every process under it. A SIGKILL to
 * Kamailio's main process alone left its forked workers running, holding the port and a CPU for
 * the next measurement.
 */
export async function stop(child: ChildProcess, graceMs = 8000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = waitExit(child);
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (child.pid !== undefined) void killTree(child.pid);
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

/** `command args` run under `taskset -c cpus` when `cpus` is given (a CPU budget of its own). */
export function pinned(cpus: string | undefined, command: string, args: readonly string[]): [string, string[]] {
  return cpus === undefined ? [command, [...args]] : ['taskset', ['-c', cpus, command, ...args]];
}

/** The port of `transport` from the JSON `ready` line a Switchboard process (or the Node relay) prints. */
function readyPort(child: ChildProcess, transport: 'udp' | 'tcp', name: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as { msg?: string; listeners?: string[] };
      if (entry.msg !== 'ready') return;
      const listener = entry.listeners?.find((candidate) => candidate.startsWith(`${transport}:`));
      resolve(Number(listener?.split(':').pop()));
    });
  });
}

/** ERROR lines a proxy wrote to stderr so far, and the last of them. */
export interface ErrorLines {
  count: number;
  last: string;
}

/**
 * Reads `child`'s stderr to the end, counting its ERROR lines. A stderr pipe nobody reads fills
 * (64 KB) and then blocks every process that logs, so a proxy that starts logging errors under
 * load would stall on its own log.
 */
function countErrorLines(child: ChildProcess): ErrorLines {
  const errors: ErrorLines = { count: 0, last: '' };
  createInterface({ input: child.stderr! }).on('line', (line) => {
    if (!line.includes('ERROR')) return;
    errors.count += 1;
    errors.last = line;
  });
  return errors;
}

/**
 * Starts the proxy under test on free ports (on `cpus` when given); resolves with its SIP port and
 * process, and for Kamailio the count of ERROR lines it logs. `node-relay` is no proxy: bytes
 * relayed by Node's sockets alone (node-relay.ts).
 */
export async function startProxy(kind: 'switchboard' | 'kamailio' | 'node-relay', transport: 'udp' | 'tcp', calleePort: number, switchboardArgs: readonly string[], cpus?: string): Promise<{ port: number; child: ChildProcess; errors?: ErrorLines }> {
  const route = `sip:127.0.0.1:${calleePort}${transport === 'tcp' ? ';transport=tcp' : ''}`;
  if (kind === 'kamailio') {
    const port = await freePort();
    const child = spawn(
      ...pinned(cpus, 'kamailio', ['-f', KAMAILIO_CFG, '-DD', '-E', '-l', `udp:127.0.0.1:${port}`, '-l', `tcp:127.0.0.1:${port}`, '-A', `DEFAULT_ROUTE="${route}"`, '-m', String(KAMAILIO_SHM_MB), '-M', '32']),
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const errors = countErrorLines(child);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    if (child.exitCode !== null) throw new Error(`kamailio did not start (is it installed? apt-get install kamailio): ${errors.last}`);
    return { port, child, errors };
  }
  if (kind === 'node-relay') {
    const child = spawn(...pinned(cpus, process.execPath, [NODE_RELAY, '--callee-port', String(calleePort)]), { stdio: ['ignore', 'pipe', 'inherit'] });
    return { port: await readyPort(child, transport, 'node-relay'), child };
  }
  const child = spawn(...pinned(cpus, process.execPath, [BIN, 'serve', '--listen', 'udp:127.0.0.1:0', '--listen', 'tcp:127.0.0.1:0', '--default-route', route, '--log-level', 'info', ...switchboardArgs]), {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return { port: await readyPort(child, transport, 'switchboard'), child };
}

/** SIPp's "HH:MM:SS:uuuuuu" (or "HH:MM:SS") as milliseconds. */
function sippDuration(text: string | undefined): number | undefined {
  const parts = text?.split(':').map(Number);
  if (parts === undefined || parts.length < 3 || parts.some(Number.isNaN)) return undefined;
  const [hours = 0, minutes = 0, seconds = 0, micros = 0] = parts;
  return (hours * 3600 + minutes * 60 + seconds) * 1000 + micros / 1000;
}

/**
 * Runs one step: `rate` calls/s for `seconds`; reads the last line of SIPp's statistics file
 * (-trace_stat): created and successful calls, cumulative call rate, retransmissions and
 * response time 1 (INVITE to 200, the call-setup time).
 */
export async function runStep(proxyPort: number, calleePort: number, transport: 'udp' | 'tcp', rate: number, seconds: number, tcpMode: 't1' | 'tn', cpus?: string): Promise<LadderStep> {
  const calls = Math.round(rate * seconds);
  const dir = await mkdtemp(join(tmpdir(), 'switchboard-ladder-'));
  const statsFile = join(dir, 'stats.csv');
  const child = spawn(
    ...pinned(cpus, 'sipp', [
      '-sf', 'uac-rr.xml', '-i', '127.0.0.1', '-p', '0', '-t', transport === 'tcp' ? tcpMode : 'u1',
      '-key', 'target', `127.0.0.1:${calleePort}`, '-s', 'bob',
      '-r', String(rate), '-m', String(calls), '-l', String(Math.max(100, rate * 4)),
      '-recv_timeout', '5000', '-timeout', `${seconds + 40}s`, '-nostdin', '-max_socket', '1000',
      '-trace_stat', '-stf', statsFile, '-fd', '1',
      `127.0.0.1:${proxyPort}`,
    ]),
    { stdio: ['ignore', 'ignore', 'ignore'], cwd: SCENARIOS },
  );
  const killer = setTimeout(() => child.kill('SIGKILL'), (seconds + 60) * 1000);
  await waitExit(child);
  clearTimeout(killer);
  const rows = (await readFile(statsFile, 'utf8').catch(() => '')).trim().split('\n');
  await rm(dir, { recursive: true, force: true });
  const header = (rows[0] ?? '').split(';');
  const last = (rows[rows.length - 1] ?? '').split(';');
  const column = (name: string): string | undefined => last[header.indexOf(name)];
  const created = Number(column('TotalCallCreated') ?? 0);
  const successful = Number(column('SuccessfulCall(C)') ?? 0);
  const failed = Number(column('FailedCall(C)') ?? 0);
  const callRate = Number(column('CallRate(C)') ?? 0);
  return {
    rate,
    attempted: calls,
    successful,
    failed,
    successRatio: calls === 0 ? 0 : successful / calls,
    achievedCallsPerSecond: created === 0 ? 0 : (callRate * successful) / created,
    callSetupMs: sippDuration(column('ResponseTime1(C)')),
    retransmissions: Number(column('Retransmissions(C)') ?? 0),
  };
}

/** Extra Switchboard flags (the model under test) and a look at the proxy before it is stopped. */
export interface LadderOptions {
  readonly switchboardArgs?: readonly string[];
  readonly label?: string;
  /** The caller's TCP connections: one for all calls (t1, the default) or one per call (tn). */
  readonly tcpMode?: 't1' | 'tn';
  readonly beforeStop?: (proxy: { readonly pid: number }) => Promise<void>;
}

/** The SIPp callee of the record-routed calls, on `port` (and on `cpus` when given). */
export function startCallee(port: number, transport: 'udp' | 'tcp', cpus?: string): ChildProcess {
  return spawn(...pinned(cpus, 'sipp', ['-sf', 'uas-rr.xml', '-i', '127.0.0.1', '-p', String(port), '-t', transport === 'tcp' ? 't1' : 'u1', '-nostdin', '-max_socket', '1000']), {
    stdio: ['ignore', 'ignore', 'ignore'],
    cwd: SCENARIOS,
  });
}

export async function runLadder(kind: 'switchboard' | 'kamailio', transport: 'udp' | 'tcp', rates: number[], seconds: number, log: (line: string) => void, options: LadderOptions = {}): Promise<LadderResult> {
  const calleePort = await freePort();
  const callee = startCallee(calleePort, transport);
  const proxy = await startProxy(kind, transport, calleePort, options.switchboardArgs ?? []);
  const steps: LadderStep[] = [];
  try {
    for (const rate of rates) {
      const step = await runStep(proxy.port, calleePort, transport, rate, seconds, options.tcpMode ?? 't1');
      steps.push(step);
      log(`${options.label ?? kind} ${transport} ${rate} calls/s: ${step.successful}/${step.attempted} ok (${(step.successRatio * 100).toFixed(2)}%), ${step.achievedCallsPerSecond.toFixed(0)} calls/s achieved, setup ${step.callSetupMs?.toFixed(2) ?? '?'} ms`);
      if (!passes(step)) break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  } finally {
    if (options.beforeStop !== undefined && proxy.child.pid !== undefined) await options.beforeStop({ pid: proxy.child.pid }).catch(() => undefined);
    await stop(proxy.child);
    await stop(callee);
  }
  if (proxy.errors !== undefined && proxy.errors.count > 0) log(`${options.label ?? kind} ${transport}: ${proxy.errors.count} ERROR lines on stderr, the last: ${proxy.errors.last}`);
  const passing = steps.filter(passes);
  return {
    proxy: kind,
    transport,
    steps,
    peakCallsPerSecond: passing.length === 0 ? 0 : Math.max(...passing.map((step) => step.rate)),
    ...(passing.length === rates.length ? { peakIsCeiling: true } : {}),
  };
}

const peakText = (result: LadderResult): string => `${result.peakIsCeiling === true ? '≥ ' : ''}${result.peakCallsPerSecond}`;

/** Our peak over theirs; a lower bound when only ours is the ladder's ceiling, unknown when theirs is. */
export function peakRatioText(ours: LadderResult, theirs: LadderResult): string {
  if (theirs.peakCallsPerSecond === 0 || theirs.peakIsCeiling === true) return 'n/a';
  return `${ours.peakIsCeiling === true ? '≥ ' : ''}${(ours.peakCallsPerSecond / theirs.peakCallsPerSecond).toFixed(2)}x`;
}

function markdown(results: LadderResult[], facts: ReturnType<typeof machineFacts>, seconds: number): string {
  const lines = [
    `# SIPp ladder: Switchboard (event-loop) and Kamailio`,
    '',
    `Machine: ${describeMachine(facts)}.`,
    `Every process (SIPp caller, proxy, SIPp callee) shares the same cores; no pinning. ${seconds} s per step; record-routed calls (INVITE, 180, 200, ACK, BYE, 200).`,
    '',
    '| proxy | transport | rate (calls/s) | success | achieved (calls/s) | call setup (ms) | retransmissions |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const result of results) {
    for (const step of result.steps) {
      lines.push(`| ${result.proxy} | ${result.transport} | ${step.rate} | ${(step.successRatio * 100).toFixed(2)}% | ${step.achievedCallsPerSecond.toFixed(0)} | ${step.callSetupMs?.toFixed(2) ?? '?'} | ${step.retransmissions} |`);
    }
  }
  lines.push('', '| transport | Switchboard peak | Kamailio peak | ratio |', '| --- | ---: | ---: | ---: |');
  for (const transport of ['udp', 'tcp'] as const) {
    const ours = results.find((result) => result.proxy === 'switchboard' && result.transport === transport);
    const theirs = results.find((result) => result.proxy === 'kamailio' && result.transport === transport);
    if (ours === undefined || theirs === undefined) continue;
    lines.push(`| ${transport} | ${peakText(ours)} | ${peakText(theirs)} | ${peakRatioText(ours, theirs)} |`);
  }
  lines.push('', 'Peak: the highest rate at which at least 99.9% of calls succeeded and at least 95% of the offered rate was achieved; ≥ marks a proxy that passed every step (its peak lies above the ladder).');
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      transport: { type: 'string', default: 'udp' },
      rates: { type: 'string', default: '250,500,750,1000,1250,1500,1750,2000,2500,3000,3500,4000,5000,6000' },
      'step-seconds': { type: 'string', default: '5' },
      proxies: { type: 'string', default: 'switchboard,kamailio' },
      out: { type: 'string', default: `${ROOT}experiments/sipp-ladder` },
    },
  });
  const transports = String(values.transport).split(',');
  for (const transport of transports) {
    if (transport !== 'udp' && transport !== 'tcp') throw new Error(`--transport must be udp, tcp or udp,tcp; got ${transport}`);
  }
  const rates = String(values.rates).split(',').map(Number);
  if (rates.some((rate) => !Number.isInteger(rate) || rate <= 0)) throw new Error(`--rates must be positive integers, got ${values.rates}`);
  const seconds = Number(values['step-seconds']);
  if (!(seconds > 0)) throw new Error(`--step-seconds must be positive, got ${values['step-seconds']}`);
  const proxies = String(values.proxies).split(',') as Array<'switchboard' | 'kamailio'>;
  if (proxies.some((proxy) => proxy !== 'switchboard' && proxy !== 'kamailio')) throw new Error(`--proxies takes switchboard and/or kamailio`);

  const facts = machineFacts();
  const results: LadderResult[] = [];
  for (const transport of transports as Array<'udp' | 'tcp'>) {
    for (const proxy of proxies) results.push(await runLadder(proxy, transport, rates, seconds, (line) => process.stderr.write(`${line}\n`)));
  }
  const name = transports.join('-');
  await mkdir(String(values.out), { recursive: true });
  await writeFile(`${values.out}/${name}.json`, `${JSON.stringify({ machine: facts, stepSeconds: seconds, results }, null, 2)}\n`);
  const report = markdown(results, facts, seconds);
  await writeFile(`${values.out}/${name}.md`, report);
  process.stdout.write(report);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: Error) => {
    process.stderr.write(`bench:sipp: ${error.message}\n`);
    process.exitCode = 1;
  });
}
