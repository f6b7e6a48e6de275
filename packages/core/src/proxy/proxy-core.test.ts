import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { parseMessage, type SipMessage } from '@switchboard/sip';
import { MemoryLocationStore } from '../registrar/location-store.js';
import type { TransportAddress } from '../transport-address.js';
import { ProxyCore, type ProxyCoreOptions } from './proxy-core.js';

/**
 * The proxy core driven directly: messages go in through `receive`, and what it sends is
 * recorded, so each RFC 3261 §16 behaviour can be checked message by message.
 */

const PROXY = { address: '192.0.2.1', port: 5060 };
const ALICE: TransportAddress = { protocol: 'udp', address: '192.0.2.10', port: 5060 };

interface Sent {
  readonly target: TransportAddress;
  readonly message: SipMessage;
}

const cores: ProxyCore[] = [];
afterEach(async () => {
  for (const core of cores.splice(0)) core.close();
});

function proxy(options: Partial<ProxyCoreOptions> = {}): { core: ProxyCore; sent: Sent[]; store: MemoryLocationStore } {
  const sent: Sent[] = [];
  const store = new MemoryLocationStore(0);
  const core = new ProxyCore({
    listeners: [
      { protocol: 'udp', host: PROXY.address, port: PROXY.port },
      { protocol: 'tcp', host: PROXY.address, port: PROXY.port },
    ],
    domains: ['example.com'],
    store,
    sender: { send: (target, bytes) => sent.push({ target, message: parseMessage(bytes) }) },
    ...options,
  });
  cores.push(core);
  return { core, sent, store };
}

