// What a new request shed over a TCP trunk costs the process that reads it, all in: the kernel's
// receive, Node's stream, the proxy's TcpTransport (framing, trunk detection, the read-yield) and
// OverloadControl.shedOnArrival (bench-overload-2026-12-06d README: the 8x trace suggests about
// 12 us a request, the JavaScript part measured apart at 1.35-3.0 us). A receiver pinned to CPU 1
// (nothing else there, no quota) reads SIPp-shaped INVITEs that a sender on CPU 0 writes over one
// connection at a fixed rate for a fixed time (a batch every --batch-ms, 1 by default, as SIPp's
// trunk; 100 gives the receiver what a throttled proxy finds after each 100 ms period), and:
//   read     TcpTransport only: every message framed and given to onMessage, which counts it;
//   drop     OverloadControl limiting at 1 new request a second, the 503 budget 0: every request
//            classified and dropped (a trunk's connection is not held);
//   reject   limiting at about 250 a second (what the 8x trace admitted): 250 a second go on
//            (counted, nothing more) and as many 503s are built and written back on the
//            connection (rejectionRate), the rest dropped; the sender reads the 503s (no ACKs).
// It prints the receiver's reads and its user and system CPU time per request received
// (process.cpuUsage over SECONDS, after --warm-up seconds from its first message). Bounded: each
// run ends within WARM-UP + SECONDS + 5 s. With --quota Q the receiver runs in a cgroup v1 CPU
// quota of Q core (as the proxy in bench:overload; needs root); shedding alone, it is seldom
// throttled at these rates. The sender sets TCP_NODELAY, as SIPp does, so each batch leaves at
// once: 1 ms batches give about a read per 3 messages at 2,900/s (before 2026-12-06e it did not,
// and reads carried 30-90 messages: see that experiment's README).
// Usage: node tcp-shed-cost.mjs [ROOT] [--rate 2900] [--seconds 5] [--rounds 3] [--modes read,drop,reject] [--quota 0.15] [--batch-ms 1] [--warm-up 1]
import { spawn } from 'node:child_process';
import { mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { invite } from './sipp-invite.mjs';

const self = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);


const CGROUP = '/sys/fs/cgroup/cpu/sbshedcost';

async function receiver(root, mode, seconds, warmUpSeconds) {
  const load = (file) => import(pathToFileURL(path.join(root, file)).href);
  const { TcpTransport } = await load('packages/core/dist/transport/tcp-transport.js');
  const { OverloadControl, DEFAULT_OVERLOAD_SETTINGS } = await load('packages/core/dist/overload/overload-control.js');
  const { newProxyCounters } = await load('packages/core/dist/proxy/proxy-counters.js');
  const counters = newProxyCounters();
  let transport;
  const sender = { send: (target, bytes, onError) => transport.send(target, bytes, onError) };
  const control = new OverloadControl({ ...DEFAULT_OVERLOAD_SETTINGS, rejectRate: mode === 'drop' ? 0 : 10_000 }, counters, sender);
  const detector = control.detector;
  if (mode !== 'read') {
    // Limiting, with a measured rate: 1 a second (drop) or about 250 (reject); the detector's
    // timer is not started, so nothing changes it during the run.
    for (let n = 0; n < 3; n++) detector.update(1, 0, 100);
    for (let n = 0; n < (mode === 'drop' ? 40 : 31); n++) detector.noteNewWork(mode !== 'drop');
    for (let n = 0; n < 40; n++) detector.noteNewWork(false);
    detector.update(1, 0, 100);
    if (mode === 'drop') for (let n = 0; n < 60; n++) detector.update(1, 0, 100);
  }
  let count = 0;
  let reads = 0;
  let readsBefore = 0;
  let admitted = 0;
  let started;
  let counted = 0;
  let admittedBefore = 0;
  let before = counters;
  let finish;
  transport = new TcpTransport({
    host: '127.0.0.1',
    port: 0,
    idleTimeoutMs: 60_000,
    headerTimeoutMs: 10_000,
    onMessage: (bytes, source) => {
      if (count++ === 0) {
        // The first --warm-up seconds warm up (the JIT compiles the path): measured from then on.
        setTimeout(() => {
          started = process.cpuUsage();
          counted = count;
          readsBefore = reads;
          admittedBefore = admitted;
          before = { ...counters };
          setTimeout(finish, seconds * 1000);
        }, warmUpSeconds * 1000);
      }
      if (mode === 'read') return;
      if (!control.shedOnArrival(bytes, source)) admitted++;
    },
    onRead: () => {
      reads++;
    },
  });
  const { port } = await transport.listen();
  process.stdout.write(`${JSON.stringify({ port })}\n`);
  finish = () => {
    const used = process.cpuUsage(started);
    const measured = count - counted;
    process.stdout.write(
      `${JSON.stringify({ mode, rate: detector.admittedRate, count: measured, reads: reads - readsBefore, admitted: admitted - admittedBefore, rejected: counters.overloadRejected - before.overloadRejected, dropped: counters.overloadDropped - before.overloadDropped, userUs: used.user / measured, systemUs: used.system / measured })}\n`,
    );
    process.exit(0);
  };
}

