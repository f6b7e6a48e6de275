#!/usr/bin/env node
// `node scripts/stop-at-ready.mjs [--model thread-pool] [--workers 2] [--stops 200]`: starts
// `switchboard serve` (UDP and TCP on 127.0.0.1, port 0) again and again and sends it SIGTERM as
// soon as it logs `ready`; prints how each stop ended (exit code or signal) and the tally. The
// measurement behind docs/architecture.md's "stopped right after ready" figures for the
// thread-pool (SIGABRT in 2 of 180 stops before threads waited for epoll to register the shared
// listening fd, 0 of 200 after). With `--busy-metrics` every serve is given a `--metrics` port
// that is taken, so its start fails after the model started and it closes the model (expected:
// `exit 1`). Bounded: each serve is killed (SIGKILL) 15 s after its start if it has not stopped,
// and counted as `hung`.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : fallback;
};
const model = option('model', 'thread-pool');
const workers = option('workers', '2');
const stops = Number(option('stops', '200'));
const busyMetrics = args.includes('--busy-metrics');
const taken = busyMetrics ? net.createServer() : undefined;
if (taken !== undefined) await new Promise((resolve) => taken.listen(0, '127.0.0.1', resolve));
const metricsArgs = taken === undefined ? [] : ['--metrics', `127.0.0.1:${taken.address().port}`];
const bin = fileURLToPath(new URL('../packages/cli/bin/switchboard.js', import.meta.url));

function stopOnce() {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, 'serve', '--model', model, '--workers', workers, '--listen', 'udp:127.0.0.1:0', '--listen', 'tcp:127.0.0.1:0', '--domain', 'stop.test', ...metricsArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let signalled = false;
    const hung = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (!signalled && /"msg":"ready"/.test(output)) {
        signalled = true;
        child.kill('SIGTERM');
      }
    });
    child.stderr.on('data', () => {});
    child.on('exit', (code, signal) => {
      clearTimeout(hung);
      if (busyMetrics) resolve(signal === 'SIGKILL' ? 'hung' : signal ?? `exit ${code}`);
      else resolve(!signalled ? `exited before ready (${signal ?? code})` : signal === 'SIGKILL' ? 'hung' : signal !== null ? signal : `exit ${code}`);
    });
  });
}

const tally = new Map();
for (let stop = 1; stop <= stops; stop++) {
  const outcome = await stopOnce();
  tally.set(outcome, (tally.get(outcome) ?? 0) + 1);
  if (outcome !== (busyMetrics ? 'exit 1' : 'exit 0')) console.log(`stop ${stop}: ${outcome}`);
}
taken?.close();
console.log(`${model}, ${workers} workers, ${stops} ${busyMetrics ? 'failed starts (busy --metrics port)' : 'stops at ready'}: ${[...tally].map(([outcome, count]) => `${outcome} ${count}`).join(', ')}`);
