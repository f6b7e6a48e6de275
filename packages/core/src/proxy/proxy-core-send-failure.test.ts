import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { parseMessage, type SipMessage } from '@switchboard/sip';
import { MemoryLocationStore, type Binding, type LocationStore } from '../registrar/location-store.js';
import type { SendErrorHandler, TransportAddress } from '../transport-address.js';
import { ProxyCore, type ProxyCoreOptions } from './proxy-core.js';

/**
 * Failures that are not the peer's fault: a transport that cannot send (RFC 3261 §18.4, §16.9)
 * and bugs in one message's handling. Neither may escape `receive` or a callback and stop the
 * process; a failed branch is a 503 at once; a bug is counted and answered 500.
 */

const PROXY = { address: '192.0.2.1', port: 5060 };
const ALICE: TransportAddress = { protocol: 'udp', address: '192.0.2.10', port: 5060 };
const CALLEE_PORT = 5070;

interface Sent {
  readonly target: TransportAddress;
  readonly message: SipMessage;
}

const cores: ProxyCore[] = [];
afterEach(() => {
  for (const core of cores.splice(0)) core.close();
});

/** A proxy whose sender fails every send `fails` says it must: by throwing, or by calling back. */
function proxy(fails: (target: TransportAddress) => 'throw' | 'report' | undefined, options: Partial<ProxyCoreOptions> = {}) {
  const sent: Sent[] = [];
  const core = new ProxyCore({
    listeners: [{ protocol: 'udp', host: PROXY.address, port: PROXY.port }],
    domains: ['example.com'],
    defaultRoute: `sip:192.0.2.20:${CALLEE_PORT}`,
    store: new MemoryLocationStore(0),
    sender: {
      send: (target: TransportAddress, bytes: Buffer, onError?: SendErrorHandler) => {
        const how = fails(target);
        if (how === 'throw') throw Object.assign(new RangeError('Port should be > 0 and < 65536'), { code: 'ERR_SOCKET_BAD_PORT' });
        if (how === 'report') {
          process.nextTick(() => onError?.(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })));
          return;
        }
        sent.push({ target, message: parseMessage(bytes) });
      },
    },
    ...options,
  });
  cores.push(core);
  return { core, sent };
}

function invite(uri = 'sip:carol@elsewhere.example', branch = 'z9hG4bKa1'): Buffer {
  return Buffer.from(
    [
      `INVITE ${uri} SIP/2.0`,
      `Via: SIP/2.0/UDP ${ALICE.address}:${ALICE.port};branch=${branch}`,
      'Max-Forwards: 70',
      'From: <sip:alice@example.com>;tag=a1',
      'To: <sip:carol@elsewhere.example>',
      `Call-ID: call-${branch}`,
      'CSeq: 1 INVITE',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

async function settle(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
}

test('a sender that throws (dgram on port 0) never makes receive throw; the failure is counted', async () => {
  const { core } = proxy(() => 'throw');
  assert.doesNotThrow(() => core.receive(invite(), ALICE));
  await settle();
  assert.ok(core.counters.transportErrors >= 2, 'the 100 Trying and the forwarded INVITE');
  assert.equal(core.counters.internalErrors, 0);
});

test('a branch whose send fails is a 503 at once (§16.9), answered upstream as 500 without waiting for timer B', async () => {
  const { core, sent } = proxy((target) => (target.port === CALLEE_PORT ? 'report' : undefined));
  core.receive(invite(), ALICE);
  await settle();
  await settle();
  assert.deepEqual(
    sent.map(({ message }) => `${message.status} ${message.reason}`),
    ['100 Trying', '500 Downstream Service Unavailable'],
  );
  assert.equal(core.counters.transportErrors, 1);
  assert.equal(core.transactionCount, 1, 'the client transaction has ended; the server one lingers');
});

test('a bug while handling a message is counted and dropped, and the next message is served', async () => {
  let calls = 0;
  const { core, sent } = proxy(() => undefined, {
    handOff: () => {
      calls++;
      if (calls === 1) throw new TypeError('a bug');
      return false;
    },
  });
  assert.doesNotThrow(() => core.receive(invite(undefined, 'z9hG4bKb1'), ALICE));
  assert.equal(core.counters.internalErrors, 1);
  core.receive(invite(undefined, 'z9hG4bKb2'), ALICE);
  await settle();
  assert.equal(sent.filter(({ message }) => message.method === 'INVITE').length, 1, 'the next INVITE is forwarded');
});

test('a store that answers nonsense: the request gets 500 and the bug is counted', async () => {
  const store = new MemoryLocationStore(0);
  const broken: LocationStore = Object.assign(Object.create(store) as LocationStore, {
    lookup: async (): Promise<Binding[]> => null as unknown as Binding[],
  });
  const { core, sent } = proxy(() => undefined, { store: broken });
  core.receive(invite('sip:bob@example.com'), ALICE);
  await settle();
  assert.equal(sent.at(-1)?.message.status, 500);
  assert.equal(core.counters.internalErrors, 1);
});

test('stateless: a request with no next hop is answered 503 and counted; an ACK is counted and dropped', async () => {
  const { core, sent } = proxy(() => undefined, { stateless: true });
  const withRoute = (method: string, branch: string): Buffer =>
    Buffer.from(invite(undefined, branch).toString().replace(/INVITE/g, method).replace('Max-Forwards: 70', 'Max-Forwards: 70\r\nRoute: <tel:+15551234>'));
  core.receive(withRoute('OPTIONS', 'z9hG4bKn1'), ALICE);
  core.receive(withRoute('ACK', 'z9hG4bKn2'), ALICE);
  await settle();
  assert.deepEqual(sent.map(({ message }) => `${message.status} ${message.reason}`), ['503 No route to the target']);
  assert.equal(core.counters.requestsUnroutable, 2);
});
