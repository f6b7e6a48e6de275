import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';
import { startRedisServer } from '@switchboard/testkit/redis-server';
import { parseMessage, type SipMessage } from '@switchboard/sip';
import { freePort, runSipp, sippCalls, startProxy } from '../interop/harness.js';
import { childPids } from './test-phones.js';

/**
 * Redis killed while shared transactions are in flight (issue 16), end to end: the process-pool
 * with `--state redis --transactions shared` under SIPp calls over UDP at a modest rate; the
 * testkit's redis-server is SIGKILLed mid-run and a new one started on the same port. New requests
 * get 503 with Retry-After while it is down, the calls in flight fail cleanly (no crash, no hang:
 * both workers stay up, SIPp accounts for every call, no internal error), and service resumes once
 * Redis is back. The store-level behaviour (fail fast and coded, the same client reconnecting)
 * and the in-process proxy's 503 are tested in packages/cluster/src/state/redis-outage.test.ts.
 */

const CALLS = 80;
const RATE = 20;
const CALLS_AFTER = 20;

/** A REGISTER over UDP (retransmitted every 500 ms, as a UAC does); resolves with its final response. */
async function register(proxyPort: number, cseq: number, limitMs = 4000): Promise<SipMessage> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const port = socket.address().port;
  const bytes = Buffer.from(
    [
      'REGISTER sip:example.com SIP/2.0',
      `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-outage-${process.pid}-${cseq}`,
      'Max-Forwards: 70',
      `From: <sip:probe@example.com>;tag=p${cseq}`,
      'To: <sip:probe@example.com>',
      `Call-ID: outage-probe-${process.pid}`,
      `CSeq: ${cseq} REGISTER`,
      `Contact: <sip:probe@127.0.0.1:${port}>`,
      'Expires: 60',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
  try {
    return await new Promise<SipMessage>((resolve, reject) => {
      const send = (): void => socket.send(bytes, proxyPort, '127.0.0.1');
      const resend = setInterval(send, 500);
      const timer = setTimeout(() => {
        clearInterval(resend);
        reject(new Error(`no final response to REGISTER ${cseq} in ${limitMs} ms`));
      }, limitMs);
      socket.on('message', (raw) => {
        const message = parseMessage(raw);
        if ((message.status ?? 0) < 200) return;
        clearInterval(resend);
        clearTimeout(timer);
        resolve(message);
      });
      send();
    });
  } finally {
    socket.close();
  }
}

async function metric(metricsPort: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

test('Redis killed while shared transactions are in flight (process-pool, UDP SIPp): 503 with Retry-After, calls fail cleanly, workers stay up, service resumes on a restarted Redis', { timeout: 90_000 }, async (t) => {
  const redis = await startRedisServer();
  const calleePort = await freePort();
  const metricsPort = await freePort();
  const proxy = await startProxy(['--default-route', `sip:127.0.0.1:${calleePort}`, '--domain', 'example.com', '--model', 'process-pool', '--workers', '2', '--redis-url', redis.url, '--state', 'redis', '--transactions', 'shared', '--metrics', `127.0.0.1:${metricsPort}`], 20_000);
  const callee = runSipp(['-sf', 'uas-rr.xml', '-i', '127.0.0.1', '-p', String(calleePort), '-t', 'u1'], 40);
  let caller: ReturnType<typeof runSipp> | undefined;
  try {
    const workers = (await childPids(proxy.process.pid as number)).sort((a, b) => a - b);
    assert.equal(workers.length, 2);
    let cseq = 1;
    assert.equal((await register(proxy.udpPort, cseq++)).status, 200, 'Redis up: registered');
    await new Promise((resolve) => setTimeout(resolve, 300));

    caller = runSipp(['-sf', 'uac-rr.xml', '-i', '127.0.0.1', '-p', '0', '-t', 'u1', '-key', 'target', `127.0.0.1:${calleePort}`, '-s', 'bob', '-m', String(CALLS), '-r', String(RATE), '-recv_timeout', '3000', `127.0.0.1:${proxy.udpPort}`], 30);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await redis.kill();

    // New requests while Redis is down: 503 with a Retry-After, quickly (the store call is cut at 2 s).
    const started = Date.now();
    const down = await register(proxy.udpPort, cseq++);
    assert.equal(down.status, 503, `Redis down: ${down.status} ${down.reason}`);
    assert.match(down.header('retry-after') ?? '', /^\d+$/, 'a Retry-After');
    assert.ok(Date.now() - started < 4000);
    await new Promise((resolve) => setTimeout(resolve, 1000));

    await redis.restart();
    const deadline = Date.now() + 15_000;
    for (;;) {
      const back = await register(proxy.udpPort, cseq++).catch(() => undefined);
      if (back?.status === 200) break;
      assert.ok(Date.now() < deadline, `still ${back?.status ?? 'no answer'} 15 s after Redis returned`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }

    // The calls of the outage ended (no hang): SIPp accounts for each, some failed (with 503s).
    const during = await caller.done;
    const duringCalls = sippCalls(during.output);
    t.diagnostic(`through the outage: ${duringCalls.successful} of ${CALLS} calls completed, ${duringCalls.failed} failed`);
    assert.equal(duringCalls.successful + duringCalls.failed, CALLS, `every call ended:\n${during.output.slice(-3000)}`);
    assert.ok(duringCalls.failed > 0, 'the outage failed some calls');
    assert.ok(duringCalls.successful > 0, 'calls before the outage completed');
    assert.match(during.output, /SIP\/2\.0 503/, 'SIPp received 503s');

    // Service resumed: every new call completes.
    caller = runSipp(['-sf', 'uac-rr.xml', '-i', '127.0.0.1', '-p', '0', '-t', 'u1', '-key', 'target', `127.0.0.1:${calleePort}`, '-s', 'bob', '-m', String(CALLS_AFTER), '-r', String(RATE), '-recv_timeout', '3000', `127.0.0.1:${proxy.udpPort}`], 30);
    const after = await caller.done;
    const afterCalls = sippCalls(after.output);
    assert.equal(afterCalls.successful, CALLS_AFTER, `after Redis returned:\n${after.output.slice(-3000)}`);

    // No crash: the same two workers, none replaced, no internal error; the outage was counted.
    assert.deepEqual((await childPids(proxy.process.pid as number)).sort((a, b) => a - b), workers, 'the same workers');
    assert.equal(await metric(metricsPort, 'switchboard_worker_restarts_total'), 0);
    assert.equal(await metric(metricsPort, 'switchboard_internal_errors_total'), 0);
    assert.ok((await metric(metricsPort, 'switchboard_state_store_failures_total')) > 0, 'store failures counted');
    assert.ok(!proxy.lines.some((line) => line.includes('"worker-exited"')), 'no worker exited');
  } finally {
    caller?.process.kill('SIGKILL');
    callee.process.kill('SIGKILL');
    await callee.done;
    assert.equal(await proxy.stop(), 0, 'the proxy stops cleanly');
    await redis.stop();
  }
});
