import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { parseMessage, type SipMessage } from '@switchboard/sip';
import { MemoryLocationStore } from '../registrar/location-store.js';
import { serverTransactionKey } from '../transaction/keys.js';
import { MemoryTransactionStore } from '../transaction/memory-transaction-store.js';
import type { TransactionStore } from '../transaction/transaction-store.js';
import type { TransportAddress } from '../transport-address.js';
import { ProxyCore } from './proxy-core.js';
import { until } from './shared-workers.fixture.js';

/**
 * `--transactions shared`, adoption (issue 16 item 3): two ProxyCores stand for two workers
 * sharing one MemoryTransactionStore, with a short lease and T1 so timers fire within the test.
 * The lease ticker is driven by hand (`tickLeases`); a worker "dies" by no longer ticking, and its
 * sender stops delivering.
 */

const ALICE: TransportAddress = { protocol: 'udp', address: '192.0.2.10', port: 5060 };
const BOB: TransportAddress = { protocol: 'udp', address: '192.0.2.30', port: 5060 };
const LEASE_MS = 500;
const TIMERS = { t1: 50, t2: 400, t4: 500 };
const cores: ProxyCore[] = [];
afterEach(() => {
  for (const core of cores.splice(0)) core.close();
});

interface Worker {
  readonly owner: string;
  readonly core: ProxyCore;
  readonly sent: Array<{ target: TransportAddress; message: SipMessage; bytes: Buffer }>;
  dead: boolean;
}

function worker(store: TransactionStore, owner: string, options: { defaultRoute?: string } = {}, handOffTo?: (holder: string, bytes: Buffer, source: TransportAddress) => boolean): Worker {
  const sent: Worker['sent'] = [];
  const self: { owner: string; core?: ProxyCore; sent: Worker['sent']; dead: boolean } = { owner, sent, dead: false };
  // A dead worker's store calls fail, as its sends do: its timers change nothing any more.
  const view = new Proxy(store, {
    get: (target, property) => {
      const value = Reflect.get(target, property) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => (self.dead ? Promise.reject(new Error('dead')) : (value as (...a: unknown[]) => unknown).apply(target, args));
    },
  });
  const core = new ProxyCore({
    listeners: [{ protocol: 'udp', host: '192.0.2.1', port: 5060 }],
    domains: ['example.com'],
    timers: TIMERS,
    ...options,
    store: new MemoryLocationStore(0),
    sender: {
      send: (target, bytes) => {
        if (!self.dead) sent.push({ target, message: parseMessage(bytes), bytes });
      },
    },
    // The ticker never runs by itself here: each test ticks by hand.
    sharedTransactions: { store: view, owner, leaseMs: LEASE_MS, leaseTickMs: 3_600_000, ...(handOffTo === undefined ? {} : { handOffTo }) },
  });
  cores.push(core);
  self.core = core;
  return self as Worker;
}

