import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { parseMessage } from '@switchboard/sip';
import { MemoryTransactionStore } from '../transaction/memory-transaction-store.js';
import { ALICE, BOB, closeWorkers, request, responseTo, statuses, until, workers, type Worker } from './shared-test-workers.js';

/**
 * `--transactions shared` (shared-cancel.ts): a CANCEL is carried out by the worker that read it,
 * from the INVITE's branches in the store, with no hand-off. Worker a forwards the INVITE; b reads
 * the CANCEL. T1 = 50 ms.
 */

afterEach(closeWorkers);

const TIMERS = { t1: 50, t2: 400, t4: 500 };
const CAROL = 'sip:carol@elsewhere.org';
const route = { defaultRoute: `sip:${BOB.address}:${BOB.port}`, timers: TIMERS };
const requestsSent = (w: Worker, method: string): Worker['sent'] => w.sent.filter((sent) => sent.message.method === method);

async function inviteForwardedByA(a: Worker): Promise<ReturnType<typeof parseMessage>> {
  a.core.receive(request('INVITE', { uri: CAROL }), ALICE);
  await until(() => requestsSent(a, 'INVITE').length > 0, 'the INVITE forwarded');
  return requestsSent(a, 'INVITE')[0]?.message as ReturnType<typeof parseMessage>;
}

test('a CANCEL read by the worker that does not run the INVITE is answered and carried out there, once the branch has a provisional response (§9.1); the 487 goes up from whoever reads it', async () => {
  const store = new MemoryTransactionStore();
  const [a, b] = workers(store, route);
  const forwarded = await inviteForwardedByA(a);
  b.core.receive(request('CANCEL', { uri: CAROL }), ALICE);
  await until(() => statuses(b).includes('200 CANCEL'), 'b answering the CANCEL');
  await new Promise((resolve) => setTimeout(resolve, 3 * TIMERS.t1));
  assert.equal(requestsSent(b, 'CANCEL').length, 0, 'no CANCEL before a provisional response');
  // The 180 is read by a (its own branch): b, reading the store again, sends the CANCEL.
  a.core.receive(responseTo(forwarded, 180, 'Ringing'), BOB);
  await until(() => requestsSent(b, 'CANCEL').length === 1, 'the CANCEL sent by b');
  const cancel = requestsSent(b, 'CANCEL')[0];
  assert.deepEqual(cancel?.target, BOB);
  assert.equal(cancel?.message.topVia?.branch, forwarded.topVia?.branch, "the CANCEL carries the INVITE's branch");
  assert.equal(b.core.counters.sharedCancelsSent, 1);
  // The callee's 487, read by b, goes up from b; a's timers find the INVITE finished in the store.
  b.core.receive(responseTo(forwarded, 487, 'Request Terminated'), BOB);
  await until(() => statuses(b).includes('487 INVITE'), 'the 487 forwarded by b');
  assert.deepEqual([...a.handedOff, ...b.handedOff], [], 'no hand-off');
  assert.equal(requestsSent(a, 'CANCEL').length, 0);
  // The CANCEL's 200 never reached b (another worker read it): its retransmissions stop once the INVITE has its 487 in the store.
  // (Generous waits: a retransmission whose store read began before the 487 was written still goes out.)
  await new Promise((resolve) => setTimeout(resolve, 10 * TIMERS.t1));
  const cancels = requestsSent(b, 'CANCEL').length;
  await new Promise((resolve) => setTimeout(resolve, 16 * TIMERS.t1));
  assert.equal(requestsSent(b, 'CANCEL').length, cancels, 'no CANCEL retransmitted after the 487');
  // a forwarded only the 180 it read (after its next lease renewal it runs the stored 487's timer G, retransmitting it: not a forward).
  assert.equal(a.core.counters.responsesForwarded, 1);
});

test("a CANCEL for a dead worker's INVITE is carried out from its stored branches", async () => {
  const store = new MemoryTransactionStore();
  const [a, b] = workers(store, route);
  const forwarded = await inviteForwardedByA(a);
  a.core.receive(responseTo(forwarded, 180, 'Ringing'), BOB);
  await until(() => statuses(a).includes('180 INVITE'), 'the 180 forwarded');
  await until(async () => (await store.get(`${forwarded.topVia?.branch ?? ''}|INVITE`))?.state === 'proceeding', 'Proceeding in the store');
  // a stands for a dead worker from here: nothing reaches it (closing it would end its transactions and delete their records).
  const sentByA = a.sent.length;
  b.core.receive(request('CANCEL', { uri: CAROL }), ALICE);
  await until(() => requestsSent(b, 'CANCEL').length === 1, 'the CANCEL sent by b');
  assert.ok(statuses(b).includes('200 CANCEL'));
  assert.deepEqual(requestsSent(b, 'CANCEL')[0]?.target, BOB);
  assert.deepEqual(b.handedOff, []);
  assert.equal(a.sent.length, sentByA, 'the INVITE’s worker took no part');
});

test('a CANCEL with no INVITE in the store is answered 481 where it is read', async () => {
  const [, b] = workers(new MemoryTransactionStore(), route);
  b.core.receive(request('CANCEL', { uri: CAROL }), ALICE);
  await until(() => statuses(b).includes('481 CANCEL'), 'the 481');
  assert.deepEqual(b.handedOff, []);
});
