import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { parseMessage, type SipMessage } from '@switchboard/sip';
import { MemoryLocationStore } from '../registrar/location-store.js';
import type { SendErrorHandler, TransportAddress } from '../transport-address.js';
import { UDP_REQUEST_SIZE_LIMIT } from './message-size.js';
import { ProxyCore, type ProxyCoreOptions } from './proxy-core.js';

/**
 * RFC 3261 §18.1.1: a request over 1300 bytes (path MTU unknown) that would go over UDP goes over
 * TCP, with a TCP Via; if the connection is refused or reset it is retried over UDP.
 */

const ALICE: TransportAddress = { protocol: 'udp', address: '192.0.2.10', port: 5060 };
const CALLEE = 'sip:192.0.2.20:5070';

interface Sent {
  readonly target: TransportAddress;
  readonly message: SipMessage;
  readonly size: number;
}

const cores: ProxyCore[] = [];
afterEach(() => {
  for (const core of cores.splice(0)) core.close();
});

function proxy(refuseTcp: boolean, options: Partial<ProxyCoreOptions> = {}) {
  const sent: Sent[] = [];
  const core = new ProxyCore({
    listeners: [
      { protocol: 'udp', host: '192.0.2.1', port: 5060 },
      { protocol: 'tcp', host: '192.0.2.1', port: 5062 },
    ],
    defaultRoute: CALLEE,
    store: new MemoryLocationStore(0),
    sender: {
      send: (target: TransportAddress, bytes: Buffer, onError?: SendErrorHandler) => {
        sent.push({ target, message: parseMessage(bytes), size: bytes.length });
        if (refuseTcp && target.protocol === 'tcp') process.nextTick(() => onError?.(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })));
      },
    },
    ...options,
  });
  cores.push(core);
  return { core, sent };
}

function request(method: string, padding: number, uri = 'sip:bob@elsewhere.example', branch = 'z9hG4bKbig'): Buffer {
  return Buffer.from(
    [
      `${method} ${uri} SIP/2.0`,
      `Via: SIP/2.0/UDP ${ALICE.address}:${ALICE.port};branch=${branch}`,
      'Max-Forwards: 70',
      'From: <sip:alice@example.com>;tag=a1',
      'To: <sip:bob@elsewhere.example>',
      `Call-ID: ${branch}`,
      `CSeq: 1 ${method}`,
      `X-Padding: ${'x'.repeat(padding)}`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

const forwarded = (sent: Sent[], method: string): Sent[] => sent.filter(({ message }) => message.method === method);

async function settle(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
}

test('a request over 1300 bytes goes over TCP with a TCP Via; one under stays on UDP', async () => {
  const { core, sent } = proxy(false);
  core.receive(request('INVITE', 2000), ALICE);
  core.receive(request('INVITE', 100, undefined, 'z9hG4bKsmall'), ALICE);
  await settle();
  const [big, small] = forwarded(sent, 'INVITE');
  assert.ok(big !== undefined && small !== undefined);
  assert.ok(big.size > UDP_REQUEST_SIZE_LIMIT);
  assert.equal(big.target.protocol, 'tcp');
  assert.equal(big.target.port, 5070);
  assert.equal(big.message.topVia?.transport, 'TCP');
  assert.equal(big.message.topVia?.port, 5062, 'our TCP listener');
  assert.equal(small.target.protocol, 'udp');
  assert.equal(small.message.topVia?.transport, 'UDP');
  assert.equal(core.counters.largeRequestsOverTcp, 1);
});

test('the rule has no transport=udp exception: a large request for a transport=udp next hop goes over TCP too', async () => {
  const { core, sent } = proxy(false, { defaultRoute: `${CALLEE};transport=udp` });
  core.receive(request('MESSAGE', 2000), ALICE);
  await settle();
  assert.equal(forwarded(sent, 'MESSAGE')[0]?.target.protocol, 'tcp');
});

test('a refused TCP connection: the request is retried over UDP, same branch, UDP Via, and the transaction goes on', async () => {
  const { core, sent } = proxy(true);
  core.receive(request('INVITE', 2000), ALICE);
  await settle();
  await settle();
  const [overTcp, overUdp] = forwarded(sent, 'INVITE');
  assert.equal(overTcp?.target.protocol, 'tcp');
  assert.equal(overUdp?.target.protocol, 'udp');
  assert.equal(overUdp?.message.topVia?.transport, 'UDP');
  assert.equal(overUdp?.message.topVia?.branch, overTcp?.message.topVia?.branch);
  assert.equal(core.counters.largeRequestsUdpFallbacks, 1);
  // The callee answers over UDP: the response reaches the caller.
  const invite = overUdp.message;
  const answer = [`SIP/2.0 486 Busy Here`, ...invite.headers('via').map((via) => `Via: ${via}`), `From: ${invite.header('from')}`, `To: ${invite.header('to')};tag=b1`, `Call-ID: ${invite.callId}`, 'CSeq: 1 INVITE', 'Content-Length: 0', '', ''].join('\r\n');
  core.receive(Buffer.from(answer), { protocol: 'udp', address: '192.0.2.20', port: 5070 });
  await settle();
  assert.equal(sent.filter(({ target }) => target.address === ALICE.address).map(({ message }) => message.status).join(','), '100,486');
  assert.equal(forwarded(sent, 'ACK')[0]?.target.protocol, 'udp', 'the ACK goes where the INVITE went');
});

test('stateless: the same switch, and the same fallback', async () => {
  const { core, sent } = proxy(true, { stateless: true });
  core.receive(request('MESSAGE', 2000), ALICE);
  await settle();
  await settle();
  assert.deepEqual(forwarded(sent, 'MESSAGE').map(({ target, message }) => `${target.protocol} ${message.topVia?.transport}`), ['tcp TCP', 'udp UDP']);
});

test('only a reset or protocol-not-supported connection falls back to UDP; a TCP request never moves', async () => {
  const { isConnectionRefusal, mustLeaveUdp } = await import('./message-size.js');
  const failure = (code: string): Error => Object.assign(new Error(code), { code });
  assert.ok(isConnectionRefusal(failure('ECONNREFUSED')));
  assert.ok(isConnectionRefusal(failure('ECONNRESET')));
  assert.ok(!isConnectionRefusal(failure('ETIMEDOUT')), 'no answer at all is no reason to retry (§18.1.1)');
  assert.ok(!mustLeaveUdp({ protocol: 'tcp', address: '192.0.2.20', port: 5070 }, 9000));
  assert.ok(!mustLeaveUdp({ protocol: 'udp', address: '192.0.2.20', port: 5070 }, UDP_REQUEST_SIZE_LIMIT));
  assert.ok(mustLeaveUdp({ protocol: 'udp', address: '192.0.2.20', port: 5070 }, UDP_REQUEST_SIZE_LIMIT + 1));
});
