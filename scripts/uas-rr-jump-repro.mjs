#!/usr/bin/env node
// `node scripts/uas-rr-jump-repro.mjs [--variant io-dispatch] [--calls 200] [--runs 1]`: the
// measurement behind test/interop/scenarios/uas-rr.xml's comment ("103 of 200 calls under load").
// Runs the hostile-input suite's call test (test/interop/hostile-input.test.ts, "calls in progress
// all complete while hostile input keeps coming": SIPp's uac-rr.xml, 200 calls at 100/s through
// the proxy to SIPp's uas-rr.xml, while scripts/lib/hostile-noise.mjs sends up to 5,000 malformed
// INVITEs) with two callees: uas-rr.xml as it is (a late INVITE retransmission absorbed, RFC 6026)
// and the same file with its former jump back to resend the 200 (`next` to a label before the 200's
// send, written to a temporary directory). Prints the calls each completed per run. Needs
// `npx tsc -b` (it uses the suites' harness). Bounded: SIPp runs under the harness' timeouts
// (60 s), every proxy, callee and Redis is stopped after its run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EVERY_VARIANT, SCENARIOS, freePort, prepareModel, runSipp, sippCalls, startProxy } from '../test/dist/interop/harness.js';
import { sendNoise } from './lib/hostile-noise.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : fallback;
};
const variant = EVERY_VARIANT.find((candidate) => candidate.name === option('variant', 'io-dispatch'));
if (variant === undefined) {
  console.error(`--variant: one of ${EVERY_VARIANT.map((candidate) => candidate.name).join(', ')}`);
  process.exit(2);
}
const calls = option('calls', '200');
const runs = Number(option('runs', '1'));

/** uas-rr.xml with the jump it had before 028af96: a late INVITE sends the 200 again. */
function withJump() {
  const current = fs.readFileSync(path.join(SCENARIOS, 'uas-rr.xml'), 'utf8');
  const absorbed = '<recv request="INVITE" optional="true"/>';
  const answer = '<send retrans="500">';
  if (!current.includes(absorbed) || !current.includes(answer)) throw new Error('uas-rr.xml changed: no late-INVITE recv or no 200 send to jump to');
  const jumping = current.replace(answer, `<label id="1"/>\n  ${answer}`).replace(absorbed, '<recv request="INVITE" optional="true" next="1"/>');
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'uas-rr-jump-')), 'uas-rr-jump.xml');
  fs.writeFileSync(file, jumping);
  return file;
}

async function callsCompleted(calleeScenario) {
  const model = await prepareModel(variant);
  const calleePort = await freePort();
  const proxy = await startProxy(['--default-route', `sip:127.0.0.1:${calleePort}`, '--header-timeout', '0.5', '--domain', 'example.com', ...model.args]);
  try {
    const callee = runSipp(['-sf', calleeScenario, '-i', '127.0.0.1', '-p', String(calleePort), '-t', 'u1']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const caller = runSipp(['-sf', 'uac-rr.xml', '-i', '127.0.0.1', '-p', '0', '-t', 'u1', '-key', 'target', `127.0.0.1:${calleePort}`, '-s', 'bob', '-m', calls, '-r', '100', `127.0.0.1:${proxy.udpPort}`]);
    let done = false;
    const noise = sendNoise(proxy.udpPort, 5000, { stopped: () => done });
    const result = await caller.done;
    done = true;
    await noise;
    callee.process.kill('SIGTERM');
    await callee.done;
    return sippCalls(result.output).successful;
  } finally {
    await proxy.stop();
    await model.stop();
  }
}

const jump = withJump();
console.log(`${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} CPUs, Linux ${os.release()}, Node ${process.version}; --model ${variant.name}, ${calls} calls per run`);
for (let run = 1; run <= runs; run++) {
  const jumping = await callsCompleted(jump);
  const absorbing = await callsCompleted('uas-rr.xml');
  console.log(`run ${run}: callee jumping back to resend its 200: ${jumping} of ${calls} calls completed; absorbing the late INVITE (uas-rr.xml): ${absorbing} of ${calls}`);
}
fs.rmSync(path.dirname(jump), { recursive: true, force: true });