function request(method: string, uri: string, extra: string[] = [], branch = 'z9hG4bKalice1', cseq = 1): Buffer {
  return Buffer.from(
    [
      `${method} ${uri} SIP/2.0`,
      `Via: SIP/2.0/UDP ${ALICE.address}:${ALICE.port};branch=${branch}`,
      'Max-Forwards: 70',
      'From: <sip:alice@example.com>;tag=a1',
      'To: <sip:bob@example.com>',
      'Call-ID: call-1',
      `CSeq: ${cseq} ${method}`,
      'Contact: <sip:alice@192.0.2.10>',
      ...extra,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

/** A response to a request the proxy sent, as the callee would write it. */
function answer(to: SipMessage, status: number, toTag = 'b1'): Buffer {
  const lines = [`SIP/2.0 ${status} Whatever`];
  for (const via of to.headers('via')) lines.push(`Via: ${via}`);
  for (const rr of to.headers('record-route')) lines.push(`Record-Route: ${rr}`);
  lines.push(`From: ${to.header('from')}`, `To: ${to.header('to')};tag=${toTag}`, `Call-ID: ${to.callId}`, `CSeq: ${to.cseq?.seq} ${to.cseq?.method}`, 'Content-Length: 0', '', '');
  return Buffer.from(lines.join('\r\n'));
}

async function settle(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
}

test('parallel forking: the first 2xx goes upstream, the other branch is cancelled and its 487 absorbed', async () => {
  const { core, sent } = proxy();
  core.receive(Buffer.from(request('REGISTER', 'sip:example.com', ['Expires: 600'], 'z9hG4bKr1').toString().replace('Contact: <sip:alice@192.0.2.10>', 'Contact: <sip:bob@192.0.2.20>, <sip:bob@192.0.2.21>')), ALICE);
  await settle();
  assert.equal(sent.at(-1)?.message.status, 200, 'two bindings registered');
  sent.length = 0;

  core.receive(request('INVITE', 'sip:bob@example.com'), ALICE);
  await settle();
  const invites = sent.filter((entry) => entry.message.method === 'INVITE');
  assert.equal(sent[0]?.message.status, 100, '100 Trying first');
  assert.deepEqual(invites.map((entry) => entry.message.requestUriText).sort(), ['sip:bob@192.0.2.20', 'sip:bob@192.0.2.21']);
  assert.notEqual(invites[0]?.message.topVia?.branch, invites[1]?.message.topVia?.branch);
  assert.equal(invites[0]?.message.maxForwards, 69);
  assert.equal(invites[0]?.message.recordRoute[0]?.uriText, 'sip:192.0.2.1:5060;lr;sbd');
  const [first, second] = invites as [Sent, Sent];

  core.receive(answer(first.message, 180, 'b1'), first.target);
  core.receive(answer(second.message, 180, 'b2'), second.target);
  core.receive(answer(first.message, 200, 'b1'), first.target);
  const upstream = sent.filter((entry) => entry.message.isResponse && entry.target.address === ALICE.address);
  assert.deepEqual(upstream.map((entry) => entry.message.status), [100, 180, 180, 200]);
  assert.equal(upstream.at(-1)?.message.via.length, 1, 'our Via is taken off');
  const cancel = sent.find((entry) => entry.message.method === 'CANCEL');
  assert.equal(cancel?.message.requestUriText, second.message.requestUriText);
  assert.equal(cancel?.message.topVia?.branch, second.message.topVia?.branch);

  core.receive(answer(second.message, 487, 'b2'), second.target);
  const ack = sent.find((entry) => entry.message.method === 'ACK');
  assert.equal(ack?.target.address, '192.0.2.21', 'the proxy ACKs the 487 itself');
  assert.equal(sent.filter((entry) => entry.message.status === 487).length, 0, 'the 487 is not passed upstream');
});

test('response selection: a 6xx wins over a 4xx; 4xx from every branch gives the first of the lowest class', async () => {
  const { core, sent } = proxy();
  core.receive(Buffer.from(request('REGISTER', 'sip:example.com', ['Expires: 600'], 'z9hG4bKr1').toString().replace('Contact: <sip:alice@192.0.2.10>', 'Contact: <sip:bob@192.0.2.20>, <sip:bob@192.0.2.21>')), ALICE);
  await settle();
  core.receive(request('INVITE', 'sip:bob@example.com'), ALICE);
  await settle();
  const [first, second] = sent.filter((entry) => entry.message.method === 'INVITE') as [Sent, Sent];
  core.receive(answer(first.message, 486), first.target);
  core.receive(answer(second.message, 603), second.target);
  const finals = sent.filter((entry) => entry.target.address === ALICE.address && (entry.message.status ?? 0) >= 300);
  assert.deepEqual(finals.map((entry) => entry.message.status), [603]);
});

test('an unregistered user of a local domain gets 404; OPTIONS to the proxy 200; REGISTER 423 below Min-Expires', async () => {
  const { core, sent } = proxy();
  core.receive(request('INVITE', 'sip:nobody@example.com'), ALICE);
  await settle();
  assert.equal(sent.at(-1)?.message.status, 404);
  // Over TCP: over UDP a 200 larger than the request is cut down (see generated-response.test.ts).
  core.receive(request('OPTIONS', 'sip:192.0.2.1:5060', [], 'z9hG4bKo'), { ...ALICE, protocol: 'tcp', connectionId: 1 });
  await settle();
  assert.equal(sent.at(-1)?.message.status, 200);
  assert.match(sent.at(-1)?.message.header('allow') ?? '', /INVITE/);
  core.receive(request('REGISTER', 'sip:example.com', ['Expires: 5'], 'z9hG4bKshort'), ALICE);
  await settle();
  assert.equal(sent.at(-1)?.message.status, 423);
  assert.equal(sent.at(-1)?.message.header('min-expires'), '60');
});

test('a request that comes back unchanged is a loop (482); retransmissions are absorbed', async () => {
  const { core, sent } = proxy({ defaultRoute: 'sip:192.0.2.1:5060' });
  core.receive(request('OPTIONS', 'sip:carol@elsewhere.example'), ALICE);
  core.receive(request('OPTIONS', 'sip:carol@elsewhere.example'), ALICE);
  await settle();
  assert.equal(core.counters.retransmissionsAbsorbed, 1);
  const forwarded = sent.find((entry) => entry.message.method === 'OPTIONS');
  assert.ok(forwarded);
  core.receive(forwarded.message.serialize(), { protocol: 'udp', address: PROXY.address, port: PROXY.port });
  await settle();
  assert.equal(sent.at(-1)?.message.status, 482);
  assert.equal(core.counters.loopsDetected, 1);
});

test('loose routing drops our Route; a strict next hop gets its URI as Request-URI', async () => {
  const { core, sent } = proxy();
  core.receive(request('BYE', 'sip:bob@192.0.2.20', ['Route: <sip:192.0.2.1:5060;lr>, <sip:strict.example.net>, <sip:last.example.net;lr>'], 'z9hG4bKbye', 2), ALICE);
  await settle();
  const bye = sent.find((entry) => entry.message.method === 'BYE');
  assert.equal(bye?.message.requestUriText, 'sip:strict.example.net');
  assert.deepEqual(bye?.message.route.map((hop) => hop.uriText), ['sip:last.example.net;lr', 'sip:bob@192.0.2.20']);
  assert.deepEqual(bye?.target, { protocol: 'udp', address: 'strict.example.net', port: 5060 });
  assert.equal(bye?.message.recordRoute.length, 0, 'BYE is not record-routed');
});

test('double Record-Route when the transport changes; received and rport stamped on the Via', async () => {
  const { core, sent } = proxy({ defaultRoute: 'sip:192.0.2.30:5060;transport=tcp' });
  const natted: TransportAddress = { protocol: 'udp', address: '203.0.113.7', port: 40000 };
  core.receive(Buffer.from(request('INVITE', 'sip:carol@elsewhere.example').toString().replace(';branch=', ';rport;branch=')), natted);
  await settle();
  const invite = sent.find((entry) => entry.message.method === 'INVITE');
  assert.equal(invite?.target.protocol, 'tcp');
  assert.deepEqual(invite?.message.recordRoute.map((hop) => hop.uriText), ['sip:192.0.2.1:5060;transport=tcp;lr;sbd', 'sip:192.0.2.1:5060;lr;sbd']);
  assert.equal(invite?.message.topVia?.transport, 'TCP');
  const stamped = invite?.message.via[1];
  assert.equal(stamped?.received, '203.0.113.7');
  assert.equal(stamped?.rport, 40000);
  assert.deepEqual(sent[0]?.target, natted, '100 Trying goes back where the request came from');
});

test('TLS: a sips: contact is reached over TLS with a SIPS Record-Route; transport=tls with a sip: one', async () => {
  const tlsListeners: ProxyCoreOptions['listeners'] = [
    { protocol: 'udp', host: PROXY.address, port: PROXY.port },
    { protocol: 'tls', host: PROXY.address, port: 5061 },
  ];
  const { core, sent } = proxy({ listeners: tlsListeners });
  const register = (contact: string, branch: string): void =>
    core.receive(Buffer.from(request('REGISTER', 'sip:example.com', ['Expires: 600'], branch).toString().replace('Contact: <sip:alice@192.0.2.10>', `Contact: <${contact}>`)), ALICE);
  register('sips:bob@192.0.2.20:5071', 'z9hG4bKr1');
  await settle();
  core.receive(request('INVITE', 'sip:bob@example.com', [], 'z9hG4bKi1'), ALICE);
  await settle();
  const invite = sent.find((entry) => entry.message.method === 'INVITE');
  assert.deepEqual(invite?.target, { protocol: 'tls', address: '192.0.2.20', port: 5071 });
  assert.equal(invite?.message.requestUriText, 'sips:bob@192.0.2.20:5071');
  assert.equal(invite?.message.topVia?.transport, 'TLS');
  assert.equal(invite?.message.topVia?.port, 5061);
  assert.deepEqual(invite?.message.recordRoute.map((hop) => hop.uriText), ['sips:192.0.2.1:5061;lr;sbd', 'sip:192.0.2.1:5060;lr;sbd']);

  // The caller's in-dialog BYE through our SIPS Record-Route goes on to the contact over TLS.
  sent.length = 0;
  core.receive(request('BYE', 'sips:bob@192.0.2.20:5071', ['Route: <sips:192.0.2.1:5061;lr;sbd>'], 'z9hG4bKb1', 2), ALICE);
  await settle();
  assert.deepEqual(sent.find((entry) => entry.message.method === 'BYE')?.target, { protocol: 'tls', address: '192.0.2.20', port: 5071 });

  const plain = proxy({ listeners: tlsListeners, defaultRoute: 'sip:192.0.2.30;transport=tls' });
  plain.core.receive(request('INVITE', 'sip:carol@elsewhere.example', [], 'z9hG4bKi2'), ALICE);
  await settle();
  const forwarded = plain.sent.find((entry) => entry.message.method === 'INVITE');
  assert.deepEqual(forwarded?.target, { protocol: 'tls', address: '192.0.2.30', port: 5061 });
  assert.equal(forwarded?.message.recordRoute[0]?.uriText, 'sip:192.0.2.1:5061;transport=tls;lr;sbd');
});

test('stateless mode forwards with a stable branch and keeps no transactions', async () => {
  const { core, sent } = proxy({ stateless: true, defaultRoute: 'sip:192.0.2.30:5060' });
  core.receive(request('INVITE', 'sip:carol@elsewhere.example'), ALICE);
  core.receive(request('INVITE', 'sip:carol@elsewhere.example'), ALICE);
  await settle();
  const invites = sent.filter((entry) => entry.message.method === 'INVITE');
  assert.equal(invites.length, 2, 'the retransmission is forwarded too');
  assert.equal(invites[0]?.message.topVia?.branch, invites[1]?.message.topVia?.branch);
  assert.equal(sent.some((entry) => entry.message.status === 100), false);
  assert.equal(core.transactionCount, 0);
  core.receive(answer(invites[0]!.message, 200), { protocol: 'udp', address: '192.0.2.30', port: 5060 });
  assert.deepEqual(sent.at(-1)?.target, ALICE, 'the response goes back by the Via');
});

test('CANCEL of an unknown transaction gets 481; Max-Forwards 0 gets 483; unsupported Proxy-Require 420', async () => {
  const { core, sent } = proxy({ defaultRoute: 'sip:192.0.2.30:5060' });
  core.receive(request('CANCEL', 'sip:carol@elsewhere.example', [], 'z9hG4bKnothing'), ALICE);
  await settle();
  assert.equal(sent.at(-1)?.message.status, 481);
  core.receive(Buffer.from(request('MESSAGE', 'sip:carol@elsewhere.example', [], 'z9hG4bKmf').toString().replace('Max-Forwards: 70', 'Max-Forwards: 0')), ALICE);
  await settle();
  assert.equal(sent.at(-1)?.message.status, 483);
  core.receive(request('MESSAGE', 'sip:carol@elsewhere.example', ['Proxy-Require: foo, bar'], 'z9hG4bKpr'), ALICE);
  await settle();
  assert.equal(sent.at(-1)?.message.status, 420);
  assert.equal(sent.at(-1)?.message.header('unsupported'), 'foo, bar');
});
