#!/usr/bin/env node
// Goodput under overload (issue 17 item 4; a benchmark, not a test): `npm run bench:overload`.
//
// The proxy (any model) runs in a cgroup CPU quota (--quota cores, default 0.15) pinned to one CPU;
// SIPp (record-routed calls, uac-rr.xml / uas-rr.xml) on another. Per model and transport: the
// capacity (a ladder of --step seconds per step, 5 by default, with --overload off: the highest
// rate whose calls >= 97% got their 200 within 500 ms, a failed step offered once more before the
// ladder ends, unless given with --capacity), then for
// each --overload mode and each factor (2x, 4x, 8x): a fresh proxy, --duration seconds at factor x
// capacity, then --duration seconds at 0.8x capacity
// (recovery). A call is good when its 200 arrives within 4 s of its first INVITE (SIPp
// -trace_rtt). Goodput = good calls started in the overload phase per second, over capacity.
// Recovery = seconds after the overload ends until every later second of the 0.8x phase has
// >= 90% of its calls good. Prints one markdown table and the machine facts; raw SIPp files stay
// in the printed directory. Needs root (cgroups, nice). Bounded: every SIPp is killed 6 s after
// its last call is due; every process it starts is ended by its id.
//
// Usage: node scripts/bench-overload.mjs [--models event-loop,thread-pool,process-pool]
//   [--transports udp,tcp] [--overload off,on] [--factors 2,4,8] [--quota 0.15] [--duration 8]
//   [--capacity event-loop:udp=250,event-loop:tcp=300] [--root DIR] [--repeat 1]
//   [--proxy-cpu 1] [--sipp-cpu 0] [--nice -10] [--flags "--overload-... ..."] [--step 5]
//   [--warm-up ladder|ramp|none] [--sustain on|off] [--recovery-caller same|new]
//   [--node-options '--cpu-prof --cpu-prof-dir=DIR'] (node's flags for the proxy; it is then stopped by SIGTERM)
//   (--warm-up ladder, the default: before each overload point, the capacity ladder's own steps
//   from 25 calls/s up to 0.6x capacity, 5 s each, not counted: the capacity was found on a proxy
//   that had climbed that ladder, and a pool started fresh needs that climb. On 0.15 core a fresh
//   process-pool given the older ramp (3 s each at 0.1, 0.2, 0.4 and 0.6x capacity) could not hold
//   149 calls/s for 16 s, a third of its ladder capacity; after the ladder's climb to 76 calls/s it
//   held it (bench-overload-2026-12-05e). --warm-up ramp keeps that older ramp, none offers the
//   overload at once, to a cold proxy.
//   --sustain on, the default: the capacity, from the ladder or given, is held for as long as an
//   overload point runs: a fresh proxy climbs the ladder to it, then 2 x --duration seconds at
//   that rate with control off; stepped down the ladder until >= 97% of those calls get their 200
//   within 500 ms (a 5 s step can pass a rate the proxy does not keep up for 16 s).
//   --recovery-caller same, the default: one SIPp caller offers both phases (its rate set through
//   its control port when the overload ends), so over TCP the 0.8x phase comes on the same
//   connection; new: a second caller for it, as before 2026-12-06b, whose new connection a pool's
//   supervisor may give to the other worker (then every response is handed over by IPC, and the
//   "recovery" measured a new placement as well, bench-overload-2026-12-06b).)
import { spawn, execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');

function parseArgs(argv) {
  const options = {
    models: 'event-loop,thread-pool,process-pool',
    transports: 'udp,tcp',
    overload: 'off,on',
    factors: '2,4,8',
    quota: '0.15',
    duration: '8',
    capacity: '',
    root: repo,
    repeat: '1',
    'proxy-cpu': '1',
    'sipp-cpu': '0',
    nice: '-10',
    flags: '',
    workers: '2',
    step: '5',
    'warm-up': 'ladder',
    sustain: 'on',
    'recovery-caller': 'same',
    'node-options': '',
  };
  for (let n = 2; n < argv.length; n++) {
    const key = argv[n].replace(/^--/, '');
    if (!(key in options)) throw new Error(`unknown option ${argv[n]}`);
    options[key] = argv[++n] ?? '';
  }
  return options;
}

const opts = parseArgs(process.argv);
const QUOTA = Number(opts.quota);
const DURATION = Number(opts.duration);
const STEP = Number(opts.step);
if (!['ladder', 'ramp', 'none'].includes(opts['warm-up'])) throw new Error(`--warm-up must be ladder, ramp or none, not ${opts['warm-up']}`);
if (opts.sustain !== 'on' && opts.sustain !== 'off') throw new Error(`--sustain must be on or off, not ${opts.sustain}`);
if (!['same', 'new'].includes(opts['recovery-caller'])) throw new Error(`--recovery-caller must be same or new, not ${opts['recovery-caller']}`);
/** The capacity ladder's rates: 25 calls/s, then x1.25 each step. */
const LADDER = [];
for (let rate = 25; rate <= 1200; rate = Math.round(rate * 1.25)) LADDER.push(rate);

/** The warm-up before a point at `rate` calls/s: [rate, seconds] steps, not counted (see --warm-up). */
function warmUpSteps(rate) {
  if (opts['warm-up'] === 'ladder') return LADDER.filter((step) => step <= 0.6 * rate).map((step) => [step, STEP]);
  if (opts['warm-up'] === 'ramp') return [0.1, 0.2, 0.4, 0.6].map((fraction) => [Math.max(1, Math.round(rate * fraction)), 3]);
  return [];
}

/** Offers each [rate, seconds] step in turn, not counted. */
async function offerSteps(point, transport, steps, tag) {
  for (const [step, seconds] of steps) await (await offer(point, transport, step, seconds, `${tag}-${step}`)).done;
}
const ROOT = path.resolve(opts.root);
const SCEN = path.join(repo, 'test/interop/scenarios');
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-overload-'));
const started = new Set();

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- cgroup (v1 cpu controller, or v2)
function makeGroup() {
  const v1 = '/sys/fs/cgroup/cpu';
  if (fs.existsSync(path.join(v1, 'cpu.cfs_quota_us'))) {
    const dir = path.join(v1, `switchboard-overload-${process.pid}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'cpu.cfs_period_us'), '100000');
    fs.writeFileSync(path.join(dir, 'cpu.cfs_quota_us'), String(Math.round(QUOTA * 100000)));
    return { dir, stat: () => fs.readFileSync(path.join(dir, 'cpu.stat'), 'utf8') };
  }
  const dir = `/sys/fs/cgroup/switchboard-overload-${process.pid}`;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'cpu.max'), `${Math.round(QUOTA * 100000)} 100000`);
  return { dir, stat: () => fs.readFileSync(path.join(dir, 'cpu.stat'), 'utf8') };
}
const group = makeGroup();

function cleanup() {
  for (const child of started) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {}
  }
  // The group can be removed once the killed processes have left it.
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      fs.rmdirSync(group.dir);
      return;
    } catch {
      execFileSync('sleep', ['0.1']);
    }
  }
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

function track(child) {
  started.add(child);
  child.once('exit', () => started.delete(child));
  return child;
}

async function kill(child, signal = 'SIGKILL', waitMs = 3000) {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    process.kill(child.pid, signal);
  } catch {}
  await Promise.race([exited, sleep(waitMs)]);
}

async function freePort() {
  for (;;) {
    const server = net.createServer();
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = server.address().port;
    const udp = dgram.createSocket('udp4');
    const free = await new Promise((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, '127.0.0.1', () => resolve(true));
    });
    await new Promise((resolve) => server.close(resolve));
    if (free) await new Promise((resolve) => udp.close(resolve));
    else continue;
    return port;
  }
}

// ---- processes
function sipp(args, cwd) {
  fs.mkdirSync(cwd, { recursive: true });
  return track(spawn('taskset', ['-c', opts['sipp-cpu'], 'nice', '-n', opts.nice, 'sipp', ...args, '-nostdin'], { cwd, stdio: 'ignore' }));
}

const sipTransport = (transport) => (transport === 'udp' ? 'u1' : 't1');

async function startPoint(model, transport, overload, redisUrl) {
  const uasPort = await freePort();
  const port = await freePort();
  const metricsPort = await freePort();
  const uas = sipp(['-sf', path.join(SCEN, 'uas-rr.xml'), '-i', '127.0.0.1', '-p', String(uasPort), '-t', sipTransport(transport), '-timeout', '600s', '-max_socket', '1000'], path.join(WORK, 'uas'));
  const modelArgs = ['--model', model];
  if (model !== 'event-loop') modelArgs.push('--workers', opts.workers);
  if (model === 'process-pool') modelArgs.push('--redis-url', redisUrl);
  const args = [
    path.join(ROOT, 'packages/cli/bin/switchboard.js'), 'serve', ...modelArgs,
    '--listen', `udp:127.0.0.1:${port}`, '--listen', `tcp:127.0.0.1:${port}`,
    '--default-route', `sip:127.0.0.1:${uasPort};transport=${transport}`,
    '--metrics', `127.0.0.1:${metricsPort}`,
    '--overload', overload, ...(overload === 'on' && opts.flags !== '' ? opts.flags.split(/\s+/) : []),
    '--log-level', 'info',
  ];
  const log = path.join(WORK, `proxy-${port}.log`);
  const out = fs.openSync(log, 'w');
  // The shell joins the cgroup first, so every process and thread the proxy starts is in it.
  const nodeOptions = opts['node-options'] === '' ? '' : ` ${opts['node-options']}`;
  const script = `echo $$ > ${group.dir}/cgroup.procs && exec taskset -c ${opts['proxy-cpu']} nice -n ${opts.nice} node${nodeOptions} "$@"`;
  const proxy = track(spawn('sh', ['-c', script, 'sh', ...args], { stdio: ['ignore', out, out] }));
  fs.closeSync(out);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (fs.readFileSync(log, 'utf8').includes('"msg":"ready"')) break;
    if (proxy.exitCode !== null) throw new Error(`proxy exited: ${fs.readFileSync(log, 'utf8').slice(-2000)}`);
    await sleep(100);
  }
  await sleep(1000);
  return { uas, proxy, port, uasPort, metricsPort };
}

async function stopPoint(point) {
  // With --node-options (e.g. --cpu-prof) the proxy stops as asked, so that it writes what they ask for.
  if (opts['node-options'] !== '') await kill(point.proxy, 'SIGTERM', 10_000);
  await kill(point.proxy);
  await kill(point.uas);
}

/**
 * One SIPp caller at `rate` for `seconds`; resolves when it has ended (killed 6 s after its last
 * call is due). `then` ([rate, seconds]) keeps the same caller, so the same connection over TCP,
 * for a second phase: its rate is set through SIPp's control port (`cset rate`) when the first
 * phase ends.
 */
async function offer(point, transport, rate, seconds, tag, then) {
  const total = then === undefined ? seconds : seconds + then[1];
  const calls = Math.max(1, Math.round(rate * seconds + (then === undefined ? 0 : then[0] * then[1])));
  const controlPort = then === undefined ? undefined : await freePort();
  const dir = path.join(WORK, tag);
  const callerPort = await freePort();
  const startMs = Date.now();
  const caller = sipp([
    '-sf', path.join(SCEN, 'uac-rr.xml'), '-i', '127.0.0.1', '-p', String(callerPort), '-s', 'bob', '-key', 'target', `127.0.0.1:${point.uasPort}`,
    '-t', sipTransport(transport), '-r', String(rate), '-m', String(calls), '-l', '100000', '-trace_rtt', '-rtt_freq', '1',
    '-trace_stat', '-fd', '1', '-timeout', `${total + 12}s`, '-max_socket', '1000', `127.0.0.1:${point.port}`,
    ...(controlPort === undefined ? [] : ['-cp', String(controlPort)]),
  ], dir);
  const ended = new Promise((resolve) => caller.once('exit', resolve));
  const timer = setTimeout(() => void kill(caller), (total + 6) * 1000);
  let switchTimer;
  if (then !== undefined) {
    switchTimer = setTimeout(() => {
      const control = dgram.createSocket('udp4');
      control.send(`cset rate ${then[0]}`, controlPort, '127.0.0.1', () => control.close());
    }, seconds * 1000);
  }
  return { startMs, dir, done: ended.then(() => { clearTimeout(timer); clearTimeout(switchTimer); }) };
}

/** Call start times (ms since epoch) of the good calls (200 within `withinMs`, 4 s) of a caller started at `baseMs`. */
function goodStarts(dir, baseMs, withinMs = 4000) {
  const starts = [];
  for (const name of fs.readdirSync(dir)) {
    if (!name.endsWith('_rtt.csv')) continue;
    for (const line of fs.readFileSync(path.join(dir, name), 'utf8').split('\n')) {
      const [date, rtt] = line.split(';');
      const at = Number(date);
      const ms = Number(rtt);
      if (!Number.isFinite(at) || !Number.isFinite(ms) || date === '' || ms > withinMs) continue;
      // SIPp's Date_ms counts from its own start.
      starts.push(baseMs + at - ms);
    }
  }
  return starts;
}

/**
 * Calls SIPp created (its statistics file, a row a second), for the offered rate it really
 * reached: in all, or by `untilMs` (the last row written by then).
 */
function created(dir, untilMs = Infinity) {
  for (const name of fs.readdirSync(dir)) {
    if (!name.endsWith('_.csv')) continue;
    const lines = fs.readFileSync(path.join(dir, name), 'utf8').trim().split('\n');
    const header = lines[0].split(';');
    const column = header.indexOf('OutgoingCall(C)');
    const time = header.indexOf('CurrentTime');
    if (column < 0) continue;
    let count = 0;
    for (const line of lines.slice(1)) {
      const row = line.split(';');
      // CurrentTime: date, time and seconds since the epoch, tab-separated.
      const atMs = Number(row[time]?.split('\t').at(-1)) * 1000;
      if (Number.isFinite(atMs) && atMs > untilMs + 500) break;
      count = Number(row[column]);
    }
    return count;
  }
  return NaN;
}

/**
 * The proxy's CPU so far, read from its cgroup: `proxy_cpu_ms`, user and system time of every
 * process in it (/proc/PID/stat; a pool's threads are in their process's), of their main threads
 * alone (`proxy_main_thread_cpu_ms`: the rest is V8's compiler and garbage-collector threads,
 * libuv's pool and the thread-pool's workers), and the
 * quota's periods, all and throttled (cpu.stat): a phase whose periods were all throttled used its
 * whole quota. Absent when a reading fails.
 */
function groupCpu() {
  try {
    let cpuMs = 0;
    let mainMs = 0;
    for (const pid of fs.readFileSync(path.join(group.dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
      cpuMs += processCpuMs(pid);
      mainMs += processCpuMs(`${pid}/task/${pid}`);
    }
    const stat = Object.fromEntries(group.stat().trim().split('\n').map((line) => line.split(' ')));
    return { proxy_cpu_ms: cpuMs, proxy_main_thread_cpu_ms: mainMs, cfs_periods: Number(stat.nr_periods), cfs_throttled: Number(stat.nr_throttled), ...generatorCpu() };
  } catch {
    return {};
  }
}

const MS_PER_TICK = 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** User and system time of one process (or `PID/task/TID`, one thread) so far, in ms (/proc/.../stat counts clock ticks, 10 ms each here). */
function processCpuMs(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * MS_PER_TICK;
}

/** The generator's side: `sipp_cpu_ms`, the time of the SIPp processes running now (a caller that ended is not counted). */
function generatorCpu() {
  let sippMs = 0;
  for (const child of started) {
    try {
      if (fs.readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim() === 'sipp') sippMs += processCpuMs(child.pid);
    } catch {}
  }
  return { sipp_cpu_ms: sippMs };
}

/** The proxy's counters (/metrics, summed over its workers) and CPU (groupCpu) so far. */
async function metrics(point) {
  return { ...(await proxyCounters(point)), ...groupCpu() };
}

async function proxyCounters(point) {
  try {
    const text = await (await fetch(`http://127.0.0.1:${point.metricsPort}/metrics`, { signal: AbortSignal.timeout(3000) })).text();
    // Every counter (`switchboard_*_total`), summed over its labels (workers): what else the
    // proxy did beside the requests it took (responses, retransmissions, hand-offs ...).
    const pick = {};
    for (const line of text.split('\n')) {
      const match = /^switchboard_(\w+)_total(?:\{[^}]*\})? (\S+)$/.exec(line);
      if (match !== null) pick[match[1]] = (pick[match[1]] ?? 0) + Number(match[2]);
    }
    return pick;
  } catch {
    return {};
  }
}

async function capacity(model, transport, redisUrl) {
  const point = await startPoint(model, transport, 'off', redisUrl);
  let best = 0;
  try {
    // Warm-up (not counted): a fresh proxy's first seconds run cold code.
    await (await offer(point, transport, 20, 3, `warm-${model}-${transport}`)).done;
    // A step that fails is offered once more before the ladder ends: on 0.15 core one latency
    // spike of a pool still warming failed the process-pool at 61 calls/s over TCP (58.8 good).
    for (const rate of LADDER) {
      let passed = false;
      for (let attempt = 1; attempt <= 2 && !passed; attempt++) {
        const run = await offer(point, transport, rate, STEP, `cap-${model}-${transport}-${rate}-${attempt}`);
        await run.done;
        // Sustained, not absorbed: within 500 ms (under SIPp's first retransmission), since with a
        // 4 s allowance a 5 s step passes at up to about twice the rate the proxy can keep up with.
        const good = goodStarts(run.dir, run.startMs, 500).length / STEP;
        process.stderr.write(`  capacity ladder ${model} ${transport}: offered ${rate}/s -> good ${good.toFixed(1)}/s\n`);
        passed = good >= 0.97 * rate;
      }
      if (!passed) break;
      best = rate;
    }
  } finally {
    await stopPoint(point);
  }
  return best;
}

/**
 * Good calls a second (200 within 500 ms) of `rate` held for 2 x DURATION s, control off, on a
 * fresh proxy that first climbs the ladder to it (5 s per step, as the capacity was found).
 */
async function sustainedRun(model, transport, rate, redisUrl) {
  const point = await startPoint(model, transport, 'off', redisUrl);
  try {
    const tag = `sustain-${model}-${transport}-${rate}`;
    await offerSteps(point, transport, LADDER.filter((step) => step < rate).map((step) => [step, STEP]), `${tag}-climb`);
    const run = await offer(point, transport, rate, 2 * DURATION, tag);
    await run.done;
    return goodStarts(run.dir, run.startMs, 500).length / (2 * DURATION);
  } finally {
    await stopPoint(point);
  }
}

/** The highest ladder rate, at most `rate`, that a fresh proxy sustains for an overload point's length (0 if none). */
async function sustained(model, transport, rate, redisUrl) {
  for (const candidate of LADDER.filter((step) => step <= rate).reverse()) {
    const good = await sustainedRun(model, transport, candidate, redisUrl);
    process.stderr.write(`  sustained ${model} ${transport}: offered ${candidate}/s for ${2 * DURATION} s -> good ${good.toFixed(1)}/s\n`);
    if (good >= 0.97 * candidate) return candidate;
  }
  return 0;
}

/** One overload point: factor x capacity for DURATION s, then 0.8x for DURATION s. */
async function overloadPoint(model, transport, overload, factor, cap, redisUrl, repeat) {
  const point = await startPoint(model, transport, overload, redisUrl);
  try {
    const tag = `${model}-${transport}-${overload}-${factor}x-${repeat}`;
    await offerSteps(point, transport, warmUpSteps(cap), `${tag}-warm`);
    const before = opts['warm-up'] === 'none' ? {} : await metrics(point);
    const recoveryRate = cap * 0.8;
    // --recovery-caller same: one caller for both phases (a trunk stays up through an overload;
    // over TCP its connection stays on the worker it was given). new: a second caller for the
    // 0.8x phase, as before 2026-12-06b, whose new connection a pool may give to another worker.
    const sameCaller = opts['recovery-caller'] === 'same';
    const heavy = await offer(point, transport, cap * factor, DURATION, tag, sameCaller ? [recoveryRate, DURATION] : undefined);
    await sleep(DURATION * 1000);
    const endMs = heavy.startMs + DURATION * 1000;
    const during = await metrics(point);
    const light = sameCaller ? heavy : await offer(point, transport, recoveryRate, DURATION, `${tag}-recovery`);
    await Promise.all([heavy.done, light.done]);
    const after = await metrics(point);
    const good = goodStarts(heavy.dir, heavy.startMs).filter((at) => at < endMs).length;
    const offered = created(heavy.dir, sameCaller ? endMs : Infinity);
    // Per second of the 0.8x phase: good calls started in it over the calls offered in it.
    const perSecond = [];
    const starts = goodStarts(light.dir, light.startMs);
    for (let s = 0; s < DURATION - 1; s++) perSecond.push(starts.filter((at) => at >= endMs + s * 1000 && at < endMs + (s + 1) * 1000).length / recoveryRate);
    let recovered = perSecond.length;
    while (recovered > 0 && perSecond[recovered - 1] >= 0.9) recovered--;
    return {
      goodput: good / DURATION / cap,
      offeredPerSecond: offered / DURATION,
      recovery: recovered >= perSecond.length ? undefined : recovered,
      perSecond,
      counters: { before, during, after },
    };
  } finally {
    await stopPoint(point);
  }
}

function capacities() {
  const given = new Map();
  for (const item of opts.capacity.split(',').filter(Boolean)) {
    const [key, value] = item.split('=');
    given.set(key, Number(value));
  }
  return given;
}

function machineFacts() {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  let sippVersion = '';
  try {
    sippVersion = execFileSync('sipp', ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).match(/v[\d.]+/)?.[0] ?? '';
  } catch (error) {
    sippVersion = String(error.stdout ?? '').match(/v[\d.]+/)?.[0] ?? '';
  }
  return `${os.cpus().length} x ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, SIPp ${sippVersion}, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`;
}

async function main() {
  const models = opts.models.split(',');
  const transports = opts.transports.split(',');
  const modes = opts.overload.split(',');
  const factors = opts.factors.split(',').map(Number);
  const given = capacities();
  console.log(`# bench:overload ${new Date().toISOString()}`);
  console.log(`machine: ${machineFacts()}`);
  console.log(`proxy tree ${ROOT}; quota ${QUOTA} core on CPU ${opts['proxy-cpu']}, SIPp on CPU ${opts['sipp-cpu']}, nice ${opts.nice}; ${DURATION} s per phase; warm-up ${opts['warm-up']}${{ ladder: ` (the capacity ladder's steps up to 0.6x capacity, ${STEP} s each)`, ramp: ' (3 s each at 0.1, 0.2, 0.4, 0.6x capacity)', none: '' }[opts['warm-up']]}; flags with --overload on: ${opts.flags || '(defaults)'}`);
  const rows = [];
  let redis;
  try {
    if (models.includes('process-pool')) {
      const { startRedisServer } = await import(path.join(repo, 'packages/testkit/dist/redis-server.js'));
      redis = await startRedisServer(undefined, { cpus: opts['sipp-cpu'] });
    }
    for (const model of models) {
      for (const transport of transports) {
        const first = given.get(`${model}:${transport}`) ?? (await capacity(model, transport, redis?.url));
        const cap = opts.sustain === 'on' && first > 0 ? await sustained(model, transport, first, redis?.url) : first;
        console.log(`capacity ${model} ${transport}: ${cap} calls/s${opts.sustain === 'on' ? ` (sustained for ${2 * DURATION} s; ${given.has(`${model}:${transport}`) ? 'given' : 'ladder'} ${first})` : ''}`);
        if (cap <= 0) continue;
        for (const overload of modes) {
          for (let repeat = 1; repeat <= Number(opts.repeat); repeat++) {
            const cells = [];
            for (const factor of factors) {
              const result = await overloadPoint(model, transport, overload, factor, cap, redis?.url, repeat);
              console.log(JSON.stringify({ model, transport, overload, factor, cap, repeat, ...result, perSecond: result.perSecond.map((x) => Number(x.toFixed(2))) }));
              cells.push(result);
            }
            rows.push(`| ${model} | ${transport.toUpperCase()} | ${cap} | ${overload} | ${cells.map((c) => c.goodput.toFixed(2)).join(' | ')} | ${cells.map((c) => (c.recovery === undefined ? `>${DURATION - 1}` : String(c.recovery))).join(' / ')} |`);
          }
        }
      }
    }
  } finally {
    await redis?.stop();
  }
  console.log('');
  console.log(`| model | transport | capacity (calls/s) | --overload | ${opts.factors.split(',').map((f) => `${f}x`).join(' | ')} | recovery s (after ${opts.factors.split(',').map((f) => `${f}x`).join(' / ')}) |`);
  console.log(`| --- | --- | ---: | --- | ${opts.factors.split(',').map(() => '---:').join(' | ')} | ---: |`);
  for (const row of rows) console.log(row);
  console.log(`raw SIPp files: ${WORK}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
