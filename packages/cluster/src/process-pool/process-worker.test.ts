import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TransportAddress } from '@switchboard/core';
import type { ProxySettings } from '../proxy-settings.js';
import { testSettings } from '../worker-pool/test-settings.fixture.js';
import type { LifecycleToPool } from '../worker-pool/channel.js';
import type { ToSupervisor } from './control-messages.js';
import { loopbackPeer } from './loopback-peer.fixture.js';
import { ProcessWorker } from './process-worker.js';

/** A process-pool worker in this process, its supervisor a list of what it was told: nothing is spawned, no proxy runs. */

const settings = testSettings();

function inProcess(fdCache = 0, supervisorHandles: 'keep' | 'release' = 'keep', workerSettings: ProxySettings = settings): { worker: ProcessWorker; told: Array<ToSupervisor | LifecycleToPool>; exits: number[] } {
  const told: Array<ToSupervisor | LifecycleToPool> = [];
  const exits: number[] = [];
  const worker = new ProcessWorker({ slot: 1, origin: 2, workers: 2, fdCache, supervisorHandles, settings: workerSettings }, { port: { send: (message) => told.push(message) }, exit: (code) => exits.push(code) });
  return { worker, told, exits };
}

const target = (connectionId?: number): TransportAddress => ({ protocol: 'tcp', address: '192.0.2.1', port: 5060, connectionId });

test('sends to one place while its handle is asked for make one fd request; the handle carries them all', async () => {
  const { worker, told } = inProcess();
  const peer = await loopbackPeer();
  const handle = peer.socket;
  try {
    worker.directory.sendElsewhere(target(), '192.0.2.1:5060', Buffer.from('one;'), () => assert.fail('not opened here'));
    worker.directory.sendElsewhere(target(), '192.0.2.1:5060', Buffer.from('two;'), () => assert.fail('not opened here'));
    worker.directory.sendElsewhere(target(7), '192.0.2.1:5060', Buffer.from('by id'), undefined);
    const requests = told.filter((message) => message.t === 'fd-request');
    assert.equal(requests.length, 2, 'one by address, one by id');
    assert.equal(worker.counters.fdRequests, 2);
    const byAddress = requests[0] as Extract<ToSupervisor, { t: 'fd-request' }>;
    worker.receive({ t: 'fd', request: byAddress.request, id: 7, found: true }, handle);
    assert.equal(await peer.receivedBy('one;two;'), 'one;two;');
    // Answered: the next send to that address asks again.
    worker.directory.sendElsewhere(target(), '192.0.2.1:5060', Buffer.from('three'), () => undefined);
    assert.equal(told.filter((message) => message.t === 'fd-request').length, 3);
    assert.equal(worker.ipcRoundTrip.snapshot().count, 1);
  } finally {
    peer.close();
  }
});

test('TLS sends by address to one place make one relay; a miss lets the first open a connection here', () => {
  const { worker, told } = inProcess();
  let opened = 0;
  const tls = (connectionId?: number): TransportAddress => ({ protocol: 'tls', address: '192.0.2.1', port: 5061, connectionId });
  worker.directory.sendElsewhere(tls(), '192.0.2.1:5061', Buffer.from('a'), () => opened++);
  worker.directory.sendElsewhere(tls(), '192.0.2.1:5061', Buffer.from('b'), () => opened++);
  worker.directory.sendElsewhere(tls(9), '192.0.2.1:5061', Buffer.from('c'), undefined);
  const relays = told.filter((message): message is Extract<ToSupervisor, { t: 'relay' }> => message.t === 'relay');
  assert.deepEqual(relays.map((relay) => relay.request === 0), [false, true], 'by address asks; by id does not wait');
  assert.equal(worker.counters.tlsRelaysSent, 2);
  // Without a running proxy there is no transport to open on: the answer is taken and dropped.
  worker.receive({ t: 'relayed', request: (relays[0] as { request: number }).request, id: 0, protocol: 'tls', found: false }, undefined);
  worker.directory.sendElsewhere(tls(), '192.0.2.1:5061', Buffer.from('d'), () => opened++);
  assert.equal(told.filter((message) => message.t === 'relay').length, 3, 'answered: the next send asks again');
});

