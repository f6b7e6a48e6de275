#!/usr/bin/env node
// `npm run bench:redis-cluster`: what a Redis Cluster costs the proxy against one redis-server.
// For each store (one redis-server, or a six-node cluster: three masters, three replicas) and
// each repeat (order rotated): `switchboard serve --model process-pool --workers 2` with the
// store, bob registered at a SIPp callee, then SIPp calls to bob@example.com (a location lookup
// per INVITE) at a fixed rate for a fixed time. The proxy's process tree and the store's
// processes run on --proxy-cpus (taskset), SIPp on --generator-cpus. Reported per call: CPU of
// the proxy tree and of the Redis processes (user + system, /proc), the mean call-setup time
// (SIPp response time 1, INVITE to 200) and the proxy's mean state-store call time (its
// switchboard_state_store_seconds histogram). The tree's CPU over an idle window of the same
// length is measured too and subtracted for the marginal figures. A benchmark, not a test.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startRedisServer } from '../packages/testkit/dist/redis-server.js';
import { startRedisCluster } from '../packages/testkit/dist/redis-cluster.js';
import { treeCpuTimes } from '../packages/lab/dist/process-cpu.js';
import { freePort, stop } from '../packages/lab/dist/sipp-ladder.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BIN = join(ROOT, 'packages/cli/bin/switchboard.js');
const SCENARIOS = join(ROOT, 'test/interop/scenarios');

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '10' },
    repeats: { type: 'string', default: '2' },
    'proxy-cpus': { type: 'string', default: '1' },
    'generator-cpus': { type: 'string', default: '0' },
  },
});
// A signal ends the run through process.exit, so the testkit's exit hooks kill the Redis nodes.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(1));
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const proxyCpus = values['proxy-cpus'];
const generatorCpus = values['generator-cpus'];

const pinned = (cpus, command, args) => (cpus === '' ? [command, args] : ['taskset', ['-c', cpus, command, ...args]]);

function sipp(args, cpus) {
  const child = spawn(...pinned(cpus, 'sipp', [...args, '-nostdin', '-max_socket', '1000']), { stdio: ['ignore', 'ignore', 'ignore'], cwd: SCENARIOS });
  const done = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, done };
}

