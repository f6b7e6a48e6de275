import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { KeepAliveSweeper } from './keep-alive.js';
import { OutboundConnections, StreamLink } from './phone-links.js';

/** A stand-in link: what OutboundConnections reads and sets, no socket. */
function fakeLink(): StreamLink {
  return { operationsStarted: 0, inFlight: 0, retiring: false, closed: false, close() {} } as unknown as StreamLink;
}

async function operationsPerLink(connections: OutboundConnections, operations: number): Promise<number[]> {
  const counts = new Map<StreamLink, number>();
  for (let index = 0; index < operations; index++) {
    const link = await connections.acquire();
    counts.set(link, (counts.get(link) ?? 0) + 1);
  }
  return [...counts.values()];
}

test('a phone\'s first connection carries firstLimit operations, every later one the full limit', async () => {
  assert.deepEqual(await operationsPerLink(new OutboundConnections(5, async () => fakeLink(), 2), 14), [2, 5, 5, 2]);
  assert.deepEqual(await operationsPerLink(new OutboundConnections(5, async () => fakeLink()), 12), [5, 5, 2], 'by default the first is like the rest');
  assert.deepEqual(await operationsPerLink(new OutboundConnections(5, async () => fakeLink(), 0), 3), [1, 2], 'at least one operation');
});

test('registration on the first connection does not count as an operation', async () => {
  const connections = new OutboundConnections(3, async () => fakeLink(), 2);
  const registered = await connections.current();
  assert.equal(registered.operationsStarted, 0);
  assert.equal(await connections.acquire(), registered);
  assert.equal(await connections.acquire(), registered);
  assert.notEqual(await connections.acquire(), registered, 'retired after its 2 operations');
});

test('a pong is taken whether it comes alone or right behind a message, and a message after it still parses', async () => {
  const OK = 'SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKa\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n';
  let pings = 0;
  // Answers the first ping with a message and the pong in one write, the second with a lone pong, then sends a message.
  const server = net.createServer((socket) => {
    socket.on('data', (bytes) => {
      if (bytes.toString() !== '\r\n\r\n') return;
      pings++;
      socket.write(pings === 1 ? `${OK}\r\n` : '\r\n', () => {
        if (pings === 2) setTimeout(() => socket.write(OK), 50);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const sweeper = new KeepAliveSweeper({ intervalMs: 1_000_000, pongTimeoutMs: 1_000_000 });
  const received: string[] = [];
  const link = await StreamLink.connect('tcp', { host: '127.0.0.1', port }, undefined, undefined, (message) => received.push(message.header('call-id') ?? ''), { unparsable: 0 });
  try {
    link.keepAlive(sweeper);
    const wait = async (done: () => boolean): Promise<void> => {
      const deadline = Date.now() + 10_000;
      while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    };
    for (const round of [1, 2]) {
      link.pingSentAt = 0;
      sweeper.counts.pingsSent++;
      link.ping();
      await wait(() => sweeper.counts.pongsReceived === round);
      assert.equal(sweeper.counts.pongsReceived, round, `pong ${round}`);
      assert.equal(link.pingSentAt, undefined);
    }
    await wait(() => received.length === 2);
    assert.deepEqual(received, ['c', 'c']);
    assert.equal(pings, 2);
  } finally {
    sweeper.close();
    link.socket.destroy();
    server.close();
  }
});
