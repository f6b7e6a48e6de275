import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { parseMessage, type SipMessage } from '@switchboard/sip';
import { MemoryLocationStore, type Binding, type LocationStore } from '../registrar/location-store.js';
import type { TransportAddress } from '../transport-address.js';
import { ProxyCore, type ProxyCoreOptions } from './proxy-core.js';

/**
 * The location store failing at run time (Redis down, a locked SharedArrayBuffer table): requests
 * that need it are answered 503 with Retry-After (RFC 3261 §21.5.4, §20.33), nothing else is
 * disturbed, and the next request after the store returns is served normally.
 */

const PROXY = { address: '192.0.2.1', port: 5060 };
const ALICE: TransportAddress = { protocol: 'udp', address: '192.0.2.10', port: 5060 };

interface Sent {
  readonly target: TransportAddress;
  readonly message: SipMessage;
}

/** A memory store that rejects every call while `failing` (asynchronously, like Redis would). */
class FlakyStore implements LocationStore {
  readonly inner = new MemoryLocationStore(0);
  failing = false;
  calls = 0;

  #guard<T>(work: () => Promise<T>): Promise<T> {
    this.calls++;
    if (this.failing) return Promise.reject(Object.assign(new Error('store down'), { code: 'ERR_SWITCHBOARD_STATE_UNAVAILABLE' }));
    return work();
  }

  lookup(aor: string, now: number): Promise<Binding[]> {
    return this.#guard(() => this.inner.lookup(aor, now));
  }
  put(binding: Binding): Promise<void> {
    return this.#guard(() => this.inner.put(binding));
  }
  remove(aor: string, contact: string): Promise<void> {
    return this.#guard(() => this.inner.remove(aor, contact));
  }
  removeAll(aor: string): Promise<void> {
    return this.#guard(() => this.inner.removeAll(aor));
  }
  size(now: number): Promise<number> {
    return this.#guard(() => this.inner.size(now));
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

// Any unhandled rejection on these paths fails the test that caused it.
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
before(() => {
  process.on('unhandledRejection', onUnhandled);
});
after(() => {
  process.off('unhandledRejection', onUnhandled);
});

const cores: ProxyCore[] = [];
afterEach(async () => {
  for (const core of cores.splice(0)) core.close();
  // Give a stray rejection a chance to surface before checking.
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.deepEqual(unhandled.splice(0), [], 'no unhandled promise rejection');
});

function proxy(options: Partial<ProxyCoreOptions> = {}): { core: ProxyCore; sent: Sent[]; store: FlakyStore } {
  const sent: Sent[] = [];
  const store = new FlakyStore();
  const core = new ProxyCore({
    listeners: [{ protocol: 'udp', host: PROXY.address, port: PROXY.port }],
    domains: ['example.com'],
    store,
    sender: { send: (target, bytes) => sent.push({ target, message: parseMessage(bytes) }) },
    ...options,
  });
  cores.push(core);
  return { core, sent, store };
}

function request(method: string, uri: string, branch: string, options: { cseq?: number; callId?: string; contact?: string; extra?: string[] } = {}): Buffer {
  return Buffer.from(
    [
      `${method} ${uri} SIP/2.0`,
      `Via: SIP/2.0/UDP ${ALICE.address}:${ALICE.port};branch=${branch}`,
      'Max-Forwards: 70',
      'From: <sip:alice@example.com>;tag=a1',
      'To: <sip:bob@example.com>',
      `Call-ID: ${options.callId ?? 'call-1'}`,
      `CSeq: ${options.cseq ?? 1} ${method}`,
      `Contact: <${options.contact ?? 'sip:alice@192.0.2.10'}>`,
      ...(options.extra ?? []),
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

function register(branch: string, cseq: number): Buffer {
  return request('REGISTER', 'sip:example.com', branch, { cseq, callId: 'reg-1', contact: 'sip:bob@192.0.2.20', extra: ['Expires: 600'] });
}

/** A response to a request the proxy sent, as the callee would write it. */
function answer(to: SipMessage, status: number, toTag = 'b1'): Buffer {
  const lines = [`SIP/2.0 ${status} Whatever`];
  for (const via of to.headers('via')) lines.push(`Via: ${via}`);
  for (const rr of to.headers('record-route')) lines.push(`Record-Route: ${rr}`);
  lines.push(`From: ${to.header('from')}`, `To: ${to.header('to')};tag=${toTag}`, `Call-ID: ${to.callId}`, `CSeq: ${to.cseq?.seq} ${to.cseq?.method}`, 'Content-Length: 0', '', '');
  return Buffer.from(lines.join('\r\n'));
}

/** Waits (up to 2 s) for the final response the proxy sent for the request with this branch. */
async function finalFor(sent: Sent[], branch: string): Promise<SipMessage> {
  const deadline = Date.now() + 2_000;
  for (;;) {
    const found = sent.find((entry) => entry.message.isResponse && (entry.message.status ?? 0) >= 200 && entry.message.topVia?.branch === branch);
    if (found !== undefined) return found.message;
    if (Date.now() > deadline) throw new Error(`no final response for ${branch}; sent: ${sent.map((entry) => entry.message.status ?? entry.message.method).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

test('REGISTER and INVITE get 503 with Retry-After: 5 while the store fails; REGISTER gets 200 once it works again', async () => {
  const { core, sent, store } = proxy();
  store.failing = true;

  core.receive(register('z9hG4bKreg1', 1), ALICE);
  const registerDown = await finalFor(sent, 'z9hG4bKreg1');
  assert.equal(registerDown.status, 503);
  assert.equal(registerDown.header('retry-after'), '5');
  assert.equal(registerDown.cseq?.method, 'REGISTER');

  core.receive(request('INVITE', 'sip:bob@example.com', 'z9hG4bKinv1'), ALICE);
  const inviteDown = await finalFor(sent, 'z9hG4bKinv1');
  assert.equal(inviteDown.status, 503);
  assert.equal(inviteDown.header('retry-after'), '5');
  assert.equal(sent.filter((entry) => entry.message.method === 'INVITE').length, 0, 'nothing forwarded');
  assert.equal(core.counters.stateStoreFailures, 2);
  assert.ok(store.calls >= 2, 'the store was asked');

  store.failing = false;
  core.receive(register('z9hG4bKreg2', 2), ALICE);
  const registerUp = await finalFor(sent, 'z9hG4bKreg2');
  assert.equal(registerUp.status, 200);
  assert.match(registerUp.header('contact') ?? '', /sip:bob@192\.0\.2\.20/);

  core.receive(request('INVITE', 'sip:bob@example.com', 'z9hG4bKinv2', { callId: 'call-2' }), ALICE);
  const deadline = Date.now() + 2_000;
  while (!sent.some((entry) => entry.message.method === 'INVITE') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 1));
  assert.equal(sent.find((entry) => entry.message.method === 'INVITE')?.message.requestUriText, 'sip:bob@192.0.2.20', 'forwarded to the binding');
  assert.equal(core.counters.stateStoreFailures, 2, 'no more failures counted');
});

test('Retry-After follows storeRetryAfterSeconds; stateless mode answers 503 the same way', async () => {
  const stateful = proxy({ storeRetryAfterSeconds: 30 });
  stateful.store.failing = true;
  stateful.core.receive(register('z9hG4bKreg30', 1), ALICE);
  const answer30 = await finalFor(stateful.sent, 'z9hG4bKreg30');
  assert.equal(answer30.status, 503);
  assert.equal(answer30.header('retry-after'), '30');

  const stateless = proxy({ stateless: true });
  stateless.store.failing = true;
  stateless.core.receive(request('INVITE', 'sip:bob@example.com', 'z9hG4bKsl1'), ALICE);
  const answerStateless = await finalFor(stateless.sent, 'z9hG4bKsl1');
  assert.equal(answerStateless.status, 503);
  assert.equal(answerStateless.header('retry-after'), '5');
  assert.equal(stateless.core.counters.stateStoreFailures, 1);
});

test('a call set up before the store failed carries on: its responses still reach the caller', async () => {
  const { core, sent, store } = proxy();
  core.receive(register('z9hG4bKreg1', 1), ALICE);
  assert.equal((await finalFor(sent, 'z9hG4bKreg1')).status, 200);
  core.receive(request('INVITE', 'sip:bob@example.com', 'z9hG4bKcall', { callId: 'call-up' }), ALICE);
  const deadline = Date.now() + 2_000;
  while (!sent.some((entry) => entry.message.method === 'INVITE') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 1));
  const forwarded = sent.find((entry) => entry.message.method === 'INVITE') as Sent;
  assert.ok(forwarded !== undefined, 'INVITE forwarded while the store worked');

  store.failing = true;
  core.receive(register('z9hG4bKreg2', 2), ALICE);
  assert.equal((await finalFor(sent, 'z9hG4bKreg2')).status, 503);

  core.receive(answer(forwarded.message, 180), forwarded.target);
  core.receive(answer(forwarded.message, 200), forwarded.target);
  const upstream = sent.filter((entry) => entry.message.isResponse && entry.message.topVia?.branch === 'z9hG4bKcall').map((entry) => entry.message.status);
  assert.deepEqual(upstream, [100, 180, 200], 'the established transaction is untouched');
  assert.equal(core.counters.stateStoreFailures, 1);
});

test('a store that throws synchronously is treated the same way', async () => {
  const sent: Sent[] = [];
  const broken: LocationStore = {
    lookup: () => {
      throw new Error('sync failure');
    },
    put: () => {
      throw new Error('sync failure');
    },
    remove: () => Promise.reject(new Error('down')),
    removeAll: () => Promise.reject(new Error('down')),
    size: () => Promise.reject(new Error('down')),
    close: () => Promise.resolve(),
  };
  const core = new ProxyCore({
    listeners: [{ protocol: 'udp', host: PROXY.address, port: PROXY.port }],
    domains: ['example.com'],
    store: broken,
    sender: { send: (target, bytes) => sent.push({ target, message: parseMessage(bytes) }) },
  });
  cores.push(core);
  core.receive(register('z9hG4bKsync1', 1), ALICE);
  core.receive(request('INVITE', 'sip:bob@example.com', 'z9hG4bKsync2'), ALICE);
  assert.equal((await finalFor(sent, 'z9hG4bKsync1')).status, 503);
  assert.equal((await finalFor(sent, 'z9hG4bKsync2')).status, 503);
  assert.equal(core.counters.stateStoreFailures, 2);
});