async function startServe(redisUrl, metricsPort) {
  const child = spawn(...pinned(proxyCpus, process.execPath, [BIN, 'serve', '--listen', 'udp:127.0.0.1:0', '--domain', 'example.com', '--model', 'process-pool', '--workers', '2', '--redis-url', redisUrl, '--metrics', `127.0.0.1:${metricsPort}`]), { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`switchboard exited with ${code}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const entry = JSON.parse(line);
      if (entry.msg === 'ready') resolve(Number(entry.listeners.find((l) => l.startsWith('udp:')).split(':').pop()));
    });
  });
  return { child, port };
}

async function storeLatency(metricsPort) {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  let sum = 0;
  let count = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('switchboard_state_store_seconds_sum')) sum += Number(line.split(' ').pop());
    if (line.startsWith('switchboard_state_store_seconds_count')) count += Number(line.split(' ').pop());
  }
  return { sum, count };
}

async function cpu(pids) {
  const all = await Promise.all(pids.map((pid) => treeCpuTimes(pid).catch(() => ({ userMs: 0, systemMs: 0 }))));
  return all.reduce((total, t) => total + t.userMs + t.systemMs, 0);
}

async function measure(kind, repeat) {
  const store = kind === 'cluster' ? await startRedisCluster({ cpus: proxyCpus }) : await startRedisServer(undefined, { cpus: proxyCpus });
  const redisPids = kind === 'cluster' ? store.nodes.map((node) => node.pid) : [store.pid];
  const metricsPort = await freePort();
  const serve = await startServe(store.url, metricsPort);
  const calleePort = await freePort();
  const callee = sipp(['-sf', 'uas-rr.xml', '-i', '127.0.0.1', '-p', String(calleePort), '-t', 'u1'], generatorCpus);
  try {
    const registered = sipp(['-sf', 'register.xml', '-i', '127.0.0.1', '-p', '0', '-t', 'u1', '-key', 'domain', 'example.com', '-key', 'contact_port', String(calleePort), '-s', 'bob', '-m', '1', `127.0.0.1:${serve.port}`], generatorCpus);
    if ((await registered.done) !== 0) throw new Error('bob did not register');
    const calls = async (secs, statsFile) => {
      const run = sipp(['-sf', 'uac-rr.xml', '-i', '127.0.0.1', '-p', '0', '-t', 'u1', '-key', 'target', 'example.com', '-s', 'bob', '-r', String(rate), '-m', String(rate * secs), '-l', String(rate * 4), '-recv_timeout', '5000', '-timeout', `${secs + 40}s`, ...(statsFile ? ['-trace_stat', '-stf', statsFile, '-fd', '1'] : []), `127.0.0.1:${serve.port}`], generatorCpus);
      await run.done;
    };
    await calls(3);
    // Idle for as long as the window: what the tree burns without calls (timers, the cluster bus),
    // subtracted so the figures are the marginal cost of a call.
    const idleProxyBefore = await cpu([serve.child.pid]);
    const idleRedisBefore = await cpu(redisPids);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const idleProxy = (await cpu([serve.child.pid])) - idleProxyBefore;
    const idleRedis = (await cpu(redisPids)) - idleRedisBefore;
    const dir = await mkdtemp(join(tmpdir(), 'bench-redis-cluster-'));
    const statsFile = join(dir, 'stats.csv');
    const proxyBefore = await cpu([serve.child.pid]);
    const redisBefore = await cpu(redisPids);
    const latencyBefore = await storeLatency(metricsPort);
    await calls(seconds, statsFile);
    const proxyAfter = await cpu([serve.child.pid]);
    const redisAfter = await cpu(redisPids);
    const latencyAfter = await storeLatency(metricsPort);
    const rows = (await readFile(statsFile, 'utf8')).trim().split('\n');
    await rm(dir, { recursive: true, force: true });
    const header = rows[0].split(';');
    const last = rows[rows.length - 1].split(';');
    const column = (name) => last[header.indexOf(name)];
    const successful = Number(column('SuccessfulCall(C)'));
    const failed = Number(column('FailedCall(C)'));
    const [h, m, s, us = 0] = column('ResponseTime1(C)').split(':').map(Number);
    return {
      kind,
      repeat,
      successful,
      failed,
      proxyMicrosPerCall: ((proxyAfter - proxyBefore) * 1000) / successful,
      redisMicrosPerCall: ((redisAfter - redisBefore) * 1000) / successful,
      proxyIdleMsPerSecond: idleProxy / seconds,
      redisIdleMsPerSecond: idleRedis / seconds,
      proxyMarginalMicrosPerCall: ((proxyAfter - proxyBefore - idleProxy) * 1000) / successful,
      redisMarginalMicrosPerCall: ((redisAfter - redisBefore - idleRedis) * 1000) / successful,
      callSetupMs: (h * 3600 + m * 60 + s) * 1000 + us / 1000,
      storeCallMs: ((latencyAfter.sum - latencyBefore.sum) * 1000) / Math.max(1, latencyAfter.count - latencyBefore.count),
      storeCalls: latencyAfter.count - latencyBefore.count,
    };
  } finally {
    callee.child.kill('SIGTERM');
    await stop(serve.child);
    await store.stop();
  }
}

const samples = [];
for (let repeat = 0; repeat < Number(values.repeats); repeat++) {
  for (const kind of repeat % 2 === 0 ? ['single', 'cluster'] : ['cluster', 'single']) {
    const sample = await measure(kind, repeat);
    samples.push(sample);
    console.error(JSON.stringify(sample));
  }
}
const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
console.log(`${rate} calls/s for ${seconds} s, ${values.repeats} repeats; proxy (process-pool, 2 workers) and Redis on CPUs ${proxyCpus}, SIPp on ${generatorCpus}; medians:`);
console.log('| store | proxy CPU µs/call (marginal) | Redis CPU µs/call (marginal) | idle CPU ms/s proxy / Redis | call setup ms | store call ms | calls ok/failed |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const kind of ['single', 'cluster']) {
  const of = samples.filter((s) => s.kind === kind);
  const pick = (key) => median(of.map((s) => s[key]));
  console.log(`| ${kind === 'single' ? 'one redis-server' : 'Redis Cluster (3 masters + 3 replicas)'} | ${pick('proxyMicrosPerCall').toFixed(0)} (${pick('proxyMarginalMicrosPerCall').toFixed(0)}) | ${pick('redisMicrosPerCall').toFixed(0)} (${pick('redisMarginalMicrosPerCall').toFixed(0)}) | ${pick('proxyIdleMsPerSecond').toFixed(1)} / ${pick('redisIdleMsPerSecond').toFixed(1)} | ${pick('callSetupMs').toFixed(2)} | ${pick('storeCallMs').toFixed(3)} | ${of.map((s) => `${s.successful}/${s.failed}`).join(', ')} |`);
}
