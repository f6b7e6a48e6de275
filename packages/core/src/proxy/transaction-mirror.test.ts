import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { parseMessage, type SipMessage } from '@switchboard/sip';
import { MemoryLocationStore } from '../registrar/location-store.js';
import { serverTransactionKey } from '../transaction/keys.js';
import { MemoryTransactionStore } from '../transaction/memory-transaction-store.js';
import { DEFAULT_TIMERS } from '../transaction/timers.js';
import type { TransportAddress } from '../transport-address.js';
import { ProxyCore } from './proxy-core.js';
import { TransactionMirror } from './transaction-mirror.js';

/** `--transactions shared`, first step: server transactions written through to a store, behaviour unchanged. */

const ALICE: TransportAddress = { protocol: 'udp', address: '192.0.2.10', port: 5060 };
const cores: ProxyCore[] = [];
afterEach(() => {
  for (const core of cores.splice(0)) core.close();
});

function proxy(mirror: TransactionMirror | undefined): { core: ProxyCore; sent: SipMessage[] } {
  const sent: SipMessage[] = [];
  const core = new ProxyCore({
    listeners: [{ protocol: 'udp', host: '192.0.2.1', port: 5060 }],
    domains: ['example.com'],
    store: new MemoryLocationStore(0),
    sender: { send: (_target, bytes) => sent.push(parseMessage(bytes)) },
    ...(mirror === undefined ? {} : { transactionMirror: mirror }),
  });
  cores.push(core);
  return { core, sent };
}

function request(method: string, branch = 'z9hG4bKmirror1'): Buffer {
  return Buffer.from(
    [`${method} sip:nobody@example.com SIP/2.0`, `Via: SIP/2.0/UDP ${ALICE.address}:${ALICE.port};branch=${branch}`, 'Max-Forwards: 70', 'From: <sip:alice@example.com>;tag=a1', 'To: <sip:nobody@example.com>', 'Call-ID: mirror-1', `CSeq: 1 ${method}`, 'Content-Length: 0', '', ''].join('\r\n'),
  );
}

async function settle(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
}

/** One failed INVITE (404: nobody is registered), its retransmission and its ACK. */
async function failedCall(core: ProxyCore, mirror?: TransactionMirror): Promise<void> {
  core.receive(request('INVITE'), ALICE);
  await settle();
  core.receive(request('INVITE'), ALICE);
  await mirror?.settled();
  core.receive(request('ACK'), ALICE);
  await settle();
}

test('with a mirror, a server transaction is in the store with its state, last response, timers and lease', async () => {
  const store = new MemoryTransactionStore();
  const mirror = new TransactionMirror({ store, owner: 'worker-0', timers: DEFAULT_TIMERS });
  const { core, sent } = proxy(mirror);
  const key = serverTransactionKey(parseMessage(request('INVITE')));
  const before = Date.now();
  core.receive(request('INVITE'), ALICE);
  await settle();
  await mirror.settled();
  const record = await store.get(key);
  assert.equal(record?.state, 'completed');
  assert.equal(record?.status, 404);
  assert.equal(record?.invite, true);
  assert.equal(record?.branch, 'z9hG4bKmirror1');
  assert.equal(record?.lease?.owner, 'worker-0');
  assert.deepEqual(record?.response, sentBytes(sent.at(-1)), 'the bytes a retransmission is answered with');
  assert.ok((record?.timers.G ?? 0) >= before + DEFAULT_TIMERS.t1, 'timer G (UDP)');
  assert.ok((record?.timers.H ?? 0) >= before + 64 * DEFAULT_TIMERS.t1, 'timer H');
  assert.equal(record?.version, 3, 'created, 100 Trying, 404');
  core.receive(request('ACK'), ALICE);
  await mirror.settled();
  const confirmed = await store.get(key);
  assert.equal(confirmed?.state, 'confirmed');
  assert.deepEqual(Object.keys(confirmed?.timers ?? {}), ['I'], 'G and H stopped, I running');
  core.close();
  await mirror.settled();
  assert.equal(await store.get(key), undefined, 'deleted when it terminates');
  assert.deepEqual(mirror.stats, { writes: 5, failures: 0 });
});

test('the mirror changes nothing the peer sees: the same messages as in owned mode', async () => {
  const owned = proxy(undefined);
  await failedCall(owned.core);
  const mirror = new TransactionMirror({ store: new MemoryTransactionStore(), owner: 'w', timers: DEFAULT_TIMERS });
  const shared = proxy(mirror);
  await failedCall(shared.core, mirror);
  const lines = (sent: SipMessage[]): string[] => sent.map((message) => `${message.status} ${message.cseq?.method}`);
  assert.deepEqual(lines(shared.sent), lines(owned.sent));
  assert.deepEqual(lines(owned.sent), ['100 INVITE', '404 INVITE', '404 INVITE']);
});

test('a store that fails is counted and the call goes on', async () => {
  const failing = new MemoryTransactionStore();
  const broken = Object.assign(Object.create(failing) as MemoryTransactionStore, {
    create: () => Promise.reject(new Error('down')),
    transition: () => Promise.reject(new Error('down')),
    delete: () => Promise.reject(new Error('down')),
  });
  const mirror = new TransactionMirror({ store: broken, owner: 'w', timers: DEFAULT_TIMERS });
  const { core, sent } = proxy(mirror);
  await failedCall(core, mirror);
  await mirror.settled();
  assert.deepEqual(sent.map((message) => message.status), [100, 404, 404]);
  assert.equal(mirror.stats.failures, mirror.stats.writes);
  assert.ok(mirror.stats.writes >= 3);
});

function sentBytes(message: SipMessage | undefined): Buffer | undefined {
  return message?.rawBytes;
}
