import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { MODEL_VARIANTS, prepareModel, proxyCounter, runSipp, sippCalls, startProxy, freePort, type RunningProxy } from '../interop/harness.js';
import { childPids, fdCount, sipRequest, TcpPhone, UdpClient, workerPidsBySlot } from './test-phones.js';
import { waitFor } from './wait-for.js';

/**
 * The process-pool's failure behaviour: no fd leak, no deadlock between supervisor and workers,
 * and a worker that dies is replaced while the other calls go on. Real proxy processes, a real
 * redis-server, real SIPp.
 */

const processPool = MODEL_VARIANTS.find((variant) => variant.name === 'process-pool');
if (processPool === undefined) throw new Error('no process-pool variant');

async function totalFds(proxy: RunningProxy): Promise<number> {
  const pids = [proxy.process.pid as number, ...(await childPids(proxy.process.pid as number))];
  const counts = await Promise.all(pids.map((pid) => fdCount(pid).catch(() => 0)));
  return counts.reduce((sum, count) => sum + count, 0);
}

/** Sends MESSAGEs over UDP to a registered user under many Call-IDs, so both workers write to its connection. */
async function messagesThrough(client: UdpClient, proxyPort: number, user: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const callId = `m-${user}-${i}-${Math.random().toString(36).slice(2)}`;
    ids.push(callId);
    const bytes = sipRequest('MESSAGE', `sip:${user}@example.com`, { via: client.via, callId });
    sent.set(callId, { bytes, port: proxyPort });
    client.send(proxyPort, bytes);
  }
  return ids;
}

/** What was sent, to retransmit what a flood made the kernel drop (a UAC does so every T1). */
const sent = new Map<string, { bytes: Buffer; port: number }>();

async function answered(client: UdpClient, ids: readonly string[], what: string, ms: number): Promise<void> {
  let lastResend = Date.now();
  await waitFor(() => {
    const missing = ids.filter((id) => !client.finals.has(id));
    if (missing.length > 0 && Date.now() - lastResend > 500) {
      lastResend = Date.now();
      for (const id of missing) {
        const original = sent.get(id);
        if (original !== undefined) client.send(original.port, original.bytes);
      }
    }
    return missing.length === 0;
  }, what, ms);
}