function request(method: string, uri = 'sip:nobody@example.com'): Buffer {
  return Buffer.from(
    [
      `${method} ${uri} SIP/2.0`,
      `Via: SIP/2.0/UDP ${ALICE.address}:${ALICE.port};branch=z9hG4bKadopt1`,
      'Max-Forwards: 70',
      'From: <sip:alice@example.com>;tag=a1',
      `To: <${uri}>`,
      'Call-ID: adopt-1',
      `CSeq: 1 ${method}`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const finals = (w: Worker, status: number): Array<{ bytes: Buffer; target: TransportAddress }> => w.sent.filter((sent) => sent.message.status === status);

test('a survivor adopts a failed INVITE whose worker died: it retransmits the stored 404 (timer G from the stored deadline), absorbs the ACK, and the record ends', async () => {
  const store = new MemoryTransactionStore();
  const a = worker(store, 'w0.a');
  const b = worker(store, 'w1.b');
  const key = serverTransactionKey(parseMessage(request('INVITE')));
  a.core.receive(request('INVITE'), ALICE);
  await until(async () => (await store.get(key))?.state === 'completed', 'the 404 in the store');
  const sent404 = finals(a, 404)[0]?.bytes;
  assert.ok(sent404);
  a.dead = true;
  // b ticks before the lease lapsed: nothing to adopt yet.
  await b.core.tickLeases();
  assert.equal(b.core.counters.transactionsAdopted, 0);
  await sleep(LEASE_MS + 50);
  await b.core.tickLeases();
  assert.equal(b.core.counters.transactionsAdopted, 1);
  assert.equal((await store.get(key))?.lease?.owner, 'w1.b');
  await until(() => finals(b, 404).length >= 2, 'timer G retransmitting the 404 at the survivor');
  for (const retransmitted of finals(b, 404)) {
    assert.deepEqual(retransmitted.bytes, sent404, 'the stored 404, byte for byte');
    assert.deepEqual(retransmitted.target, ALICE, 'to the Via of the stored request');
  }
  // The ACK, read by the survivor, stops G and confirms the transaction; timer I then ends it.
  b.core.receive(request('ACK'), ALICE);
  const after = finals(b, 404).length;
  await until(async () => (await store.get(key)) === undefined, 'the record deleted when timer I fires');
  assert.equal(finals(b, 404).length, after, 'no retransmission after the ACK');
  assert.equal(b.core.counters.retransmissionsAbsorbed, 1);
  assert.equal(b.core.counters.transactionTimeouts, 0);
  assert.equal(b.core.transactionCount, 0);
});

test('a stalled worker that lost its lease drops its timers: nothing fires twice', async () => {
  const store = new MemoryTransactionStore();
  const a = worker(store, 'w0.a');
  const b = worker(store, 'w1.b');
  const key = serverTransactionKey(parseMessage(request('INVITE')));
  a.core.receive(request('INVITE'), ALICE);
  await until(async () => (await store.get(key))?.state === 'completed', 'the 404 in the store');
  await sleep(LEASE_MS + 50);
  await b.core.tickLeases();
  assert.equal(b.core.counters.transactionsAdopted, 1);
  // a wakes up: its renewal fails, so its transaction (and timer G) stop there.
  await a.core.tickLeases();
  assert.equal(a.core.counters.transactionLeasesLost, 1);
  assert.equal(a.core.transactionCount, 0);
  const fromA = finals(a, 404).length;
  await sleep(4 * TIMERS.t1);
  assert.equal(finals(a, 404).length, fromA, 'the worker that lost the lease retransmits no more');
  assert.ok(finals(b, 404).length >= 1, 'the adopter does');
  assert.equal((await store.get(key))?.lease?.owner, 'w1.b', 'and the record is still the adopter’s');
  // The adopter renews what it holds.
  await b.core.tickLeases();
  assert.equal(b.core.counters.transactionLeasesRenewed, 1);
});

test('an adopted request that was never forwarded (no branch recorded) is routed again by the adopter', async () => {
  const store = new MemoryTransactionStore();
  const b = worker(store, 'w1.b', { defaultRoute: `sip:${BOB.address}:${BOB.port}` });
  const bytes = request('INVITE', 'sip:carol@elsewhere.org');
  const key = serverTransactionKey(parseMessage(bytes));
  // What a worker's claim leaves when it dies before routing: the record with its request and lease.
  const now = Date.now();
  await store.create({ key, side: 'server', invite: true, state: 'proceeding', branch: 'z9hG4bKadopt1', request: bytes, lease: { owner: 'w0.dead', until: now - 1 }, expiresAt: now + 60_000 });
  await b.core.tickLeases();
  assert.equal(b.core.counters.transactionsAdopted, 1);
  assert.equal(b.core.counters.transactionsAdoptedRerouted, 1);
  const forwarded = b.sent.filter((sent) => sent.message.method === 'INVITE');
  assert.equal(forwarded.length, 1);
  assert.deepEqual(forwarded[0]?.target, BOB);
  assert.deepEqual(finals(b, 100).map((sent) => sent.target), [ALICE]);
  await until(async () => ((await store.get(key))?.branches.length ?? 0) === 1, 'the branch recorded');
});

test('an adopted request that was forwarded (a branch recorded) is not sent again: retransmissions get the stored response', async () => {
  const store = new MemoryTransactionStore();
  const route = { defaultRoute: `sip:${BOB.address}:${BOB.port}` };
  const a = worker(store, 'w0.a', route);
  const b = worker(store, 'w1.b', route);
  const bytes = request('INVITE', 'sip:carol@elsewhere.org');
  const key = serverTransactionKey(parseMessage(bytes));
  a.core.receive(bytes, ALICE);
  await until(async () => ((await store.get(key))?.branches.length ?? 0) === 1, 'the branch recorded');
  a.dead = true;
  await sleep(LEASE_MS + 50);
  await b.core.tickLeases();
  assert.equal(b.core.counters.transactionsAdopted, 2, 'the server transaction and its client branch');
  assert.equal(b.core.counters.transactionsAdoptedRerouted, 0);
  const forwarded = a.sent.find((sent) => sent.message.method === 'INVITE')?.bytes;
  assert.ok(b.sent.filter((sent) => sent.message.isRequest).every((sent) => sent.bytes.equals(forwarded as Buffer)), 'only the request as first sent (timer A), no new branch');
  b.core.receive(bytes, ALICE);
  await until(() => finals(b, 100).length === 1, 'the replayed 100');
  assert.equal(b.core.counters.retransmissionsAbsorbed, 1);
});

test('a store that fails a lease tick is counted and reaches nobody', async () => {
  const healthy = new MemoryTransactionStore();
  const broken = Object.assign(Object.create(healthy) as MemoryTransactionStore, { expiredLeases: () => Promise.reject(new Error('down')) });
  const a = worker(broken, 'w0.a');
  await a.core.tickLeases();
  assert.equal(a.core.counters.transactionLeaseFailures, 1);
  assert.equal(a.core.counters.internalErrors, 0);
});

test('a survivor adopts a forwarded INVITE’s client transaction: it retransmits the request as sent (timer A), takes the responses other workers hand it, and times out into a 408 upstream (timer B)', async () => {
  const store = new MemoryTransactionStore();
  const route = { defaultRoute: `sip:${BOB.address}:${BOB.port}` };
  const byOwner = new Map<string, Worker>();
  const handOffTo = (holder: string, bytes: Buffer, source: TransportAddress): boolean => {
    const to = byOwner.get(holder);
    if (to === undefined) return false;
    to.core.receive(bytes, source, true);
    return true;
  };
  const a = worker(store, 'w0.a', route, handOffTo);
  const b = worker(store, 'w1.b', route, handOffTo);
  const replacement = worker(store, 'w0.c', route, handOffTo);
  for (const w of [a, b, replacement]) byOwner.set(w.owner, w);
  const bytes = request('INVITE', 'sip:carol@elsewhere.org');
  a.core.receive(bytes, ALICE);
  await until(() => a.sent.some((sent) => sent.message.method === 'INVITE'), 'the INVITE forwarded');
  const forwarded = a.sent.find((sent) => sent.message.method === 'INVITE') as Worker['sent'][number];
  const branch = forwarded.message.topVia?.branch ?? '';
  const clientKey = `${branch}|INVITE`;
  await until(async () => (await store.get(clientKey))?.side === 'client', 'the client transaction in the store');
  const stored = await store.get(clientKey);
  assert.deepEqual(stored?.request, forwarded.bytes, 'the request as sent');
  assert.equal(stored?.parent, serverTransactionKey(parseMessage(bytes)));
  a.dead = true;
  await sleep(LEASE_MS + 50);
  await b.core.tickLeases();
  assert.equal(b.core.counters.transactionsAdopted, 2, 'the server transaction and its client branch');
  assert.equal(b.core.counters.transactionsAdoptedRerouted, 0);
  await until(() => b.sent.filter((sent) => sent.message.method === 'INVITE').length >= 2, 'timer A retransmitting at the adopter');
  for (const sent of b.sent.filter((each) => each.message.method === 'INVITE')) {
    assert.deepEqual(sent.bytes, forwarded.bytes, 'the stored request, byte for byte');
    assert.deepEqual(sent.target, BOB);
  }
  // A 180 read by another worker (the dead one's replacement) is matched through the store and handed to the adopter.
  const ringing = Buffer.from(
    [
      'SIP/2.0 180 Ringing',
      ...forwarded.message.headers('Via').map((via) => `Via: ${via}`),
      'From: <sip:alice@example.com>;tag=a1',
      'To: <sip:carol@elsewhere.org>;tag=c1',
      'Call-ID: adopt-1',
      'CSeq: 1 INVITE',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
  replacement.core.receive(ringing, BOB);
  await until(() => finals(b, 180).length === 1, 'the 180 forwarded by the adopter');
  assert.deepEqual(finals(b, 180)[0]?.target, ALICE);
  assert.equal(replacement.sent.length, 0, 'the reader forwarded nothing itself');
  const retransmissions = b.sent.filter((sent) => sent.message.method === 'INVITE').length;
  await sleep(3 * TIMERS.t1);
  assert.equal(b.sent.filter((sent) => sent.message.method === 'INVITE').length, retransmissions, 'timer A stops after the provisional');
  assert.equal((await store.get(clientKey))?.state, 'proceeding', 'written through by the adopter');
  await a.core.tickLeases();
  assert.equal(a.core.counters.transactionLeasesRenewed, 0);
});

test('an adopted client transaction with no answer at all times out into a 408 upstream at the stored timer B deadline', async () => {
  const store = new MemoryTransactionStore();
  const route = { defaultRoute: `sip:${BOB.address}:${BOB.port}` };
  const a = worker(store, 'w0.a', route);
  const b = worker(store, 'w1.b', route);
  const bytes = request('OPTIONS', 'sip:carol@elsewhere.org');
  a.core.receive(bytes, ALICE);
  await until(() => a.sent.some((sent) => sent.message.method === 'OPTIONS'), 'the OPTIONS forwarded');
  await sleep(10);
  a.dead = true;
  await sleep(LEASE_MS + 50);
  await b.core.tickLeases();
  assert.equal(b.core.counters.transactionsAdopted, 2);
  // Timer F is 64*T1 after the request first went out (3.2 s here), not after the adoption.
  await until(() => finals(b, 408).length === 1, 'the 408');
  assert.deepEqual(finals(b, 408)[0]?.target, ALICE);
  assert.ok(b.sent.filter((sent) => sent.message.method === 'OPTIONS').length >= 2, 'timer E retransmitted the request meanwhile');
});
