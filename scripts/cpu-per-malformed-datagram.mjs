#!/usr/bin/env node
// `node scripts/cpu-per-malformed-datagram.mjs [--variants "event-loop,process-pool --transactions
//   shared,io-dispatch"] [--count 5000] [--proxy-cpu 0] [--sender-cpu 1]`: the proxy's CPU per
// malformed UDP request, per model as the interop suites run it (test/interop/harness.ts's
// variants, 2 workers; needs `npx tsc -b`; a benchmark, not a test). The datagrams are the
// hostile-input test's noise (scripts/lib/hostile-noise.mjs: malformed INVITEs, each answered 400,
// up to 5,000/s) from one socket on --sender-cpu; the proxy runs on --proxy-cpu (taskset). CPU is
// the user+system time of the proxy's whole process tree (every process and thread, from
// /proc/PID/stat) from the first datagram to 1 s after the last, less the same tree's CPU over an
// idle interval as long (its timers and stats); Redis (on --sender-cpu where a variant needs it)
// is not counted. Prints one line per variant and the machine facts. Bounded: each serve is
// stopped (SIGTERM, then SIGKILL after 8 s) after its datagrams and the idle interval, and its
// Redis with it. The measurement behind docs/architecture.md's CPU per malformed datagram in
// the io-dispatch section (first taken by hand at stop 35: 80, 128 and 212 µs).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { EVERY_VARIANT, prepareModel, startProxy } from '../test/dist/interop/harness.js';
import { sendNoise } from './lib/hostile-noise.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : fallback;
};
const names = option('variants', 'event-loop,process-pool --transactions shared,io-dispatch').split(',');
const variants = names.map((name) => EVERY_VARIANT.find((variant) => variant.name === name) ?? fail(`no variant "${name}"; one of: ${EVERY_VARIANT.map((variant) => variant.name).join(', ')}`));
const count = Number(option('count', '5000'));
const proxyCpu = option('proxy-cpu', '0');
const senderCpu = option('sender-cpu', '1');
const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** Moves this process to `cpus`; what it spawns next inherits them (the proxy, Redis). */
const runOn = (cpus) => execFileSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' });

function fail(message) {
  console.error(message);
  process.exit(2);
}

/** The fields of /proc/PID/stat after the command name (state first), or undefined once it ended. */
function statFields(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Every process id in the tree under `root` (itself included), from /proc's parent links. */
function processTree(root) {
  const children = new Map();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(entry);
    if (fields !== undefined) {
      const parent = Number(fields[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    }
  }
  const tree = [];
  for (const queue = [root]; queue.length > 0; ) {
    const pid = queue.shift();
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** User+system CPU seconds of the process tree under `root` (every thread of every process). */
function treeCpuSeconds(root) {
  let ticks = 0;
  for (const pid of processTree(root)) {
    const fields = statFields(pid);
    if (fields !== undefined) ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (stat fields 14, 15)
  }
  return ticks / TICKS_PER_SECOND;
}

async function measure(variant) {
  runOn(senderCpu);
  const model = await prepareModel(variant);
  runOn(proxyCpu);
  const proxy = await startProxy(['--domain', 'noise.test', ...model.args]).catch(async (error) => {
    await model.stop();
    throw error;
  });
  runOn(senderCpu);
  const root = proxy.process.pid;
  try {
    await sleep(2000); // past start-up's JIT and first stats
    const startCpu = treeCpuSeconds(root);
    const started = process.hrtime.bigint();
    await sendNoise(proxy.udpPort, count);
    await sleep(1000); // what is still queued is handled

    const busySeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const busyCpu = treeCpuSeconds(root) - startCpu;
    // The same tree idle for as long: what its timers cost without the noise.
    const idleStart = treeCpuSeconds(root);
    await sleep(busySeconds * 1000);
    const idleCpu = treeCpuSeconds(root) - idleStart;
    return { seconds: busySeconds, cpuSeconds: busyCpu, idleCpuSeconds: idleCpu, microsecondsPerDatagram: ((busyCpu - idleCpu) / count) * 1e6 };
  } finally {
    await proxy.stop();
    await model.stop();
  }
}

console.log(`${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} CPUs, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}, Node ${process.version}; proxy on CPU ${proxyCpu}, sender on CPU ${senderCpu}; ${count} malformed INVITEs per variant`);
for (const variant of variants) {
  const result = await measure(variant);
  console.log(`${variant.name}: ${result.microsecondsPerDatagram.toFixed(0)} µs of proxy CPU per datagram (${result.cpuSeconds.toFixed(2)} s busy, ${result.idleCpuSeconds.toFixed(2)} s idle over ${result.seconds.toFixed(1)} s)`);
}
