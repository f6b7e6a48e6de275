import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { parseMessage, type SipMessage } from '@switchboard/sip';
import { clientTransactionKey, serverTransactionKey } from '../transaction/keys.js';
import { MemoryTransactionStore } from '../transaction/memory-transaction-store.js';
import type { TimerSettings } from '../transaction/timers.js';
import type { TransportAddress } from '../transport-address.js';
import { closeAll, sharedWorkers, until, type SharedWorker } from './shared-workers.fixture.js';

/**
 * `--shared-responses where-read`: two ProxyCores stand for two workers sharing one
 * MemoryTransactionStore (shared-workers.fixture.ts); their hand-offs are recorded, so a test sees
 * when a response was not handled where it was read.
 */

const ALICE: TransportAddress = { protocol: 'udp', address: '192.0.2.10', port: 5060 };
const BOB: TransportAddress = { protocol: 'udp', address: '192.0.2.30', port: 5060 };
afterEach(closeAll);

type Worker = SharedWorker;

function workers(store: MemoryTransactionStore, timers?: TimerSettings): [Worker, Worker] {
  return sharedWorkers(store, { defaultRoute: `sip:${BOB.address}:${BOB.port}`, ...(timers === undefined ? {} : { timers }) }, { responsesWhereRead: true });
}

