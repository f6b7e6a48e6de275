import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { parseMessage } from '@switchboard/sip';
import { serverTransactionKey } from '../transaction/keys.js';
import { MemoryTransactionStore } from '../transaction/memory-transaction-store.js';
import { ALICE, BOB, closeWorkers, request, responseTo, statuses, until, workers, type Worker } from './shared-test-workers.js';

/**
 * `--transactions shared` (shared-responses.ts): a response is handled by whichever worker reads
 * it, with no hand-off. Worker a forwards each INVITE (it runs the client transaction); the
 * responses are read by b, or by both. T1 = 50 ms.
 */

afterEach(closeWorkers);

const TIMERS = { t1: 50, t2: 400, t4: 500 };
const CAROL = 'sip:carol@elsewhere.org';
const route = { defaultRoute: `sip:${BOB.address}:${BOB.port}`, timers: TIMERS };
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const upstream = (w: Worker, status: number): Worker['sent'] => w.sent.filter((sent) => sent.message.status === status && sent.target.address === ALICE.address);
const requestsSent = (w: Worker, method: string): Worker['sent'] => w.sent.filter((sent) => sent.message.method === method);

/** a forwards an INVITE to BOB; answers the request as a sent it, its client key and the parent's key. */
async function forwardedByA(store: MemoryTransactionStore, a: Worker, method = 'INVITE'): Promise<{ forwarded: ReturnType<typeof parseMessage>; clientKey: string; parentKey: string }> {
  const bytes = request(method, { uri: CAROL });
  a.core.receive(bytes, ALICE);
  await until(() => requestsSent(a, method).length > 0, `the ${method} forwarded`);
  const forwarded = requestsSent(a, method)[0]?.message as ReturnType<typeof parseMessage>;
  const clientKey = `${forwarded.topVia?.branch ?? ''}|${method}`;
  await until(async () => (await store.get(clientKey))?.side === 'client', 'the client transaction in the store');
  return { forwarded, clientKey, parentKey: serverTransactionKey(parseMessage(bytes)) };
}

test('a 180 and a 200 read by the worker that does not run the client transaction are forwarded by it, once, with no hand-off; the holder stops and resyncs from the store', async () => {
  const store = new MemoryTransactionStore();
  const [a, b] = workers(store, route);
  const { forwarded, clientKey, parentKey } = await forwardedByA(store, a);
  b.core.receive(responseTo(forwarded, 180, 'Ringing'), BOB);
  await until(() => upstream(b, 180).length === 1, 'the 180 forwarded by b');
  assert.equal((await store.get(clientKey))?.state, 'proceeding');
  await until(async () => (await store.get(parentKey))?.status === 180, "the parent's last response, for a retransmitted INVITE");
  b.core.receive(responseTo(forwarded, 200, 'OK'), BOB);
  await until(() => upstream(b, 200).length === 1, 'the 200 forwarded by b');
  const parent = await store.get(parentKey);
  assert.equal(parent?.state, 'accepted');
  assert.deepEqual(parent?.response, upstream(b, 200)[0]?.bytes, 'the 200 as forwarded, stored in the parent');
  assert.equal((await store.get(clientKey))?.state, 'accepted');
  assert.equal(upstream(b, 200)[0]?.message.via.length, 1, 'our Via removed');
  assert.deepEqual([...a.handedOff, ...b.handedOff], [], 'no hand-off');
  assert.equal(b.core.counters.sharedResponsesForwarded, 2);
  assert.equal(b.core.counters.sharedResponseHandOffs, 0);
  // The holder's timer A read the store (Proceeding) and stopped: no retransmission after the 180, no 408.
  const invites = requestsSent(a, 'INVITE').length;
  await sleep(6 * TIMERS.t1);
  assert.equal(requestsSent(a, 'INVITE').length, invites, 'timer A stopped at the holder');
  // Its lease renewal finds both records finished: the client stops there, the server is resumed from its record.
  await a.core.tickLeases();
  assert.equal(a.core.counters.sharedTransactionsMovedOn, 2);
  assert.equal(a.core.pendingTransactionCount, 0, 'nothing left waiting at the holder');
  assert.deepEqual(statuses(a), ['100 INVITE'], 'the holder forwarded nothing');
  assert.equal(a.core.counters.transactionTimeouts, 0);
  const renewed = a.core.counters.transactionLeasesRenewed;
  await a.core.tickLeases();
  assert.equal(a.core.counters.transactionLeasesRenewed, renewed, 'no longer renewed: they only linger');
});