async function sender(port, rate, seconds, batchMs) {
  // seconds: the receiver's warm-up and measurement, and one more so it never runs dry.
  // No Nagle, as SIPp (TCP_NODELAY): each batch leaves at once, not behind the receiver's delayed ACK.
  const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.on('data', () => {});
  socket.on('error', () => {});
  const start = performance.now();
  let sent = 0;
  const tick = () => {
    const elapsed = (performance.now() - start) / 1000;
    if (elapsed >= seconds + 1) return socket.destroy();
    const due = Math.floor(elapsed * rate);
    let batch = '';
    while (sent < due) batch += invite(sent++);
    if (batch.length > 0) socket.write(batch);
    setTimeout(tick, batchMs);
  };
  tick();
}

function option(name, fallback) {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
}

async function main() {
  const root = args[0] !== undefined && !args[0].startsWith('--') ? path.resolve(args[0]) : path.resolve(path.dirname(self), '../..');
  const rate = Number(option('rate', '2900'));
  const seconds = Number(option('seconds', '5'));
  const rounds = Number(option('rounds', '3'));
  const batchMs = Number(option('batch-ms', '1'));
  const warmUp = Number(option('warm-up', '1'));
  const modes = option('modes', 'read,drop,reject').split(',');
  const quota = option('quota', undefined) === undefined ? undefined : Number(option('quota'));
  if (quota !== undefined) {
    mkdirSync(CGROUP, { recursive: true });
    writeFileSync(`${CGROUP}/cpu.cfs_period_us`, '100000');
    writeFileSync(`${CGROUP}/cpu.cfs_quota_us`, String(Math.round(quota * 100_000)));
  }
  try {
  for (let round = 1; round <= rounds; round++) {
    for (const mode of modes) {
      const command = ['taskset', '-c', '1', process.execPath, self, 'receiver', root, mode, String(seconds), String(warmUp)];
      const receiving =
        quota === undefined
          ? spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] })
          : spawn('sh', ['-c', `echo $$ > ${CGROUP}/cgroup.procs && exec "$@"`, 'sh', ...command], { stdio: ['ignore', 'pipe', 'inherit'] });
      const killer = setTimeout(() => receiving.kill('SIGKILL'), (warmUp + seconds + 5) * 1000);
      let port;
      let result;
      receiving.stdout.setEncoding('utf8');
      let buffered = '';
      const ended = new Promise((resolve) => receiving.once('exit', resolve));
      receiving.stdout.on('data', (chunk) => {
        buffered += chunk;
        for (let at = buffered.indexOf('\n'); at >= 0; at = buffered.indexOf('\n')) {
          const line = JSON.parse(buffered.slice(0, at));
          buffered = buffered.slice(at + 1);
          if (line.port !== undefined) {
            port = line.port;
            spawn('taskset', ['-c', '0', process.execPath, self, 'sender', String(port), String(rate), String(warmUp + seconds), String(batchMs)], { stdio: 'inherit' });
          } else result = line;
        }
      });
      await ended;
      clearTimeout(killer);
      if (result === undefined) console.log(JSON.stringify({ round, mode, error: 'no result' }));
      else console.log(`round ${round} ${mode.padEnd(6)} ${result.count} received in ${result.reads} reads, ${result.admitted} admitted, ${result.rejected} 503s, ${result.dropped} dropped: user ${result.userUs.toFixed(2)} us + system ${result.systemUs.toFixed(2)} us = ${(result.userUs + result.systemUs).toFixed(2)} us a request`);
    }
  }
  } finally {
    if (quota !== undefined) rmdirSync(CGROUP);
  }
}

if (args[0] === 'receiver') await receiver(args[1], args[2], Number(args[3]), Number(args[4]));
else if (args[0] === 'sender') await sender(Number(args[1]), Number(args[2]), Number(args[3]), Number(args[4]));
else await main();
