import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { freePort, MODEL_VARIANTS, prepareModel, proxyCounter, startProxy, type RunningProxy } from '../interop/harness.js';
import { checkConnectionCap } from './connection-cap.js';
import { childPids, fdCount, registerMany, sipRequest, TcpPhone, UdpClient } from './test-phones.js';
import { waitFor } from './wait-for.js';

/**
 * The process-pool's capacity: messages not held behind handle transfers, the supervisor that
 * releases its handles (writes relayed through the owner), thousands of held connections, and
 * connections past the open-file limit or --max-connections refused cleanly and counted. Real
 * proxy processes, a real redis-server.
 */

const processPool = MODEL_VARIANTS.find((variant) => variant.name === 'process-pool');
if (processPool === undefined) throw new Error('no process-pool variant');
const BIN = fileURLToPath(new URL('../../../packages/cli/bin/switchboard.js', import.meta.url));

/** MESSAGEs over UDP to registered users, retransmitted every 500 ms until answered (a UAC does so every T1). */
async function messagesAnswered(client: UdpClient, proxyPort: number, users: readonly string[], perUser: number, ms: number): Promise<Map<string, number>> {
  const sent = new Map<string, Buffer>();
  for (const user of users) {
    for (let i = 0; i < perUser; i++) {
      const callId = `cap-${user}-${i}-${Math.random().toString(36).slice(2)}`;
      const bytes = sipRequest('MESSAGE', `sip:${user}@example.com`, { via: client.via, callId });
      sent.set(callId, bytes);
      client.send(proxyPort, bytes);
    }
  }
  let lastResend = Date.now();
  await waitFor(() => {
    const missing = [...sent.keys()].filter((id) => !client.finals.has(id));
    if (missing.length > 0 && Date.now() - lastResend > 500) {
      lastResend = Date.now();
      for (const id of missing) client.send(proxyPort, sent.get(id) as Buffer);
    }
    return missing.length === 0;
  }, `${sent.size} MESSAGEs answered`, ms);
  return new Map([...sent.keys()].map((id) => [id, client.finals.get(id) as number]));
}

