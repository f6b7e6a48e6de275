import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { createTestCertificates, type TestCertificates } from '@switchboard/testkit/certificates';
import { freePort, IO_DISPATCH_VARIANT, prepareModel, proxyCounter, runSipp, sippCalls, startProxy, type RunningProxy } from '../interop/harness.js';
import { startStunnel } from '../interop/tls-peers.js';

/**
 * `--model io-dispatch` (issue 16 item 6) with real SIPp and redis-server: one I/O process reads
 * UDP, TCP and TLS (TLS ends there) and dispatches every message to the least-loaded of two worker
 * processes, which share transactions in Redis and hand back the bytes to write. Calls over each
 * transport complete, both workers take messages, no write is dropped; a worker killed is replaced
 * while the connections it read from stay open (the I/O process holds them). The hostile-input
 * suite runs against io-dispatch too (test/interop/hostile-input.test.ts).
 */

const OPTIONS = (port: number, branch: string): string =>
  [
    `OPTIONS sip:127.0.0.1:${port};transport=tcp SIP/2.0`,
    `Via: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK-iod-${branch}`,
    'Max-Forwards: 70',
    'From: <sip:probe@example.com>;tag=p1',
    `To: <sip:127.0.0.1:${port}>`,
    `Call-ID: iod-probe-${branch}`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');

/** The first response on `socket` to what `write` sends (its status line). */
async function answer(socket: net.Socket, bytes: string): Promise<string> {
  const data = once(socket, 'data') as Promise<[Buffer]>;
  socket.write(bytes);
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer in 10 s')), 10_000).unref());
  const [chunk] = await Promise.race([data, timeout]);
  return chunk.toString('latin1').split('\r\n')[0] ?? '';
}

async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Worker pids from the proxy's `worker started` log lines (`--log-level debug`), last first per slot. */
function workerPids(proxy: RunningProxy): Map<number, number> {
  const pids = new Map<number, number>();
  for (const line of proxy.lines) {
    const entry = JSON.parse(line) as { msg?: string; kind?: string; worker?: number; pid?: number };
    if (entry.kind === 'worker-started' && entry.worker !== undefined && entry.pid !== undefined) pids.set(entry.worker, entry.pid);
  }
  return pids;
}

describe('SIPp through --model io-dispatch --transactions shared: UDP, TCP, TLS, a worker killed', { concurrency: false, timeout: 180_000 }, () => {
  let model: { args: string[]; stop(): Promise<void> };
  let certs: TestCertificates;
  let proxy: RunningProxy;
  let metrics: number;
  const counter = (name: string, worker?: string): Promise<number> => proxyCounter(metrics, worker === undefined ? `switchboard_${name}` : `switchboard_${name}{worker="${worker}"}`);

  before(async () => {
    certs = await createTestCertificates();
    model = await prepareModel(IO_DISPATCH_VARIANT);
    metrics = await freePort();
    proxy = await startProxy(
      ['--listen', 'tls:127.0.0.1:0', '--tls-cert', certs.server.certFile, '--tls-key', certs.server.keyFile, '--tls-ca', certs.ca.certFile, '--domain', 'example.com', '--metrics', `127.0.0.1:${metrics}`, '--log-level', 'debug', ...model.args],
      20_000,
    );
  });
  after(async () => {
    assert.equal(await proxy.stop(), 0, 'the I/O process stops gracefully and exits 0 on SIGTERM');
    await model.stop();
    await certs.remove();
  });

  async function calls(transport: 'u1' | 't1', count: number): Promise<void> {
    const calleePort = await freePort();
    const target = `127.0.0.1:${calleePort}${transport === 't1' ? ';transport=tcp' : ''}`;
    const callee = runSipp(['-sf', 'uas-rr.xml', '-i', '127.0.0.1', '-p', String(calleePort), '-t', transport]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const caller = runSipp(['-sf', 'uac-rr.xml', '-i', '127.0.0.1', '-p', '0', '-t', transport, '-key', 'target', target, '-s', 'bob', '-m', String(count), '-r', '40', '-l', '100', `127.0.0.1:${transport === 't1' ? proxy.tcpPort : proxy.udpPort}`]);
    const result = await caller.done;
    callee.process.kill('SIGTERM');
    const screens = `caller:\n${result.output.slice(-3000)}\ncallee:\n${(await callee.done).output.slice(-2000)}`;
    assert.equal(result.code, 0, screens);
    assert.equal(sippCalls(result.output).successful, count, screens);
  }

  test('record-routed calls over UDP: all complete; both workers take messages; responses go to the worker of their branch', async () => {
    await calls('u1', 60);
    await until(async () => (await counter('io_messages_dispatched_total', 'supervisor')) >= 60 * 6, 'the dispatch counters');
    assert.ok((await counter('io_messages_received_total', '0')) > 0, 'worker 0 took messages');
    assert.ok((await counter('io_messages_received_total', '1')) > 0, 'worker 1 took messages');
    assert.ok((await counter('io_responses_routed_by_branch_total', 'supervisor')) >= 60 * 2, 'the 180 and 200 of every INVITE, at least');
    assert.ok((await counter('io_bytes_written_total', 'supervisor')) > 0);
    assert.equal(await counter('io_writes_dropped_total'), 0);
    assert.equal(await counter('internal_errors_total'), 0);
    assert.equal(await counter('state_store_failures_total'), 0);
    assert.equal(await counter('fd_requests_total'), 0, 'no fd passing at all');
    const text = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
    assert.match(text, /^switchboard_io_queue_depth\{worker="0"\} \d+$/m, 'the queue depth of each worker');
    assert.match(text, /^switchboard_io_queue_depth\{worker="1"\} \d+$/m);
  });

  test('record-routed calls over TCP, one connection per side (-t t1): all complete, every connection held by the I/O process', async () => {
    await calls('t1', 60);
    assert.ok((await counter('tcp_connections_accepted_total', 'supervisor')) >= 1);
    assert.ok((await counter('tcp_connections_opened_total', 'supervisor')) >= 1, 'the I/O process opened the connection to the callee');
    assert.equal((await counter('tcp_connections_accepted_total', '0')) + (await counter('tcp_connections_accepted_total', '1')), 0, 'workers hold no connection');
    assert.equal(await counter('io_writes_dropped_total'), 0);
    assert.equal(await counter('internal_errors_total'), 0);
  });

  test('calls over TLS (stunnel in front of SIPp, a TLS connection per call): TLS ends in the I/O process', async () => {
    const CALLS = 10;
    const [callerSide, calleeSide, calleePort] = [await freePort(), await freePort(), await freePort()];
    const stunnel = await startStunnel([
      { name: 'caller', client: true, accept: callerSide, connect: proxy.tlsPort, certFile: certs.client.certFile, keyFile: certs.client.keyFile, caFile: certs.ca.certFile },
      { name: 'callee', client: false, accept: calleeSide, connect: calleePort, certFile: certs.server.certFile, keyFile: certs.server.keyFile, caFile: certs.ca.certFile },
    ]);
    try {
      const contact = `sips:bob@127.0.0.1:${calleeSide}`;
      const register = runSipp(['-sf', 'register-contact.xml', '-i', '127.0.0.1', '-p', '0', '-t', 'u1', '-key', 'domain', 'example.com', '-key', 'contact', contact, '-s', 'bob', '-m', '1', `127.0.0.1:${proxy.udpPort}`], 20);
      assert.equal((await register.done).code, 0, 'REGISTER of the sips: contact answered 200');
      const callee = runSipp(['-sf', 'uas-rr-contact.xml', '-i', '127.0.0.1', '-p', String(calleePort), '-t', 't1', '-key', 'contact', contact, '-m', String(CALLS)], 40);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const caller = runSipp(['-sf', 'uac-rr.xml', '-i', '127.0.0.1', '-p', '0', '-t', 'tn', '-key', 'target', 'example.com', '-s', 'bob', '-m', String(CALLS), '-r', '10', '-l', '10', `127.0.0.1:${callerSide}`], 40);
      const result = await caller.done;
      const calleeResult = await callee.done;
      assert.equal(result.code, 0, `caller:\n${result.output.slice(-3000)}\n${stunnel.log().slice(-2000)}`);
      assert.equal(sippCalls(result.output).successful, CALLS);
      assert.equal(calleeResult.code, 0, `callee:\n${calleeResult.output.slice(-3000)}`);
      await until(async () => (await counter('tls_handshakes_total', 'supervisor')) >= CALLS, 'a server handshake per call in the I/O process');
      assert.ok((await counter('tls_client_handshakes_total', 'supervisor')) >= 1, 'the I/O process was the TLS client toward the callee');
      assert.equal((await counter('tls_handshakes_total', '0')) + (await counter('tls_handshakes_total', '1')), 0, 'no worker holds a TLS session');
    } finally {
      await stunnel.stop();
    }
  });

  test('a worker killed is replaced; a TCP connection it was reading from stays open and is served; calls go on', async () => {
    const socket = net.connect(proxy.tcpPort, '127.0.0.1');
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    try {
      assert.equal(await answer(socket, OPTIONS(proxy.tcpPort, 'before')), 'SIP/2.0 200 OK');
      const before = workerPids(proxy);
      const victim = before.get(0);
      assert.ok(victim !== undefined, `worker 0's pid in the log:\n${proxy.lines.slice(-5).join('\n')}`);
      process.kill(victim, 'SIGKILL');
      await until(() => workerPids(proxy).get(0) !== victim, 'worker 0 replaced');
      await until(async () => (await proxyCounter(metrics, 'switchboard_worker_restarts_total')) >= 1, 'the restart counted');
      // Both workers answer on the connection opened before the kill (each message goes to either).
      for (const round of ['after-1', 'after-2', 'after-3']) assert.equal(await answer(socket, OPTIONS(proxy.tcpPort, round)), 'SIP/2.0 200 OK', round);
      assert.equal(socket.destroyed, false, 'the connection stayed open');
      await calls('u1', 20);
    } finally {
      socket.destroy();
    }
  });
});