describe('process-pool under faults', { concurrency: false, timeout: 240_000 }, () => {
  let model: { args: string[]; stop(): Promise<void> };
  before(async () => {
    model = await prepareModel(processPool);
  });
  after(async () => {
    await model.stop();
  });

  test('fd counts return to baseline after 10,000 connections come and go (fd cache on, handles passed both ways)', async () => {
    const proxy = await startProxy(['--domain', 'example.com', '--fd-cache', '8', ...model.args]);
    const client = new UdpClient();
    await client.open();
    try {
      // Warm up every path once (accept, register, cross-worker writes), then take the baseline.
      const warm = await TcpPhone.connect(proxy.tcpPort);
      assert.equal(await warm.register('warm', 'example.com'), 200);
      const warmIds = await messagesThrough(client, proxy.udpPort, 'warm', 4);
      await answered(client, warmIds, 'warm-up MESSAGEs answered', 5000);
      warm.close();
      await new Promise((resolve) => setTimeout(resolve, 500));
      const baseline = await totalFds(proxy);

      const TOTAL = 10_000;
      const BATCH = 100;
      for (let start = 0; start < TOTAL; start += BATCH) {
        await Promise.all(
          Array.from({ length: BATCH }, async (_, offset) => {
            const index = start + offset;
            const phone = await TcpPhone.connect(proxy.tcpPort);
            try {
              assert.equal(await phone.register(`u${index}`, 'example.com'), 200);
              if (index % 100 === 0) {
                // Requests read by either worker for a phone one of them owns: fd requests, cache.
                const ids = await messagesThrough(client, proxy.udpPort, `u${index}`, 4);
                await answered(client, ids, `MESSAGEs to u${index}`, 5000);
              }
            } finally {
              phone.close();
            }
          }),
        );
      }
      let now = 0;
      await waitFor(async () => {
        now = await totalFds(proxy);
        return now <= baseline;
      }, `fds back to the baseline of ${baseline}`, 15_000).catch((error: Error) => {
        throw new Error(`${error.message} (now ${now})`);
      });
    } finally {
      client.close();
      assert.equal(await proxy.stop(), 0);
    }
  });

  test('supervisor and workers flooding each other at once: nothing blocks, every request is answered', async () => {
    const proxy = await startProxy(['--domain', 'example.com', ...model.args]);
    const client = new UdpClient();
    await client.open();
    const phones: TcpPhone[] = [];
    try {
      for (let i = 0; i < 40; i++) {
        const phone = await TcpPhone.connect(proxy.tcpPort);
        phones.push(phone);
        assert.equal(await phone.register(`f${i}`, 'example.com'), 200);
      }
      const started = Date.now();
      // Worker -> supervisor: fd requests for every cross-worker write, while supervisor -> worker:
      // a burst of new connections to hand over, each asking OPTIONS of the proxy.
      const ids = (await Promise.all(phones.map((_, i) => messagesThrough(client, proxy.udpPort, `f${i}`, 50)))).flat();
      const newcomers = await Promise.all(
        Array.from({ length: 300 }, async () => {
          const phone = await TcpPhone.connect(proxy.tcpPort);
          phone.socket.write(sipRequest('OPTIONS', `sip:127.0.0.1:${proxy.tcpPort};transport=tcp`, { via: `SIP/2.0/TCP 127.0.0.1:${phone.socket.localPort}` }));
          return phone;
        }),
      );
      try {
        await Promise.all(newcomers.map((phone) => phone.until(() => phone.responses.length > 0, 20_000)));
        await answered(client, ids, `${ids.length} MESSAGEs answered`, 20_000);
      } finally {
        for (const phone of newcomers) phone.close();
      }
      const finals = new Map<number | undefined, number>();
      for (const id of ids) finals.set(client.finals.get(id), (finals.get(client.finals.get(id)) ?? 0) + 1);
      assert.ok(ids.every((id) => client.finals.get(id) === 200), `finals by status: ${JSON.stringify([...finals])}`);
      assert.ok(Date.now() - started < 20_000);
    } finally {
      for (const phone of phones) phone.close();
      client.close();
      assert.equal(await proxy.stop(), 0);
    }
  });

  test('a signal to the whole process group (Ctrl-C): workers are stopped by the supervisor, none replaced, exit 0', async () => {
    const bin = fileURLToPath(new URL('../../../packages/cli/bin/switchboard.js', import.meta.url));
    // Its own process group, as a shell gives a foreground job.
    const child = spawn(process.execPath, [bin, 'serve', '--listen', 'udp:127.0.0.1:0', '--listen', 'tcp:127.0.0.1:0', ...model.args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const lines: string[] = [];
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
    const killer = setTimeout(() => process.kill(-(child.pid as number), 'SIGKILL'), 30_000);
    try {
      await new Promise<void>((resolve, reject) => {
        child.once('exit', () => reject(new Error(`exited before ready: ${lines.join('\n')}`)));
        createInterface({ input: child.stdout }).on('line', (line) => {
          lines.push(line);
          if (line.includes('"ready"')) resolve();
        });
      });
      process.kill(-(child.pid as number), 'SIGINT');
      const [code] = await exited;
      assert.equal(code, 0, lines.join('\n'));
      const entries = lines.map((line) => JSON.parse(line) as { level: number; msg: string; expected?: boolean });
      const exits = entries.filter((entry) => entry.msg === 'worker-exited');
      assert.equal(exits.length, 2, lines.join('\n'));
      assert.ok(exits.every((entry) => entry.expected === true && entry.level === 30), lines.join('\n'));
      assert.deepEqual(entries.filter((entry) => entry.level >= 40), [], 'nothing at warn: no worker died, none was replaced');
    } finally {
      clearTimeout(killer);
    }
  });

  test('SIGKILL of a worker under load: it is replaced, its connections are handed to the survivor (supervisor handles kept), other calls go on', async () => {
    const calleePort = await freePort();
    const proxy = await startProxy(['--default-route', `sip:127.0.0.1:${calleePort}`, '--domain', 'example.com', ...model.args]);
    try {
      const workers = await workerPidsBySlot(proxy.process.pid as number);
      assert.equal(workers.length, 2);
      // One connection per worker (round-robin: the first to worker 0), each answered before the kill.
      const phones = [await TcpPhone.connect(proxy.tcpPort), await TcpPhone.connect(proxy.tcpPort)];
      for (const [i, phone] of phones.entries()) assert.equal(await phone.register(`k${i}`, 'example.com'), 200);

      const callee = runSipp(['-sf', 'uas-rr.xml', '-i', '127.0.0.1', '-p', String(calleePort), '-t', 'u1'], 40);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const caller = runSipp([
        '-sf', 'uac-rr.xml', '-i', '127.0.0.1', '-p', '0', '-t', 'u1', '-key', 'target', `127.0.0.1:${calleePort}`,
        '-s', 'bob', '-m', '600', '-r', '100', `127.0.0.1:${proxy.udpPort}`,
      ], 40);
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const victim = workers[1] as number;
      process.kill(victim, 'SIGKILL');

      await waitFor(() => proxy.lines.some((line) => line.includes('"worker-exited"')), 'the supervisor to see the exit', 5000);
      const exited = JSON.parse(proxy.lines.find((line) => line.includes('"worker-exited"')) as string) as { worker: number; connectionsHandedOver: number; connectionsClosed: number };
      assert.equal(exited.worker, 1);
      assert.equal(exited.connectionsHandedOver, 1, 'the victim\'s one connection was handed over, not closed');
      assert.equal(exited.connectionsClosed, 0);
      // Both connections stay open, and the victim's is read by the survivor now.
      for (const phone of phones) assert.ok(!phone.socket.destroyed && !phone.socket.readableEnded, 'a connection stays open');
      assert.equal(await phones[1]?.register('k-again', 'example.com'), 200, 'the dead worker\'s connection still carries requests');
      assert.equal(await phones[0]?.register('k-other', 'example.com'), 200);

      await waitFor(async () => {
        const now = await childPids(proxy.process.pid as number);
        return now.length === 2 && !now.includes(victim);
      }, 'a replacement worker', 10_000);
      const result = await caller.done;
      callee.process.kill('SIGTERM');
      await callee.done;
      const calls = sippCalls(result.output);
      // Calls whose transactions the dead worker held fail; every other call completes.
      assert.ok(calls.successful >= 540, `successful ${calls.successful}, failed ${calls.failed}:\n${result.output.slice(-2500)}`);
      for (const phone of phones) phone.close();
    } finally {
      assert.equal(await proxy.stop(), 0);
    }
  });

  test('SIGKILL of the only worker: its connection waits in the supervisor and is handed to the replacement', async () => {
    const metricsPort = await freePort();
    const proxy = await startProxy(['--domain', 'example.com', '--metrics', `127.0.0.1:${metricsPort}`, ...model.args, '--workers', '1']);
    try {
      const [worker] = await childPids(proxy.process.pid as number);
      const phone = await TcpPhone.connect(proxy.tcpPort);
      assert.equal(await phone.register('o1', 'example.com'), 200);
      process.kill(worker as number, 'SIGKILL');
      // Nobody reads it until the replacement is up: the request waits in the kernel, then is answered.
      assert.equal(await phone.register('o1-again', 'example.com', 15_000), 200);
      assert.ok(!(await childPids(proxy.process.pid as number)).includes(worker as number));
      assert.equal(await proxyCounter(metricsPort, 'switchboard_connections_handed_over_total'), 1);
      phone.close();
    } finally {
      assert.equal(await proxy.stop(), 0);
    }
  });

  test('SIGKILL of a worker with --supervisor-handles release: the supervisor holds no handle, so its connections close (counted) and their clients must reconnect', async () => {
    const metricsPort = await freePort();
    const proxy = await startProxy(['--domain', 'example.com', '--supervisor-handles', 'release', '--metrics', `127.0.0.1:${metricsPort}`, ...model.args]);
    try {
      const workers = await workerPidsBySlot(proxy.process.pid as number);
      const phones = [await TcpPhone.connect(proxy.tcpPort), await TcpPhone.connect(proxy.tcpPort)];
      for (const [i, phone] of phones.entries()) assert.equal(await phone.register(`r${i}`, 'example.com'), 200);
      process.kill(workers[1] as number, 'SIGKILL');
      await waitFor(() => phones[1]?.socket.destroyed === true || phones[1]?.socket.readableEnded === true, 'the dead worker\'s connection to close', 5000);
      assert.ok(phones[0]?.socket.destroyed === false, 'the other worker\'s connection stays open');
      assert.equal(await phones[0]?.register('r-again', 'example.com'), 200);
      assert.equal(await proxyCounter(metricsPort, 'switchboard_connections_lost_with_worker_total'), 1);
      assert.equal(await proxyCounter(metricsPort, 'switchboard_connections_handed_over_total'), 0);
      for (const phone of phones) phone.close();
    } finally {
      assert.equal(await proxy.stop(), 0);
    }
  });
});
