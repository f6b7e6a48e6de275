import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_TIMERS } from '@switchboard/core';
import { ThreadPool, type ProxySettings, type WorkerStats } from '@switchboard/cluster';
import { parseMessage, type SipMessage } from '@switchboard/sip';
import { freePort, MODEL_VARIANTS, prepareModel, proxyCounter, runSipp, sippCalls, startProxy, type RunningProxy } from '../interop/harness.js';

/**
 * `--transactions shared` (issue 16 step 2) over the wire: a retransmission read by another
 * thread is answered from the SharedArrayBuffer table, and SIPp calls (record-routed over UDP and
 * TCP, failed, cancelled) complete through the thread-pool (SAB) and the process-pool (Redis), with
 * no response handed from worker to worker.
 */

const settings: ProxySettings = {
  listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }],
  domains: ['example.com'],
  stateless: false,
  idleTimeoutMs: 120_000,
  idleStrategy: 'heap',
  headerTimeoutMs: 10_000,
  timers: DEFAULT_TIMERS,
  state: 'sab',
  transactions: 'shared',
};

function invite(port: number, method = 'INVITE'): Buffer {
  return Buffer.from(
    [
      `${method} sip:nobody@example.com SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-shared-${process.pid}`,
      'Max-Forwards: 70',
      'From: <sip:alice@example.com>;tag=a1',
      'To: <sip:nobody@example.com>',
      `Call-ID: shared-${process.pid}`,
      `CSeq: 1 ${method}`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A counter summed over the workers only (not the thread-pool's parent nor the process-pool's supervisor). */
async function workersCounter(metricsPort: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) || line.includes('worker="parent"') || line.includes('worker="supervisor"')) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const worker = (stats: WorkerStats[], name: string): WorkerStats | undefined => stats.find((own) => own.worker === name);

test('thread-pool, --transactions shared: a retransmission read by the other thread is answered from the SAB table; the ACK reaches the lease holder', { timeout: 30_000 }, async () => {
  const pool = await ThreadPool.start({ settings, workers: 2 });
  const socket = dgram.createSocket('udp4');
  const responses: Array<{ message: SipMessage; bytes: Buffer }> = [];
  socket.on('message', (bytes) => responses.push({ message: parseMessage(bytes), bytes }));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const local = socket.address().port;
  const send = (bytes: Buffer): void => void socket.send(bytes, pool.listeners[0]?.port ?? 0, '127.0.0.1');
  try {
    // The parent deals requests round the threads: thread 0 gets the INVITE, thread 1 its retransmission.
    send(invite(local));
    await until(() => responses.some((response) => response.message.status === 404), 'the 404');
    send(invite(local));
    await until(() => responses.filter((response) => response.message.status === 404).length === 2, 'the replayed 404');
    const finals = responses.filter((response) => response.message.status === 404);
    assert.deepEqual(finals[1]?.bytes, finals[0]?.bytes, 'the stored 404, byte for byte');
    let stats = await pool.stats();
    assert.equal(worker(stats, '1')?.core?.sharedRetransmissionsReplayed, 1, 'thread 1 answered from the store');
    assert.equal(worker(stats, '1')?.core?.serverTransactions, 0);
    assert.equal(worker(stats, '0')?.core?.serverTransactions, 1);
    // Thread 0 reads the next request, thread 1 the ACK: it hands it to the lease holder (thread 0).
    send(invite(local));
    send(invite(local, 'ACK'));
    await until(async () => (worker(await pool.stats(), '0')?.model?.handOffsReceived ?? 0) === 1, 'the ACK handed to thread 0');
    stats = await pool.stats();
    assert.equal(worker(stats, '0')?.core?.retransmissionsAbsorbed, 2, 'the local retransmission and the ACK');
    assert.equal(worker(stats, '1')?.model?.handOffsSent, 1);
    assert.equal(worker(stats, '0')?.model?.handOffsSent, 0);
    assert.equal(worker(stats, '0')?.core?.transactionTimeouts, 0);
  } finally {
    socket.close();
    await pool.close();
  }
});

const SHARED_VARIANTS = MODEL_VARIANTS.filter((variant) => variant.name !== 'event-loop');

for (const variant of SHARED_VARIANTS) {
  describe(`SIPp through --model ${variant.name} --transactions shared`, { concurrency: false, timeout: 180_000 }, () => {
    let model: { args: string[]; stop(): Promise<void> };
    let proxy: RunningProxy;
    let calleePort: number;
    let metricsPort: number;
    before(async () => {
      model = await prepareModel(variant);
      calleePort = await freePort();
      metricsPort = await freePort();
      // --t1 1000, as in shared-failover.test.ts: on a loaded machine a proxy that has not taken the
      // callee's 180 within 500 ms retransmits the INVITE (timer A); SIPp's callee, which has
      // answered already, aborts that call and so stops one call early, leaving the caller's last
      // call unanswered (a 408 at timer B). Seen once in the TCP case here.
      proxy = await startProxy(['--default-route', `sip:127.0.0.1:${calleePort}`, '--transactions', 'shared', '--t1', '1000', '--metrics', `127.0.0.1:${metricsPort}`, ...model.args], 20_000);
    });
    after(async () => {
      assert.equal(await proxy.stop(), 0, 'the proxy exits 0 on SIGTERM');
      await model.stop();
    });
    // `handOffs`: whether a message of these calls may still be handed to another worker (the ACK
    // of a failure, a CANCEL: to their INVITE's lease holder). A response never is.
    const cases = [
      { name: 'record-routed calls', caller: 'uac-rr.xml', callee: 'uas-rr.xml', calls: 60, transport: 'u1', handOffs: false },
      { name: 'record-routed calls, the caller over TCP', caller: 'uac-rr.xml', callee: 'uas-rr.xml', calls: 30, transport: 't1', handOffs: false },
      { name: 'a callee that answers 486 (ACK of the failure)', caller: 'uac-failure.xml', callee: 'uas-failure.xml', calls: 20, transport: 'u1', handOffs: true },
      { name: 'CANCEL before answer', caller: 'uac-cancel.xml', callee: 'uas-cancel.xml', calls: 20, transport: 'u1', handOffs: true },
    ];
    for (const scenario of cases) {
      test(`${scenario.name}: ${scenario.calls} calls, all succeed, transactions claimed in the store, no response handed off`, async () => {
        const claimsBefore = await proxyCounter(metricsPort, 'switchboard_transaction_store_round_trips_total');
        const handOffsBefore = await workersCounter(metricsPort, 'switchboard_hand_offs_sent_total');
        // The callee is on UDP (the default route): over TCP, a response read by a worker that does not own the caller's connection is written on it from there (an fd request in the process-pool).
        const callee = runSipp(['-sf', scenario.callee, '-i', '127.0.0.1', '-p', String(calleePort), '-t', 'u1', '-m', String(scenario.calls)]);
        await new Promise((resolve) => setTimeout(resolve, 300));
        const port = scenario.transport === 't1' ? proxy.tcpPort : proxy.udpPort;
        const caller = runSipp(['-sf', scenario.caller, '-i', '127.0.0.1', '-p', '0', '-t', scenario.transport, '-key', 'target', `127.0.0.1:${calleePort}`, '-s', 'bob', '-m', String(scenario.calls), '-r', '50', '-l', '200', `127.0.0.1:${port}`]);
        const result = await caller.done;
        // The caller's verdict is the test's (the callee's exit code is flaky under load in owned mode too).
        callee.process.kill('SIGKILL');
        await callee.done;
        const calls = sippCalls(result.output);
        assert.equal(result.code, 0, `caller failed (${calls.successful} ok, ${calls.failed} failed):\n${result.output.slice(-3000)}`);
        assert.equal(calls.successful, scenario.calls);
        const claims = (await proxyCounter(metricsPort, 'switchboard_transaction_store_round_trips_total')) - claimsBefore;
        assert.ok(claims >= scenario.calls, `at least a claim per INVITE (${claims})`);
        // Responses are handled where they are read (shared-responses.ts): none is handed off. The
        // workers' hand-off counter counts every message a worker handed another (requests
        // included); the thread-pool's parent counts each datagram it deals to a thread, and the
        // process-pool's supervisor each hand-off it relays, under their own labels.
        assert.equal(await proxyCounter(metricsPort, 'switchboard_shared_response_hand_offs_total'), 0, 'no response handed off');
        if (!scenario.handOffs) assert.equal((await workersCounter(metricsPort, 'switchboard_hand_offs_sent_total')) - handOffsBefore, 0, 'no message handed off');
        assert.equal(await proxyCounter(metricsPort, 'switchboard_internal_errors_total'), 0);
        assert.equal(await proxyCounter(metricsPort, 'switchboard_state_store_failures_total'), 0);
      });
    }
  });
}