test('with the supervisor keeping no handles, TCP sends elsewhere are relayed to the owner, never fd requests', () => {
  const { worker, told } = inProcess(8, 'release');
  worker.directory.sendElsewhere(target(), '192.0.2.1:5060', Buffer.from('a'), () => undefined);
  worker.directory.sendElsewhere(target(), '192.0.2.1:5060', Buffer.from('b'), () => undefined);
  worker.directory.sendElsewhere(target(7), '192.0.2.1:5060', Buffer.from('c'), undefined);
  assert.equal(told.filter((message) => message.t === 'fd-request').length, 0);
  const relays = told.filter((message): message is Extract<ToSupervisor, { t: 'relay' }> => message.t === 'relay');
  assert.deepEqual(relays.map((relay) => [relay.protocol, relay.request === 0, relay.id]), [['tcp', false, undefined], ['tcp', true, 7]]);
  assert.equal(worker.counters.tcpRelaysSent, 2);
  assert.equal(worker.counters.tlsRelaysSent, 0);
  // A relay that finds its connection: the one that waited follows it by id.
  worker.receive({ t: 'relayed', request: (relays[0] as { request: number }).request, id: 11, protocol: 'tcp', found: true }, undefined);
  const last = told.at(-1);
  assert.ok(last?.t === 'relay' && last.id === 11 && last.request === 0 && last.protocol === 'tcp' && last.remoteKey === '192.0.2.1:5060' && Buffer.from(last.bytes).toString() === 'b');
});

test('a handle that arrives after its connection was invalidated is used once and not cached', async () => {
  const { worker, told } = inProcess(8);
  const peer = await loopbackPeer();
  const handle = peer.socket;
  try {
    worker.directory.sendElsewhere(target(7), '192.0.2.1:5060', Buffer.from('x'), undefined);
    const request = told.find((message) => message.t === 'fd-request') as Extract<ToSupervisor, { t: 'fd-request' }>;
    // The invalidation came on the stream before the handle on the IPC channel.
    worker.receive({ t: 'invalidate', id: 7 }, undefined);
    worker.receive({ t: 'fd', request: request.request, id: 7, found: true }, handle);
    worker.directory.sendElsewhere(target(7), '192.0.2.1:5060', Buffer.from('y'), undefined);
    assert.equal(worker.counters.fdCacheHits, 0, 'not served from the cache');
    assert.equal(told.filter((message) => message.t === 'fd-request').length, 2, 'asked again');
  } finally {
    peer.close();
  }
});

test('stats and stop are answered by the lifecycle', () => {
  const { worker, told, exits } = inProcess(4);
  worker.receive({ t: 'stats-request', request: 5 }, undefined);
  const stats = told.find((message) => message.t === 'stats');
  assert.ok(stats?.t === 'stats' && stats.request === 5 && stats.stats.worker === '1');
  worker.receive({ t: 'stop' }, undefined);
  return new Promise<void>((resolve) => setImmediate(() => {
    assert.deepEqual(exits, [0]);
    resolve();
  }));
});

test('--fd-request-wait: while an fd request is outstanding, messages from the supervisor wait (stats do not), then are handled in order after the answer', () => {
  const { worker, told } = inProcess(0, 'keep', { ...settings, fdRequestWait: true });
  const source: TransportAddress = { protocol: 'udp', address: '192.0.2.9', port: 5060 };
  const deliver = { t: 'deliver', bytes: new Uint8Array([1]), source } as const;
  worker.receive(deliver, undefined);
  assert.equal(worker.counters.handOffsReceived, 1, 'no request outstanding: handled at once');
  worker.directory.sendElsewhere(target(7), '192.0.2.1:5060', Buffer.from('x'), undefined);
  const request = told.find((message) => message.t === 'fd-request') as Extract<ToSupervisor, { t: 'fd-request' }>;
  worker.receive(deliver, undefined);
  worker.receive({ t: 'invalidate', id: 3 }, undefined);
  worker.receive(deliver, undefined);
  assert.equal(worker.counters.handOffsReceived, 1, 'blocked: nothing handled');
  assert.equal(worker.counters.fdRequestWaitQueued, 3);
  worker.receive({ t: 'stats-request', request: 1 }, undefined);
  assert.ok(told.some((message) => message.t === 'stats'), 'stats are answered while blocked');
  worker.receive({ t: 'fd', request: request.request, id: 7, found: false }, undefined);
  assert.equal(worker.counters.handOffsReceived, 3, 'the answer let both through');
  worker.receive(deliver, undefined);
  assert.equal(worker.counters.handOffsReceived, 4);
});

