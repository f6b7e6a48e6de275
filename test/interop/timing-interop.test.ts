import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { analyseCapture, startLoopbackCapture } from '@switchboard/lab';
import { freePort, runSipp, sippCalls, startProxy } from './harness.js';

/**
 * E9's measurement end to end: real SIPp calls through `serve --timing`, the per-type service-time
 * histograms on /metrics and the sampled trace, and the proxy's loopback traffic captured by real
 * tcpdump and matched into residence times. Without permission to capture (not root, no
 * CAP_NET_RAW) or without tcpdump, the capture half is skipped and says why.
 */

const CALLS = 40;

function histogramCount(text: string, type: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith('switchboard_message_service_seconds_count{') && candidate.includes(`type="${type}"`));
  return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('--timing: service-time histograms per message type on /metrics, a trace, and residence times from a loopback capture', { timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'switchboard-timing-'));
  const traceFile = join(dir, 'trace.jsonl');
  const pcapFile = join(dir, 'proxy.pcap');
  const calleePort = await freePort();
  const metricsPort = await freePort();
  const proxy = await startProxy(['--default-route', `sip:127.0.0.1:${calleePort}`, '--timing', '--timing-trace', traceFile, '--timing-sample', '1', '--metrics', `127.0.0.1:${metricsPort}`]);
  let capture: Awaited<ReturnType<typeof startLoopbackCapture>> | undefined;
  let noCapture: string | undefined;
  try {
    try {
      capture = await startLoopbackCapture(pcapFile, proxy.udpPort);
    } catch (error) {
      noCapture = (error as Error).message;
    }
    const callee = runSipp(['-sf', 'uas-rr.xml', '-i', '127.0.0.1', '-p', String(calleePort), '-t', 'u1', '-m', String(CALLS)]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const caller = runSipp(['-sf', 'uac-rr.xml', '-i', '127.0.0.1', '-p', '0', '-t', 'u1', '-key', 'target', `127.0.0.1:${calleePort}`, '-s', 'bob', '-m', String(CALLS), '-r', '20', `127.0.0.1:${proxy.udpPort}`]);
    const callerResult = await caller.done;
    assert.equal(callerResult.code, 0, `caller: ${sippCalls(callerResult.output).failed} failed\n${callerResult.output.slice(-2000)}`);
    await callee.done;

    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    for (const type of ['INVITE', '180', '200', 'ACK', 'BYE', '200-BYE']) assert.ok(histogramCount(metrics, type) >= CALLS, `${type}: ${histogramCount(metrics, type)} observations`);
    assert.match(metrics, /switchboard_message_service_seconds_bucket\{worker="0",type="INVITE",le="0\.0001"\} \d+/);
    await capture?.stop();
    capture = undefined;
  } finally {
    await capture?.stop();
    assert.equal(await proxy.stop(), 0);
  }

  // The trace is flushed when the proxy stops: every message of every call, with its steps.
  const traces = (await readFile(traceFile, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { kind: string; callId: string; serviceUs: number; steps: unknown[]; sends: number[] });
  const invites = traces.filter((trace) => trace.kind === 'INVITE');
  assert.ok(invites.length >= CALLS);
  for (const invite of invites) {
    assert.ok(invite.serviceUs > 0 && invite.steps.length > 0 && invite.sends.length === 2, JSON.stringify(invite));
  }

  if (noCapture !== undefined) {
    t.skip(`no loopback capture: ${noCapture}`);
  } else {
    const analysis = await analyseCapture(pcapFile, proxy.udpPort, 1);
    const byKind = new Map<string, number>();
    for (const residence of analysis.residences) byKind.set(residence.kind, (byKind.get(residence.kind) ?? 0) + 1);
    // INVITE, 180, 200, ACK, BYE and its 200 each arrive and leave once per call.
    for (const kind of ["INVITE", "180", "200", "ACK", "BYE", "200-BYE"]) assert.ok((byKind.get(kind) ?? 0) >= CALLS, `${kind}: ${byKind.get(kind) ?? 0} residences (${JSON.stringify([...byKind])}, unmatched ${analysis.unmatched}, messages ${analysis.messages}, skipped ${analysis.skipped}) in ${pcapFile}`);
    for (const residence of analysis.residences) assert.ok(residence.residenceUs >= 0);
  }
  if (process.env.KEEP_TIMING_CAPTURE === undefined) await rm(dir, { recursive: true, force: true });
});