describe('process-pool capacity', { concurrency: false, timeout: 600_000 }, () => {
  let model: { args: string[]; stop(): Promise<void> };
  before(async () => {
    model = await prepareModel(processPool);
  });
  after(async () => {
    await model.stop();
  });

  test('--supervisor-handles release: responses written by a worker that does not own the connection go through the owner; the supervisor holds none', async () => {
    const metricsPort = await freePort();
    const proxy = await startProxy(['--domain', 'example.com', '--supervisor-handles', 'release', '--metrics', `127.0.0.1:${metricsPort}`, ...model.args], 60_000);
    const client = new UdpClient();
    await client.open();
    let phones: TcpPhone[] = [];
    try {
      const supervisorFds = await fdCount(proxy.process.pid as number);
      ({ phones } = await registerMany(proxy.tcpPort, 40, 'rel'));
      assert.equal(phones.length, 40);
      // Each MESSAGE is read by whichever worker the UDP socket gives it to, and sent on a phone's
      // connection that one of the two owns: about half are written through the other worker.
      const finals = await messagesAnswered(client, proxy.udpPort, phones.map((_, i) => `rel${i}`), 5, 30_000);
      assert.ok([...finals.values()].every((status) => status === 200), JSON.stringify([...finals.values()]));
      assert.ok((await proxyCounter(metricsPort, 'switchboard_tcp_relays_received_total')) > 0, 'writes were relayed to the owner');
      assert.equal(await proxyCounter(metricsPort, 'switchboard_fd_requests_total'), 0, 'no handle was asked for');
      assert.ok((await fdCount(proxy.process.pid as number)) < supervisorFds + 10, 'the supervisor keeps no handle of the 40 connections');
      // In-dialog: a phone's requests answered too, after the relays.
      const again = await registerMany(proxy.tcpPort, 10, 'rel-again');
      assert.equal(again.phones.length, 10);
      phones.push(...again.phones);
    } finally {
      for (const phone of phones) phone.close();
      client.close();
      assert.equal(await proxy.stop(), 0);
    }
  });

  test('3,000 connections held over six source addresses, each registered (200); the proxy stays healthy', async () => {
    const metricsPort = await freePort();
    const proxy = await startProxy(['--domain', 'example.com', '--supervisor-handles', 'release', '--metrics', `127.0.0.1:${metricsPort}`, ...model.args], 60_000);
    const client = new UdpClient();
    await client.open();
    let phones: TcpPhone[] = [];
    try {
      const sources = Array.from({ length: 6 }, (_, i) => `127.0.0.${i + 2}`);
      const result = await registerMany(proxy.tcpPort, 3000, 'held', sources, 250);
      phones = result.phones;
      assert.equal(phones.length, 3000, `${result.refused} not registered`);
      const workers = await childPids(proxy.process.pid as number);
      const workerFds = await Promise.all(workers.map((pid) => fdCount(pid)));
      assert.ok(workerFds.reduce((sum, fds) => sum + fds, 0) >= 3000, `the workers hold the connections: ${workerFds.join(', ')}`);
      assert.ok((await fdCount(proxy.process.pid as number)) < 200, 'the supervisor holds none of them');
      assert.ok(phones.every((phone) => !phone.socket.destroyed), 'every connection still open');
      // Still serving: requests to held phones and new registrations.
      const finals = await messagesAnswered(client, proxy.udpPort, ['held0', 'held1', 'held1500', 'held2999'], 2, 20_000);
      assert.ok([...finals.values()].every((status) => status === 200));
      const late = await registerMany(proxy.tcpPort, 5, 'late');
      assert.equal(late.phones.length, 5);
      phones.push(...late.phones);
      assert.equal(await proxyCounter(metricsPort, 'switchboard_connections_refused_total'), 0);
    } finally {
      for (const phone of phones) phone.close();
      client.close();
      assert.equal(await proxy.stop(), 0);
    }
  });

  test('--max-connections: past the cap new connections are reset and counted, held ones keep working, and room frees up as they close', async () => {
    const metricsPort = await freePort();
    const proxy = await startProxy(['--domain', 'example.com', '--max-connections', '60', '--metrics', `127.0.0.1:${metricsPort}`, ...model.args], 60_000);
    try {
      await checkConnectionCap(proxy.tcpPort, metricsPort, 'switchboard_connections_refused_total', 60, 40);
    } finally {
      assert.equal(await proxy.stop(), 0);
    }
  });

  for (const handles of ['keep', 'release'] as const) {
    test(`at the open-file limit (prlimit --nofile=150, --supervisor-handles ${handles}): connections past it are refused and counted, no crash, no flood of errors, service resumes`, async () => {
      const metricsPort = await freePort();
      const port = await freePort();
      const child = spawn('prlimit', ['--nofile=150:150', process.execPath, BIN, 'serve', '--listen', `udp:127.0.0.1:${port}`, '--listen', `tcp:127.0.0.1:${port}`, '--domain', 'example.com', '--supervisor-handles', handles, '--metrics', `127.0.0.1:${metricsPort}`, ...model.args], { stdio: ['ignore', 'pipe', 'pipe'] });
      const lines: string[] = [];
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));
      let phones: TcpPhone[] = [];
      try {
        await waitFor(() => lines.some((line) => line.includes('"ready"')), 'ready', 60_000);
        const limit = JSON.parse(lines.find((line) => line.includes('"file limit"')) ?? '{}') as { openFiles?: { soft?: number } };
        assert.equal(limit.openFiles?.soft, 150, 'the limit is said at start');
        // A refused connection is closed at once; one that gets through is answered (10 s is plenty).
        const attempt = await registerMany(port, 400, 'lim', ['127.0.0.1'], 100, 10_000);
        phones = attempt.phones;
        assert.ok(attempt.refused > 0 && phones.length > 50, `registered ${phones.length}, refused ${attempt.refused}`);
        assert.equal(child.exitCode, null, 'still running');
        const errors = lines.filter((line) => line.includes('listener-error'));
        assert.ok(errors.length <= 40, `${errors.length} listener errors logged: rate-limited, not a flood`);
        for (const phone of phones) phone.close();
        phones = [];
        await waitFor(async () => (await registerMany(port, 1, 'after')).phones.length === 1, 'service after the connections closed', 30_000);
        // Read now: at the limit the metrics listener could not accept either (and in ci-s133, with
        // the supervisor's handles kept, not at once after the one registration above: it is
        // asked again until it answers).
        let refused = 0;
        await waitFor(async () => {
          try {
            refused = (await proxyCounter(metricsPort, 'switchboard_connections_refused_total')) + (await proxyCounter(metricsPort, 'switchboard_tcp_connections_refused_total'));
            return true;
          } catch {
            return false;
          }
        }, 'the metrics listener answering', 30_000);
        assert.ok(refused > 0, 'refusals counted');
      } finally {
        for (const phone of phones) phone.close();
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
        assert.equal(await exited, 0, lines.slice(-5).join('\n'));
        clearTimeout(timer);
      }
    });
  }
});