test("a 486 read elsewhere is forwarded and acknowledged by the reader; the holder's timers find it finished in the store and stop (no 408, no retransmission)", async () => {
  const store = new MemoryTransactionStore();
  const [a, b] = workers(store, route);
  const { forwarded, clientKey, parentKey } = await forwardedByA(store, a);
  b.core.receive(responseTo(forwarded, 486, 'Busy Here'), BOB);
  await until(() => upstream(b, 486).length === 1, 'the 486 forwarded by b');
  const ack = requestsSent(b, 'ACK')[0];
  assert.deepEqual(ack?.target, BOB, 'acknowledged by the reader, to the branch target');
  assert.equal(ack?.message.topVia?.branch, forwarded.topVia?.branch, "the ACK carries the INVITE's branch");
  assert.equal((await store.get(clientKey))?.state, 'completed');
  const parent = await store.get(parentKey);
  assert.equal(parent?.state, 'completed');
  assert.ok(parent?.timers.G !== undefined && parent.timers.H !== undefined, 'G and H deadlines for whoever runs it');
  // Timer A (T1) and timer B (64*T1 = 3.2 s) of the holder read the store first: it stops there.
  await until(() => a.core.counters.sharedTransactionsMovedOn >= 1, 'the holder finding it moved on');
  const invites = requestsSent(a, 'INVITE').length;
  await sleep(8 * TIMERS.t1);
  assert.equal(requestsSent(a, 'INVITE').length, invites);
  assert.deepEqual(statuses(a), ['100 INVITE'], 'the holder forwarded nothing');
  assert.equal(a.core.counters.transactionTimeouts, 0);
  assert.deepEqual([...a.handedOff, ...b.handedOff], []);
});

test('the same final read by both workers at once is forwarded once: the first compare-and-set wins; the loser acknowledges a failure again', async () => {
  const store = new MemoryTransactionStore();
  const [a, b] = workers(store, route);
  const { forwarded, clientKey } = await forwardedByA(store, a);
  const busy = responseTo(forwarded, 486, 'Busy Here');
  a.core.receive(busy, BOB);
  b.core.receive(busy, BOB);
  await until(() => upstream(a, 486).length + upstream(b, 486).length >= 1, 'the 486 forwarded');
  await until(() => requestsSent(a, 'ACK').length + requestsSent(b, 'ACK').length === 2, 'both acknowledging it');
  await sleep(4 * TIMERS.t1);
  assert.equal(a.core.counters.responsesForwarded + b.core.counters.responsesForwarded, 1, 'forwarded once (the winner’s timer G retransmits it over UDP)');
  assert.equal(a.core.counters.sharedFinalsAbsorbed + b.core.counters.sharedFinalsAbsorbed, 1);
  assert.equal((await store.get(clientKey))?.status, 486);
  assert.deepEqual([...a.handedOff, ...b.handedOff], []);
});

test('a 2xx race: a 200 of a BYE read by both workers is forwarded once', async () => {
  const store = new MemoryTransactionStore();
  const [a, b] = workers(store, route);
  const { forwarded, clientKey } = await forwardedByA(store, a, 'BYE');
  const ok = responseTo(forwarded, 200, 'OK');
  b.core.receive(ok, BOB);
  a.core.receive(ok, BOB);
  await until(() => upstream(a, 200).length + upstream(b, 200).length >= 1, 'the 200 forwarded');
  await sleep(4 * TIMERS.t1);
  assert.equal(upstream(a, 200).length + upstream(b, 200).length, 1, 'forwarded once');
  assert.equal(a.core.counters.responsesForwarded + b.core.counters.responsesForwarded, 1);
  assert.equal((await store.get(clientKey))?.state, 'completed');
  assert.deepEqual([...a.handedOff, ...b.handedOff], []);
});

test('a 2xx race on an INVITE: the 200 read by both goes up from each (every 2xx is forwarded, §16.7 step 5), the records written once', async () => {
  const store = new MemoryTransactionStore();
  const [a, b] = workers(store, route);
  const { forwarded, parentKey } = await forwardedByA(store, a);
  const ok = responseTo(forwarded, 200, 'OK');
  b.core.receive(ok, BOB);
  a.core.receive(ok, BOB);
  await until(() => upstream(a, 200).length + upstream(b, 200).length === 2, 'both 200s forwarded');
  const parent = await store.get(parentKey);
  assert.equal(parent?.state, 'accepted');
  assert.equal(a.core.counters.sharedFinalsAbsorbed + b.core.counters.sharedFinalsAbsorbed, 0);
  assert.deepEqual([...a.handedOff, ...b.handedOff], []);
});
