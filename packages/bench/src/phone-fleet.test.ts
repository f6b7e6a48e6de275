import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PhoneFleet } from './phone-fleet.js';

const BIN = fileURLToPath(new URL('../../cli/bin/switchboard.js', import.meta.url));

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resolves when the proxy logs that it is ready (its log goes on being drained). */
async function proxyReady(proxy: ChildProcess): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let output = '';
    proxy.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('"msg":"ready"')) resolve();
    });
    proxy.once('exit', (code) => reject(new Error(`proxy exited ${code}`)));
  });
  proxy.stdout?.resume();
}

test('phones whose persistent connections the proxy closed as idle register again on new ones, so their calls still complete', async () => {
  // E3 closes connections idle for 10 s, and a long registration phase leaves early phones idle
  // that long before any call: callees must not stay bound to dead connections.
  const port = await freePort();
  const proxy = spawn(process.execPath, [BIN, 'serve', '--listen', `tcp:127.0.0.1:${port}`, '--listen', `udp:127.0.0.1:${port}`, '--domain', 'example.com', '--idle-timeout', '1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await proxyReady(proxy);
    const fleet = new PhoneFleet({ proxy: { host: '127.0.0.1', port }, domain: 'example.com', transport: 'tcp', firstPair: 0, pairs: 5, callerConnection: 'persistent', calleeConnection: 'persistent', holdMs: 0, timeoutMs: 5000, localHosts: 1 });
    await fleet.register();
    assert.equal(fleet.stats.registrationsCompleted, 10);
    // Idle for longer than the proxy's timeout (its sweep runs at least every second): every connection is closed.
    const deadline = Date.now() + 20_000;
    while (fleet.stats.registrationsCompleted < 20 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(fleet.stats.registrationsCompleted, 20, 'every phone registered again after its connection closed');
    fleet.stats.startWindow();
    const loop = fleet.closedLoop();
    while (fleet.stats.callsCompleted < 20 && Date.now() < deadline + 10_000) await new Promise((resolve) => setTimeout(resolve, 50));
    fleet.stop();
    await loop;
    fleet.close();
    assert.ok(fleet.stats.callsCompleted >= 20, `calls completed: ${fleet.stats.callsCompleted}, failed: ${fleet.stats.callsFailed} ${JSON.stringify(fleet.stats.snapshot().failures)}`);
    assert.equal(fleet.stats.callsFailed, 0, 'no call failed');
  } finally {
    proxy.kill('SIGKILL');
  }
});

async function counter(url: string, name: string): Promise<number> {
  const text = await (await fetch(url)).text();
  const line = text.split('\n').find((entry) => entry.startsWith(`${name} `) || entry.startsWith(`${name}{`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('phones that send CRLF keep-alives keep their connections past the proxy\'s idle timeout and are called over them; phones that do not, lose them', async () => {
  const port = await freePort();
  const metricsPort = await freePort();
  const metrics = `http://127.0.0.1:${metricsPort}/metrics`;
  const proxy = spawn(process.execPath, [BIN, 'serve', '--listen', `tcp:127.0.0.1:${port}`, '--domain', 'example.com', '--idle-timeout', '3', '--metrics', `127.0.0.1:${metricsPort}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  const fleets: PhoneFleet[] = [];
  try {
    await proxyReady(proxy);
    const options = { proxy: { host: '127.0.0.1', port }, domain: 'example.com', transport: 'tcp' as const, pairs: 1, callerConnection: 'persistent' as const, calleeConnection: 'persistent' as const, holdMs: 0, timeoutMs: 5000, localHosts: 1 };
    const kept = new PhoneFleet({ ...options, firstPair: 0, keepaliveMs: 500 });
    const silent = new PhoneFleet({ ...options, firstPair: 1 });
    fleets.push(kept, silent);
    await Promise.all([kept.register(), silent.register()]);
    assert.equal(kept.stats.registrationsCompleted + silent.stats.registrationsCompleted, 4);
    // More than twice the idle timeout with no call (the proxy sweeps every 750 ms). Pings go
    // out within 0.75 s of silence: a margin of 2 s for a starved machine.
    await new Promise((resolve) => setTimeout(resolve, 6500));
    assert.equal(kept.connectionsOpened, 2, 'the kept-alive phones still use their first connections');
    assert.ok(kept.keepAliveCounts.pongsReceived >= 4, `pongs: ${JSON.stringify(kept.keepAliveCounts)}`);
    assert.equal(kept.keepAliveCounts.pongsMissing, 0);
    assert.ok(silent.connectionsOpened >= 3, `the silent phones' connections were closed as idle and opened again (opened ${silent.connectionsOpened})`);
    // The silent phones stop reconnecting, so the proxy's count settles.
    silent.close();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const accepted = await counter(metrics, 'switchboard_tcp_connections_accepted_total');
    assert.equal(accepted, kept.connectionsOpened + silent.connectionsOpened, 'the proxy accepted exactly the connections the phones opened');
    kept.stats.startWindow();
    assert.equal(await kept.call(0), true, `the call failed: ${JSON.stringify(kept.stats.snapshot().failures)}; connections opened ${kept.connectionsOpened}, keep-alive ${JSON.stringify(kept.keepAliveCounts)}`);
    assert.equal(kept.connectionsOpened, 2, 'the callee was reached over its kept connection');
    assert.equal(await counter(metrics, 'switchboard_tcp_connections_accepted_total'), accepted, 'the call opened no connection');
  } finally {
    for (const fleet of fleets) fleet.close();
    proxy.kill('SIGKILL');
  }
});
