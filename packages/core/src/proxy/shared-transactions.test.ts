import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { parseMessage } from '@switchboard/sip';
import { serverTransactionKey } from '../transaction/keys.js';
import { MemoryTransactionStore } from '../transaction/memory-transaction-store.js';
import type { TransactionStore } from '../transaction/transaction-store.js';
import type { TransportAddress } from '../transport-address.js';
import { closeAll, sharedWorkers, until, type SharedWorker } from './shared-workers.fixture.js';

/**
 * `--transactions shared`: two ProxyCores stand for two workers sharing one MemoryTransactionStore;
 * `handOffTo` between them stands for the pool's IPC.
 */

const ALICE: TransportAddress = { protocol: 'udp', address: '192.0.2.10', port: 5060 };
const BOB: TransportAddress = { protocol: 'udp', address: '192.0.2.30', port: 5060 };
afterEach(closeAll);

type Worker = SharedWorker;

function workers(store: TransactionStore, options: { defaultRoute?: string } = {}): [Worker, Worker] {
  return sharedWorkers(store, options);
}

function request(method: string, options: { branch?: string; uri?: string; cseqMethod?: string } = {}): Buffer {
  const uri = options.uri ?? 'sip:nobody@example.com';
  return Buffer.from(
    [
      `${method} ${uri} SIP/2.0`,
      `Via: SIP/2.0/UDP ${ALICE.address}:${ALICE.port};branch=${options.branch ?? 'z9hG4bKshared1'}`,
      'Max-Forwards: 70',
      'From: <sip:alice@example.com>;tag=a1',
      `To: <${uri}>`,
      'Call-ID: shared-1',
      `CSeq: 1 ${options.cseqMethod ?? method}`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

const statuses = (worker: Worker): string[] => worker.sent.filter((sent) => !sent.message.isRequest).map((sent) => `${sent.message.status} ${sent.message.cseq?.method}`);

test('a retransmission read by the other worker is answered from the store, with the bytes the first worker sent', async () => {
  const store = new MemoryTransactionStore();
  const [a, b] = workers(store);
  const key = serverTransactionKey(parseMessage(request('INVITE')));
  a.core.receive(request('INVITE'), ALICE);
  await until(async () => (await store.get(key))?.status === 404, 'the 404 in the store');
  assert.deepEqual(statuses(a), ['100 INVITE', '404 INVITE']);
  b.core.receive(request('INVITE'), ALICE);
  await until(() => b.sent.length === 1, 'the replay');
  assert.deepEqual(b.sent[0]?.bytes, a.sent[1]?.bytes, 'the stored 404, byte for byte');
  assert.deepEqual(b.sent[0]?.target, ALICE);
  assert.equal(b.core.counters.sharedRetransmissionsReplayed, 1);
  assert.equal(b.core.counters.retransmissionsAbsorbed, 1);
  assert.equal(b.core.counters.serverTransactions, 0, 'no transaction made for a retransmission');
  assert.equal(b.core.transactionCount, 0);
  assert.equal(a.core.counters.serverTransactions, 1);
  assert.equal(b.core.counters.transactionStoreRoundTrips, 1, 'one create, which failed with the record; nothing written through');
  assert.ok(a.core.counters.transactionStoreRoundTrips >= 3, 'the claim, then the 100 and the 404 written through');
});

test('the ACK of a failure read by the other worker goes to the lease holder, which confirms the transaction', async () => {
  const store = new MemoryTransactionStore();
  const [a, b] = workers(store);
  const key = serverTransactionKey(parseMessage(request('INVITE')));
  a.core.receive(request('INVITE'), ALICE);
  await until(async () => (await store.get(key))?.status === 404, 'the 404 in the store');
  b.core.receive(request('ACK'), ALICE);
  await until(async () => (await store.get(key))?.state === 'confirmed', 'confirmed in the store');
  assert.deepEqual(b.handedOff, ['w0.a']);
  assert.equal(a.core.counters.retransmissionsAbsorbed, 1, 'the holder absorbed the ACK');
  assert.equal(b.sent.length, 0, 'nothing forwarded by the reader');
  assert.equal(a.sent.filter((sent) => sent.message.isRequest).length, 0, 'the ACK of a failure is not forwarded');
});

test('a new request read by any worker is claimed there: its transaction and lease are that worker’s', async () => {
  const store = new MemoryTransactionStore();
  const [, b] = workers(store);
  const key = serverTransactionKey(parseMessage(request('OPTIONS', { branch: 'z9hG4bKnew' })));
  b.core.receive(request('OPTIONS', { branch: 'z9hG4bKnew' }), ALICE);
  await until(() => b.sent.length === 1, 'the answer');
  assert.deepEqual(statuses(b), ['404 OPTIONS']);
  assert.equal(b.core.counters.serverTransactions, 1);
  const record = await store.get(key);
  assert.equal(record?.lease?.owner, 'w1.b');
  assert.equal(record?.state, 'completed');
  assert.ok(record?.request?.equals(request('OPTIONS', { branch: 'z9hG4bKnew' })), 'the request bytes are stored');
});

test('a retransmission that arrives before any response is stored is dropped and counted', async () => {
  const store = new MemoryTransactionStore();
  const [a, b] = workers(store);
  const key = serverTransactionKey(parseMessage(request('INVITE')));
  await store.create({ key, side: 'server', invite: true, state: 'proceeding', branch: 'z9hG4bKshared1', lease: { owner: 'w0.a', until: Date.now() + 5000 }, expiresAt: Date.now() + 60_000 });
  b.core.receive(request('INVITE'), ALICE);
  await until(() => b.core.counters.sharedRetransmissionsDropped === 1, 'the drop');
  assert.equal(b.sent.length, 0);
  assert.equal(a.sent.length, 0);
});

test('a CANCEL read by the other worker reaches the INVITE at its lease holder, which cancels the branch', async () => {
  const store = new MemoryTransactionStore();
  const [a, b] = workers(store, { defaultRoute: `sip:${BOB.address}:${BOB.port}` });
  const inviteKey = serverTransactionKey(parseMessage(request('INVITE', { uri: 'sip:carol@elsewhere.org' })));
  a.core.receive(request('INVITE', { uri: 'sip:carol@elsewhere.org' }), ALICE);
  await until(() => a.sent.some((sent) => sent.message.method === 'INVITE'), 'the INVITE forwarded');
  await until(async () => (await store.get(inviteKey))?.status === 100, 'the 100 in the store');
  b.core.receive(request('CANCEL', { uri: 'sip:carol@elsewhere.org' }), ALICE);
  await until(() => statuses(a).includes('200 CANCEL'), 'the holder answering the CANCEL');
  assert.deepEqual(b.handedOff, ['w0.a']);
  assert.equal(b.sent.length, 0);
  // The branch had no provisional response yet: its CANCEL goes out once one comes (§9.1).
  const forwarded = a.sent.find((sent) => sent.message.method === 'INVITE')?.message;
  const ringing = [
    'SIP/2.0 180 Ringing',
    ...(forwarded?.headers('Via') ?? []).map((via) => `Via: ${via}`),
    'From: <sip:alice@example.com>;tag=a1',
    'To: <sip:carol@elsewhere.org>;tag=c1',
    'Call-ID: shared-1',
    'CSeq: 1 INVITE',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  a.core.receive(Buffer.from(ringing), BOB);
  await until(() => a.sent.some((sent) => sent.message.method === 'CANCEL'), 'the CANCEL forwarded');
});

test('a store that fails answers a new request 503 with Retry-After', async () => {
  const failing = new MemoryTransactionStore();
  const broken = Object.assign(Object.create(failing) as MemoryTransactionStore, { create: () => Promise.reject(new Error('down')) });
  const [a] = workers(broken);
  a.core.receive(request('OPTIONS'), ALICE);
  await until(() => a.sent.length === 1, 'the 503');
  const answer = a.sent[0]?.message;
  assert.equal(answer?.status, 503);
  assert.equal(answer?.header('Retry-After'), '5');
  assert.equal(a.core.counters.stateStoreFailures, 1);
  assert.equal(a.core.counters.serverTransactions, 0);
});