function invite(via = `SIP/2.0/UDP ${ALICE.address}:${ALICE.port};branch=z9hG4bKwhere1`): Buffer {
  return Buffer.from(
    [
      'INVITE sip:carol@elsewhere.org SIP/2.0',
      `Via: ${via}`,
      'Max-Forwards: 70',
      'From: <sip:alice@example.com>;tag=a1',
      'To: <sip:carol@elsewhere.org>',
      'Call-ID: where-1',
      'CSeq: 1 INVITE',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

/** A response of the forwarded INVITE as the callee sends it (its Vias, ours on top). */
function answer(forwarded: SipMessage, status: number, reason: string): Buffer {
  return Buffer.from(
    [
      `SIP/2.0 ${status} ${reason}`,
      ...forwarded.headers('Via').map((via) => `Via: ${via}`),
      'From: <sip:alice@example.com>;tag=a1',
      'To: <sip:carol@elsewhere.org>;tag=c1',
      'Call-ID: where-1',
      'CSeq: 1 INVITE',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

const responses = (worker: Worker, status?: number): Worker['sent'] => worker.sent.filter((sent) => !sent.message.isRequest && (status === undefined || sent.message.status === status));
const invites = (worker: Worker): number => worker.sent.filter((sent) => sent.message.method === 'INVITE').length;

/** Worker a runs an INVITE from `source` (its request `bytes`), forwarded to Bob; answers the forwarded copy and the store keys. */
async function forwardedBy(a: Worker, store: MemoryTransactionStore, bytes = invite(), source: TransportAddress = ALICE): Promise<{ forwarded: SipMessage; serverKey: string; clientKey: string }> {
  a.core.receive(bytes, source);
  await until(() => invites(a) === 1, 'the INVITE forwarded');
  const forwarded = a.sent.find((sent) => sent.message.method === 'INVITE')?.message as SipMessage;
  const clientKey = clientTransactionKey(forwarded.topVia?.branch ?? '', 'INVITE');
  const serverKey = serverTransactionKey(parseMessage(bytes));
  await until(async () => (await store.get(clientKey)) !== undefined && (await store.get(serverKey))?.status === 100, 'both records written');
  return { forwarded, serverKey, clientKey };
}

test('a 180 and a 200 read by the worker that does not run the INVITE go upstream from there, byte for byte, with no hand-off', async () => {
  const store = new MemoryTransactionStore();
  const [a, b] = workers(store);
  const { forwarded, serverKey, clientKey } = await forwardedBy(a, store);
  b.core.receive(answer(forwarded, 180, 'Ringing'), BOB);
  await until(() => responses(b, 180).length === 1, 'the 180 from b');
  b.core.receive(answer(forwarded, 200, 'OK'), BOB);
  await until(() => responses(b, 200).length === 1, 'the 200 from b');
  assert.deepEqual(b.handedOff, [], 'nothing handed to the holder');
  const upstream = responses(b, 200)[0];
  assert.deepEqual(upstream?.target, ALICE, 'to the response target the claim stored');
  const expected = answer(forwarded, 200, 'OK').toString('latin1').replace(/Via: [^\r]*\r\n/, '');
  assert.equal(upstream?.bytes.toString('latin1'), expected, 'the callee\'s bytes less our Via');
  assert.equal(b.core.counters.sharedResponsesHandledHere, 2);
  const server = await store.get(serverKey);
  assert.equal(server?.state, 'accepted');
  assert.equal(server?.lease?.owner, 'w1.b', 'the reader took the lease, to the record\'s end');
  assert.equal(server?.lease?.until, server?.expiresAt);
  assert.deepEqual(server?.response, upstream?.bytes, 'the bytes sent are the stored response');
  const client = await store.get(clientKey);
  assert.equal(client?.state, 'accepted');
  assert.equal(client?.lease?.owner, 'w1.b');
  assert.deepEqual(responses(a).map((sent) => sent.message.status), [100], 'the holder sent only its 100');
  // The holder's next renewal finds both leases taken: its transactions end there, silently.
  assert.equal(a.core.transactionCount > 0, true);
  await a.core.tickLeases();
  assert.equal(a.core.counters.transactionLeasesLost, 2);
  assert.equal(a.core.transactionCount, 0, 'nothing left running at the holder');
  assert.deepEqual(responses(a).map((sent) => sent.message.status), [100]);
  assert.equal(invites(a), 1);
});

test('a provisional after the final is dropped wherever it is read (§16.7 step 5); a 2xx retransmission goes up again', async () => {
  const store = new MemoryTransactionStore();
  const [a, b] = workers(store);
  const { forwarded } = await forwardedBy(a, store);
  b.core.receive(answer(forwarded, 200, 'OK'), BOB);
  await until(() => responses(b, 200).length === 1, 'the 200 from b');
  // The holder still runs the client transaction (in Calling): the 180 reaches it first.
  a.core.receive(answer(forwarded, 180, 'Ringing'), BOB);
  await until(() => a.core.counters.sharedLateProvisionalsDropped === 1, 'the holder dropping it');
  assert.equal(responses(a, 180).length, 0);
  b.core.receive(answer(forwarded, 183, 'Session Progress'), BOB);
  await until(() => b.core.counters.sharedLateProvisionalsDropped === 1, 'the reader dropping it');
  assert.equal(responses(b, 183).length, 0);
  b.core.receive(answer(forwarded, 200, 'OK'), BOB);
  await until(() => responses(b, 200).length === 2, 'the 2xx retransmission forwarded');
  assert.deepEqual(responses(b, 200)[1]?.target, ALICE);
  assert.deepEqual([...a.handedOff, ...b.handedOff], []);
});

test('a failure still goes to the lease holder, which chooses the response and acknowledges it', async () => {
  const store = new MemoryTransactionStore();
  const [a, b] = workers(store);
  const { forwarded } = await forwardedBy(a, store);
  b.core.receive(answer(forwarded, 486, 'Busy Here'), BOB);
  await until(() => responses(a, 486).length === 1, 'the 486 from the holder');
  assert.deepEqual(b.handedOff, ['w0.a']);
  assert.ok(a.sent.some((sent) => sent.message.method === 'ACK'), 'the holder acknowledged the failure');
  assert.equal(b.core.counters.sharedResponsesHandledHere, 0);
});

test('the response target is the connection the request came in on, not its Via (a TLS peer behind a relay writes TCP)', async () => {
  const store = new MemoryTransactionStore();
  const [a, b] = workers(store);
  const caller: TransportAddress = { protocol: 'tls', address: '127.0.0.1', port: 40123, connectionId: 3 * 2 ** 32 + 7 };
  const { forwarded } = await forwardedBy(a, store, invite('SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bKwhere2'), caller);
  b.core.receive(answer(forwarded, 200, 'OK'), BOB);
  await until(() => responses(b, 200).length === 1, 'the 200 from b');
  assert.deepEqual(responses(b, 200)[0]?.target, caller);
});

test('before its timer acts, the holder asks the store: a transaction finished elsewhere ends without a retransmission or a 408', async () => {
  const store = new MemoryTransactionStore();
  const [a, b] = workers(store, { t1: 25, t2: 4000, t4: 5000 });
  const { forwarded } = await forwardedBy(a, store);
  b.core.receive(answer(forwarded, 200, 'OK'), BOB);
  await until(() => responses(b, 200).length === 1, 'the 200 from b');
  const sentBefore = invites(a);
  // Timer A fires from 25 ms; the store says another worker holds the transaction now.
  await until(() => a.core.counters.transactionLeasesLost === 1, 'the holder finding it lost');
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.ok(invites(a) <= sentBefore + 1, `no retransmission once the store told (${sentBefore} sent before the 200, ${invites(a)} after)`);
  assert.equal(responses(a, 408).length, 0);
  assert.equal(a.core.transactionCount, 1, 'only the server transaction is left, until its renewal');
  await a.core.tickLeases();
  assert.equal(a.core.transactionCount, 0);
});

test('a provisional seen by another worker moves the holder to Proceeding at its timer: no retransmission, no 408 at timer B', async () => {
  const store = new MemoryTransactionStore();
  const [a, b] = workers(store, { t1: 15, t2: 4000, t4: 5000 });
  const { forwarded, clientKey } = await forwardedBy(a, store);
  b.core.receive(answer(forwarded, 180, 'Ringing'), BOB);
  await until(() => responses(b, 180).length === 1, 'the 180 from b');
  assert.equal((await store.get(clientKey))?.state, 'proceeding');
  // Retransmissions so far (timer A runs from 15 ms, maybe before the 180 was recorded); timer B
  // would fire at 64 * 15 ms = 960 ms in Calling.
  const sentBefore = invites(a);
  await new Promise((resolve) => setTimeout(resolve, 1200));
  assert.equal(responses(a, 408).length + responses(b, 408).length, 0, 'no timeout: the call is ringing');
  assert.ok(invites(a) <= sentBefore + 1, `timer A stopped at its first firing after the 180 was recorded (${sentBefore} sent before, ${invites(a)} after)`);
  assert.equal(a.core.counters.transactionLeasesLost, 0, 'the holder still runs it');
  b.core.receive(answer(forwarded, 200, 'OK'), BOB);
  await until(() => responses(b, 200).length === 1, 'the 200 from b');
});

test('a CANCEL whose INVITE got its provisional at the other worker is sent at once (§9.1 asks for one, and the store has it)', async () => {
  const store = new MemoryTransactionStore();
  // Timer A far off: the CANCEL itself must find the provisional in the store.
  const [a, b] = workers(store, { t1: 10_000, t2: 40_000, t4: 50_000 });
  const { forwarded } = await forwardedBy(a, store);
  b.core.receive(answer(forwarded, 180, 'Ringing'), BOB);
  await until(() => responses(b, 180).length === 1, 'the 180 from b');
  const cancel = Buffer.from(invite().toString('latin1').replace('INVITE sip:', 'CANCEL sip:').replace('CSeq: 1 INVITE', 'CSeq: 1 CANCEL'));
  a.core.receive(cancel, ALICE);
  await until(() => a.sent.some((sent) => sent.message.method === 'CANCEL'), 'the CANCEL forwarded by the holder');
  assert.ok(responses(a, 200).some((sent) => sent.message.cseq?.method === 'CANCEL'), 'the CANCEL answered 200');
  b.core.receive(answer(forwarded, 487, 'Request Terminated'), BOB);
  await until(() => responses(a, 487).length === 1, 'the 487 upstream, from the holder');
  assert.deepEqual(b.handedOff, ['w0.a'], 'the failure went to the holder');
});

test('a 100 read where the INVITE is not run moves its record to Proceeding and goes no further', async () => {
  const store = new MemoryTransactionStore();
  const [a, b] = workers(store);
  const { forwarded, clientKey } = await forwardedBy(a, store);
  b.core.receive(answer(forwarded, 100, 'Trying'), BOB);
  await until(async () => (await store.get(clientKey))?.state === 'proceeding', 'the record in Proceeding');
  assert.equal(b.sent.length, 0, 'nothing sent');
  assert.deepEqual(b.handedOff, [], 'nothing handed off');
  assert.equal(b.core.counters.messagesDropped, 0);
});

test('the holder writes its own client transaction ahead from any pending state: a record another worker moved keeps its lease extended, never left to lapse', async () => {
  const store = new MemoryTransactionStore();
  const [a, b] = workers(store, { t1: 10_000, t2: 40_000, t4: 50_000 });
  const { forwarded, clientKey } = await forwardedBy(a, store);
  // b records the 180 (the holder, a, still sees Calling); then a reads the 200 itself.
  b.core.receive(answer(forwarded, 180, 'Ringing'), BOB);
  await until(() => responses(b, 180).length === 1, 'the 180 from b');
  a.core.receive(answer(forwarded, 200, 'OK'), BOB);
  await until(async () => (await store.get(clientKey))?.state === 'accepted', 'the client record accepted by the holder');
  const record = await store.get(clientKey);
  assert.equal(record?.lease?.owner, 'w0.a');
  assert.equal(record?.lease?.until, record?.expiresAt, 'its lease runs to the record\'s end: nothing to adopt');
  assert.deepEqual(await store.expiredLeases(Date.now() + 10_000, 10), [], 'no lapsed lease after the old one would have ended');
});

test('a response to a CANCEL of ours read by the other worker goes to the INVITE\'s lease holder, which absorbs it', async () => {
  const store = new MemoryTransactionStore();
  const [a, b] = workers(store, { t1: 10_000, t2: 40_000, t4: 50_000 });
  const { forwarded } = await forwardedBy(a, store);
  a.core.receive(answer(forwarded, 180, 'Ringing'), BOB);
  const cancel = Buffer.from(invite().toString('latin1').replace('INVITE sip:', 'CANCEL sip:').replace('CSeq: 1 INVITE', 'CSeq: 1 CANCEL'));
  a.core.receive(cancel, ALICE);
  await until(() => a.sent.some((sent) => sent.message.method === 'CANCEL'), 'the CANCEL forwarded');
  const ourCancel = a.sent.find((sent) => sent.message.method === 'CANCEL')?.message as SipMessage;
  const ok = Buffer.from(answer(ourCancel, 200, 'OK').toString('latin1').replace('CSeq: 1 INVITE', 'CSeq: 1 CANCEL'));
  b.core.receive(ok, BOB);
  await until(() => b.handedOff.length === 1, 'the 200 handed to the holder');
  assert.equal(b.core.counters.messagesDropped + a.core.counters.messagesDropped, 0, 'absorbed, not dropped');
  assert.equal(responses(a, 200).filter((sent) => sent.message.cseq?.method === 'CANCEL' && sent.target.address === ALICE.address).length, 1, 'only the holder\'s own 200 to the caller\'s CANCEL went upstream');
});

test('a response that overtakes its client record\'s creation (two connections to the store) is tried once more, not handed off', async () => {
  const store = new MemoryTransactionStore();
  let land: (() => void) | undefined;
  // Client records are created late: once the reader's first transition has missed.
  const late = new Proxy(store, {
    get: (target, property) => {
      const value = Reflect.get(target, property) as unknown;
      if (typeof value !== 'function') return value;
      if (property === 'create') {
        return async (transaction: Parameters<MemoryTransactionStore['create']>[0]) => {
          if (transaction.side === 'client') await new Promise<void>((resolve) => (land = resolve));
          return target.create(transaction);
        };
      }
      if (property === 'transition') {
        return async (...args: Parameters<MemoryTransactionStore['transition']>) => {
          const outcome = await target.transition(...args);
          if (outcome.record === undefined && land !== undefined) {
            land();
            land = undefined;
            await new Promise((resolve) => setImmediate(resolve));
          }
          return outcome;
        };
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
  const [a, b] = sharedWorkers(late, { defaultRoute: `sip:${BOB.address}:${BOB.port}` }, { responsesWhereRead: true });
  a.core.receive(invite(), ALICE);
  await until(() => invites(a) === 1, 'the INVITE forwarded');
  const forwarded = a.sent.find((sent) => sent.message.method === 'INVITE')?.message as SipMessage;
  b.core.receive(answer(forwarded, 180, 'Ringing'), BOB);
  await until(() => responses(b, 180).length === 1, 'the 180 from b');
  assert.deepEqual(b.handedOff, [], 'tried again, not handed off');
});
