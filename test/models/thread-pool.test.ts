import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_TIMERS } from '@switchboard/core';
import { callIdHash, ThreadPool, type ProxySettings, type ThreadPoolEvent } from '@switchboard/cluster';
import { sipRequest, UdpClient } from './test-phones.js';

/** The thread-pool's lifecycle with real threads: a dead thread is replaced like a dead process. */

const settings: ProxySettings = {
  listen: [
    { protocol: 'udp', host: '127.0.0.1', port: 0 },
    { protocol: 'tcp', host: '127.0.0.1', port: 0 },
  ],
  domains: ['example.com'],
  stateless: false,
  idleTimeoutMs: 120_000,
  idleStrategy: 'heap',
  headerTimeoutMs: 10_000,
  timers: DEFAULT_TIMERS,
  state: 'sab',
};
const udpOnly: ProxySettings = { ...settings, listen: settings.listen.filter((spec) => spec.protocol === 'udp') };

/** A Call-ID whose UDP requests the parent relays to `slot` of `workers`. */
function callIdFor(slot: number, workers: number): string {
  for (let n = 0; ; n++) {
    const callId = `thread-${slot}-${n}-${process.pid}`;
    if (callIdHash(callId) % workers === slot) return callId;
  }
}

async function until(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

async function registerOverUdp(client: UdpClient, port: number, callId: string): Promise<number | undefined> {
  client.send(port, sipRequest('REGISTER', 'sip:example.com', { via: client.via, callId, from: 'sip:alice@example.com', to: 'sip:alice@example.com', extra: ['Contact: <sip:alice@127.0.0.1:9>', 'Expires: 60'] }));
  await until(() => client.finals.has(callId));
  return client.finals.get(callId);
}

test('a thread that dies is replaced in its slot (listening on no stream socket): it answers its share of UDP, and stats do not miss it', { timeout: 30_000 }, async () => {
  const events: ThreadPoolEvent[] = [];
  const pool = await ThreadPool.start({ settings, workers: 2, onEvent: (event) => events.push(event) });
  const client = new UdpClient();
  await client.open();
  try {
    const udpPort = pool.listeners.find((listener) => listener.protocol === 'udp')?.port ?? 0;
    assert.equal(await registerOverUdp(client, udpPort, callIdFor(1, 2)), 200, 'thread 1 answers before');
    const [, before] = pool.threadIds;

    pool.terminate(1);
    await until(() => events.filter((event) => event.kind === 'thread-started').length === 3);
    const exited = events.find((event) => event.kind === 'thread-exited');
    assert.ok(exited?.kind === 'thread-exited' && !exited.expected && exited.restartInMs === 0, JSON.stringify(events));
    assert.notEqual(pool.threadIds[1], before, 'a new thread in slot 1');
    // The dead thread closed the listening fd all threads shared: the replacement does not touch it.
    assert.deepEqual(events.filter((event) => event.kind === 'thread-error'), []);

    const stats = await pool.stats();
    assert.deepEqual(stats.map((own) => own.worker), ['0', '1', 'parent']);
    assert.equal(stats.find((own) => own.worker === 'parent')?.workerRestarts, 1);
    assert.equal(await registerOverUdp(client, udpPort, callIdFor(1, 2)), 200, 'the replacement answers thread 1\'s share');
    assert.equal(await registerOverUdp(client, udpPort, callIdFor(0, 2)), 200, 'thread 0 still answers');

  } finally {
    client.close();
    await pool.close();
  }
  const exits = events.filter((event) => event.kind === 'thread-exited');
  assert.equal(exits.length, 3);
  assert.ok(exits.slice(1).every((event) => event.kind === 'thread-exited' && event.expected), 'stopping threads is expected');
});

test('once stopping, a thread that dies is not replaced, and stats leave it out at once', { timeout: 30_000 }, async () => {
  const events: ThreadPoolEvent[] = [];
  const pool = await ThreadPool.start({ settings: udpOnly, workers: 2, onEvent: (event) => events.push(event) });
  try {
    pool.stopAccepting();
    pool.terminate(0);
    await until(() => events.some((event) => event.kind === 'thread-exited'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(events.filter((event) => event.kind === 'thread-started').length, 2, 'no replacement');
    const started = Date.now();
    assert.deepEqual((await pool.stats()).map((own) => own.worker), ['1', 'parent']);
    assert.ok(Date.now() - started < 1000, 'did not wait for the dead thread');
  } finally {
    await pool.close();
  }
});
