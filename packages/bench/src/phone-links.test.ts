import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OutboundConnections, type StreamLink } from './phone-links.js';

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
