import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { DEFAULT_OVERLOAD_SETTINGS } from '@switchboard/core';
import { connectionIdAllocator } from '../connection-ids.js';
import { testSettings } from '../worker-pool/test-settings.fixture.js';
import type { ThreadMessage } from './thread-messages.js';
import { ThreadWorker } from './thread-worker.js';

/** A thread-pool thread's worker in this thread, its peers MessageChannels of the test's own: no thread, no proxy. */

const settings = testSettings({ state: 'sab' });

function nextMessage(port: MessagePort): Promise<ThreadMessage> {
  return new Promise((resolve) => port.once('message', resolve));
}

test('a write for a connection a peer owns goes to that peer; a replaced peer\'s connections are forgotten', async () => {
  const told: ThreadMessage[] = [];
  const worker = new ThreadWorker({ slot: 0, workers: 2, settings, sharedState: undefined, sharedAuthState: undefined, udpPort: undefined, listening: undefined }, { port: { send: (message) => told.push(message as ThreadMessage) }, exit: () => undefined });
  const first = new MessageChannel();
  worker.fromParent({ t: 'peers', ports: [undefined, first.port1] });
  const id = connectionIdAllocator(2)();
  first.port2.postMessage({ t: 'opened', id, remoteKey: '192.0.2.7:5060', protocol: 'tcp' } satisfies ThreadMessage);

  // The 'opened' notice arrives on a later turn (later still on a loaded machine): until then the
  // write opens here; once it has, the write goes to the peer.
  let openedHere = 0;
  for (let attempt = 0; attempt < 250; attempt++) {
    const before = openedHere;
    worker.directory.sendElsewhere({ protocol: 'tcp', address: '192.0.2.7', port: 5060 }, '192.0.2.7:5060', Buffer.from('INVITE'), () => openedHere++);
    if (openedHere === before) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.ok(openedHere < 250, 'the peer\'s connection became known');
  // Posted on this turn, so a listener added now still receives it.
  const write = await nextMessage(first.port2);
  assert.ok(write.t === 'write' && write.connectionId === id && Buffer.from(write.bytes).toString() === 'INVITE');
  assert.equal(worker.counters.remoteWrites, 1);

  // Slot 1 died and was replaced: its old port is closed and its connections gone with it.
  const second = new MessageChannel();
  worker.fromParent({ t: 'peer', slot: 1, port: second.port1 });
  let opened = 0;
  worker.directory.sendElsewhere({ protocol: 'tcp', address: '192.0.2.7', port: 5060 }, '192.0.2.7:5060', Buffer.from('INVITE'), () => opened++);
  assert.equal(opened, 1, 'no connection known there any more: opened here');
  worker.receive({ t: 'stats-request', request: 3 });
  assert.ok(told.some((message) => message.t === 'stats' && message.request === 3 && message.stats.model.remoteWrites === 1));
  second.port2.close();
  first.port2.close();
});

test('a write posted to the owner of a connection it no longer holds fails back to the writer, whose send hears of it once', async () => {
  const config = { workers: 2, settings, sharedState: undefined, sharedAuthState: undefined, udpPort: undefined, listening: undefined };
  const exit = { port: { send: () => undefined }, exit: () => undefined };
  const writer = new ThreadWorker({ slot: 0, ...config }, exit);
  const owner = new ThreadWorker({ slot: 1, ...config }, exit);
  const channel = new MessageChannel();
  writer.fromParent({ t: 'peers', ports: [undefined, channel.port1] });
  owner.fromParent({ t: 'peers', ports: [channel.port2, undefined] });
  try {
    const id = connectionIdAllocator(2)();
    const failed = new Promise<Error>((resolve) => {
      writer.directory.sendElsewhere({ protocol: 'tls', address: '192.0.2.7', port: 5061, connectionId: id }, '192.0.2.7:5061', Buffer.from('INVITE'), undefined, resolve);
    });
    assert.equal((await failed).message, 'connection closed before the message was sent');
  } finally {
    channel.port1.close();
    channel.port2.close();
  }
});

test('with --overload on, each started thread probes the inbox of its peer and reads the probes posted to its own', async () => {
  const overloadSettings = testSettings({ overload: DEFAULT_OVERLOAD_SETTINGS });
  const config = { workers: 2, settings: overloadSettings, sharedState: undefined, sharedAuthState: undefined, udpPort: undefined, listening: undefined };
  const exited: Array<Promise<void>> = [];
  const workers = [0, 1].map((slot) => {
    let exit = (): void => undefined;
    exited.push(new Promise<void>((resolve) => (exit = resolve)));
    return new ThreadWorker({ slot, ...config }, { port: { send: () => undefined }, exit: () => exit() });
  });
  const channel = new MessageChannel();
  workers[0]?.fromParent({ t: 'peers', ports: [undefined, channel.port1] });
  workers[1]?.fromParent({ t: 'peers', ports: [channel.port2, undefined] });
  try {
    await Promise.all(workers.map((worker) => worker.startIfReady()));
    for (let attempt = 0; attempt < 100 && workers.some((worker) => (worker.queueProbe?.probesRead ?? 0) === 0); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    for (const worker of workers) assert.ok((worker.queueProbe?.probesRead ?? 0) > 0, 'probes of the peer were read');
    let aloneExit = (): void => undefined;
    const aloneExited = new Promise<void>((resolve) => (aloneExit = resolve));
    const alone = new ThreadWorker({ slot: 0, ...config, workers: 1 }, { port: { send: () => undefined }, exit: () => aloneExit() });
    await alone.startIfReady();
    assert.equal(alone.queueProbe, undefined, 'a pool of one thread: no inbox to probe, the loop judges');
    alone.receive({ t: 'stop' });
    await aloneExited;
  } finally {
    for (const worker of workers) worker.receive({ t: 'stop' });
    await Promise.all(exited);
    channel.port1.close();
    channel.port2.close();
  }
});