test('without --fd-request-wait nothing waits for an fd answer', () => {
  const { worker, told } = inProcess();
  worker.directory.sendElsewhere(target(7), '192.0.2.1:5060', Buffer.from('x'), undefined);
  assert.ok(told.some((message) => message.t === 'fd-request'));
  worker.receive({ t: 'deliver', bytes: new Uint8Array([1]), source: { protocol: 'udp', address: '192.0.2.9', port: 5060 } }, undefined);
  assert.equal(worker.counters.handOffsReceived, 1);
  assert.equal(worker.counters.fdRequestWaitQueued, 0);
});

test('--fd-request-wait: SIP messages read from sockets wait behind an outstanding fd request too, then are handled in order', async () => {
  const { worker, told, exits } = inProcess(0, 'keep', { ...settings, fdRequestWait: true });
  await worker.start();
  const server = worker.server;
  assert.ok(server !== undefined);
  try {
    const source: TransportAddress = { protocol: 'udp', address: '192.0.2.9', port: 5060 };
    const options = (n: number): Buffer => Buffer.from(`OPTIONS sip:192.0.2.50 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK-gate-${n}\r\nMax-Forwards: 70\r\nFrom: <sip:a@192.0.2.9>;tag=${n}\r\nTo: <sip:b@192.0.2.50>\r\nCall-ID: gate-${n}\r\nCSeq: ${n} OPTIONS\r\nContent-Length: 0\r\n\r\n`);
    worker.directory.sendElsewhere(target(7), '192.0.2.1:5060', Buffer.from('x'), undefined);
    const request = told.find((message) => message.t === 'fd-request') as Extract<ToSupervisor, { t: 'fd-request' }>;
    // What a transport does with each message it reads.
    server.core.receive(options(1), source);
    server.core.receive(options(2), source);
    assert.equal(server.core.counters.requestsReceived + worker.counters.handOffsSent, 0, 'blocked: not parsed, not answered');
    worker.receive({ t: 'fd', request: request.request, id: 7, found: false }, undefined);
    // Each handled here or handed to its owner by Call-ID (owned transactions): both parsed now.
    assert.equal(server.core.counters.requestsReceived + worker.counters.handOffsSent, 2);
    assert.equal(worker.counters.fdRequestWaitQueued, 2);
  } finally {
    worker.receive({ t: 'stop' }, undefined);
    const deadline = Date.now() + 5000;
    while (exits.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  }
});

test('without a cache, a send by id goes to the supervisor with its bytes to be written there, and nothing waits for an answer', () => {
  const { worker, told } = inProcess(0);
  worker.directory.sendElsewhere(target(7), '192.0.2.1:5060', Buffer.from('a'), undefined);
  worker.directory.sendElsewhere(target(7), '192.0.2.1:5060', Buffer.from('b'), undefined);
  const requests = told.filter((message): message is Extract<ToSupervisor, { t: 'fd-request' }> => message.t === 'fd-request');
  assert.deepEqual(requests.map((request) => [request.request, request.id, Buffer.from(request.bytes ?? []).toString(), request.wantsHandle]), [[0, 7, 'a', false], [0, 7, 'b', false]]);
  assert.equal(worker.counters.fdRequests, 2);
  // Gone by the time the supervisor read it: counted as missed (no transport here to report it to).
  worker.receive({ t: 'fd', request: 0, id: 7, found: false }, undefined);
  assert.equal(worker.counters.fdRequestsMissed, 1);
});

test('with a cache, an fd request carries its bytes and asks for the handle; answered "written" without one, the sends that joined it follow through the supervisor in order', () => {
  const { worker, told } = inProcess(8);
  for (const text of ['one', 'two', 'three']) worker.directory.sendElsewhere(target(7), '192.0.2.1:5060', Buffer.from(text), undefined);
  const first = told.filter((message): message is Extract<ToSupervisor, { t: 'fd-request' }> => message.t === 'fd-request');
  assert.equal(first.length, 1, 'the later sends joined the first request');
  assert.equal(Buffer.from(first[0]?.bytes ?? []).toString(), 'one');
  assert.equal(first[0]?.wantsHandle, true);
  worker.receive({ t: 'fd', request: first[0]?.request ?? -1, id: 7, found: true, written: true }, undefined);
  const after = told.filter((message): message is Extract<ToSupervisor, { t: 'fd-request' }> => message.t === 'fd-request').slice(1);
  assert.deepEqual(after.map((request) => [request.request, request.id, Buffer.from(request.bytes ?? []).toString()]), [[0, 7, 'two'], [0, 7, 'three']]);
  assert.equal(worker.ipcRoundTrip.snapshot().count, 1);
});

test('an fd answer "written" with the handle attached caches it for later sends, and writes only the sends that joined', async () => {
  const { worker, told } = inProcess(8);
  const peer = await loopbackPeer();
  const handle = peer.socket;
  try {
    worker.directory.sendElsewhere(target(7), '192.0.2.1:5060', Buffer.from('one;'), undefined);
    worker.directory.sendElsewhere(target(7), '192.0.2.1:5060', Buffer.from('two;'), undefined);
    const request = told.find((message) => message.t === 'fd-request') as Extract<ToSupervisor, { t: 'fd-request' }>;
    worker.receive({ t: 'fd', request: request.request, id: 7, found: true, written: true }, handle);
    worker.directory.sendElsewhere(target(7), '192.0.2.1:5060', Buffer.from('three;'), undefined);
    assert.equal(worker.counters.fdCacheHits, 1, 'the handle was cached');
    assert.equal(await peer.receivedBy('two;three;'), 'two;three;', '"one;" was the supervisor\'s to write');
  } finally {
    worker.receive({ t: 'stop' }, undefined);
    peer.close();
  }
});

test('a relayed write that fails reaches the writer: a relay by id carries a ticket, and its send-failed (or a "not found" answer) calls the send\'s error handler', async () => {
  const { worker, told } = inProcess(0, 'release');
  const errors: string[] = [];
  worker.directory.sendElsewhere(target(7), '192.0.2.1:5060', Buffer.from('a'), undefined, (error) => errors.push(`a: ${error.message}`));
  worker.directory.sendElsewhere(target(8), '192.0.2.1:5060', Buffer.from('b'), undefined, (error) => errors.push(`b: ${error.message}`));
  const relays = told.filter((message): message is Extract<ToSupervisor, { t: 'relay' }> => message.t === 'relay');
  assert.equal(relays.length, 2);
  const [a, b] = relays.map((relay) => relay.ticket ?? 0);
  assert.ok(a !== 0 && b !== 0 && a !== b, 'each send with an error handler has its own ticket');
  worker.receive({ t: 'send-failed', ticket: a as number, message: 'write EPIPE' }, undefined);
  worker.receive({ t: 'relayed', request: 0, id: 8, protocol: 'tcp', found: false, ticket: b }, undefined);
  worker.receive({ t: 'send-failed', ticket: a as number, message: 'again' }, undefined);
  assert.deepEqual(errors, ['a: write EPIPE', 'b: connection closed before the message was sent'], 'each once');
  worker.receive({ t: 'stop' }, undefined);
});

test('a write relayed to the owner of a connection it no longer holds goes back to its writer as write-failed', () => {
  const { worker, told } = inProcess(0, 'release');
  worker.receive({ t: 'write', id: 7, protocol: 'tls', bytes: new Uint8Array([1]), from: 0, ticket: 42 }, undefined);
  worker.receive({ t: 'write', id: 7, protocol: 'tls', bytes: new Uint8Array([1]) }, undefined);
  const failed = told.filter((message) => message.t === 'write-failed');
  assert.deepEqual(failed, [{ t: 'write-failed', to: 0, ticket: 42, message: 'connection closed before the message was sent' }], 'only the write that asked');
  worker.receive({ t: 'stop' }, undefined);
});

test('with handles kept, a write through the supervisor carries a ticket, and a "gone" answer fails it', () => {
  const { worker, told } = inProcess(0);
  const errors: Error[] = [];
  worker.directory.sendElsewhere(target(7), '192.0.2.1:5060', Buffer.from('a'), undefined, (error) => errors.push(error));
  const request = told.find((message) => message.t === 'fd-request') as Extract<ToSupervisor, { t: 'fd-request' }>;
  assert.ok(request.ticket !== undefined && request.ticket !== 0);
  worker.receive({ t: 'fd', request: 0, id: 7, found: false, ticket: request.ticket }, undefined);
  assert.equal(errors.length, 1);
  worker.receive({ t: 'stop' }, undefined);
});
