import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { parseMessage } from '@switchboard/sip';
import { MemoryLocationStore } from '../registrar/location-store.js';
import type { TransportAddress } from '../transport-address.js';
import { ADDED_BYTES, REGISTER_OK_UDP_BYTES } from './generated-response.js';
import { ProxyCore } from './proxy-core.js';

/**
 * The size rule for responses the proxy generates: over UDP never larger than the request they
 * answer (no reflection amplification), header bytes copied exactly.
 */

const UDP: TransportAddress = { protocol: 'udp', address: '192.0.2.10', port: 5060 };
const TCP: TransportAddress = { protocol: 'tcp', address: '192.0.2.10', port: 5060, connectionId: 3 };
const cores: ProxyCore[] = [];
afterEach(() => {
  for (const core of cores.splice(0)) core.close();
});

function proxy(): { core: ProxyCore; sent: Buffer[] } {
  const sent: Buffer[] = [];
  const core = new ProxyCore({
    listeners: [{ protocol: 'udp', host: '192.0.2.1', port: 5060 }, { protocol: 'tcp', host: '192.0.2.1', port: 5060 }],
    domains: ['example.com'],
    store: new MemoryLocationStore(0),
    sender: { send: (_target, bytes) => sent.push(bytes) },
  });
  cores.push(core);
  return { core, sent };
}

async function settle(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
}

/** A request whose display names hold `size` bytes that are not UTF-8. */
function hostile(method: string, uri: string, size: number, extra: string[] = []): Buffer {
  const name = (byte: string): string => byte.repeat(size);
  return Buffer.from(
    [`${method} ${uri} SIP/2.0`, 'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKh1', 'Max-Forwards: 70', `From: "${name('\xff')}" <sip:alice@example.com>;tag=a1`, `To: "${name('\xfe')}" <sip:bob@example.com>`, 'Call-ID: hostile-1', `CSeq: 1 ${method}`, ...extra, 'Content-Length: 0', '', ''].join('\r\n'),
    'latin1',
  );
}

const line = (bytes: Buffer, prefix: string): string | undefined => bytes.toString('latin1').split('\r\n').find((candidate) => candidate.startsWith(prefix));

test('a 12.8 KB UDP request of non-UTF-8 bytes that is too large draws a 513 no larger than itself, bytes copied', () => {
  const sent: Buffer[] = [];
  const request = hostile('OPTIONS', 'sip:bob@example.com', 6_400);
  // Over a 4 KB header limit: 513.
  const small = new ProxyCore({
    listeners: [{ protocol: 'udp', host: '192.0.2.1', port: 5060 }],
    store: new MemoryLocationStore(0),
    limits: { maxHeaderBytes: 4096 },
    sender: { send: (_target, bytes) => sent.push(bytes) },
  });
  cores.push(small);
  small.receive(request, UDP);
  const response = sent[0];
  assert.ok(response !== undefined);
  assert.match(response.toString('latin1'), /^SIP\/2\.0 513 /);
  assert.ok(response.length <= request.length, `${response.length} > ${request.length}`);
  assert.equal(line(response, 'From:'), line(request, 'From:'));
  assert.ok(line(response, 'To:')?.startsWith(line(request, 'To:') ?? '-'));
});

test('a 404 to a UDP request of non-UTF-8 bytes copies them exactly and is no larger than the request', async () => {
  const { core, sent } = proxy();
  const request = hostile('MESSAGE', 'sip:nobody@example.com', 6_400);
  core.receive(request, UDP);
  await settle();
  const response = sent.at(-1);
  assert.ok(response !== undefined);
  assert.match(response.toString('latin1'), /^SIP\/2\.0 404 /);
  assert.ok(response.length <= request.length, `${response.length} > ${request.length}`);
  assert.equal(line(response, 'From:'), line(request, 'From:'));
  assert.ok(line(response, 'To:')?.startsWith(line(request, 'To:') ?? '-'));
});

test('over UDP a 200 to OPTIONS larger than the request is cut to the copied headers; over TCP it is whole', async () => {
  const { core, sent } = proxy();
  const request = hostile('OPTIONS', 'sip:192.0.2.1:5060', 1);
  core.receive(request, UDP);
  await settle();
  const cut = sent.at(-1);
  assert.ok(cut !== undefined);
  assert.match(cut.toString('latin1'), /^SIP\/2\.0 200 /);
  assert.ok(cut.length <= request.length);
  assert.equal(line(cut, 'Allow:'), undefined);
  const again = Buffer.from(request.toString('latin1').replace('z9hG4bKh1', 'z9hG4bKh2').replace('hostile-1', 'hostile-2'), 'latin1');
  core.receive(again, TCP);
  await settle();
  const whole = sent.at(-1);
  assert.ok(whole !== undefined && whole.length > request.length);
  assert.match(line(whole, 'Allow:') ?? '', /OPTIONS/);
});

test('over UDP a response whose minimal form still outgrows the request is dropped and counted, 100 Trying included', async () => {
  const { core, sent } = proxy();
  // Compact header names, written out in full in the answer: each of 100 Via lines grows by 2
  // bytes, beyond what a response may add (ADDED_BYTES).
  const tiny = (method: string, branch: string): Buffer => {
    const vias = Array.from({ length: 100 }, (_, i) => `v:SIP/2.0/UDP h${i};branch=${branch}${i}`);
    return Buffer.from([`${method} sip:example.com SIP/2.0`, ...vias, 'f:<sip:a@b>;tag=1', 't:<sip:c@d>', `i:${branch}`, `CSeq:1 ${method}`, '', ''].join('\r\n'));
  };
  core.receive(tiny('OPTIONS', 'z9hG4bKt1'), UDP);
  core.receive(tiny('INVITE', 'z9hG4bKt2'), UDP);
  await settle();
  assert.deepEqual(sent, []);
  assert.equal(core.counters.oversizedResponsesDropped, 3, '200, 100 and 404');
  assert.equal(core.transactionCount, 0, 'no transaction is left waiting');
  core.receive(tiny('OPTIONS', 'z9hG4bKt3'), TCP);
  await settle();
  assert.equal(sent.length, 1, 'over TCP the answer goes');
});

test('the answer to a request of only the mandatory headers is sent: what a response must add is allowed', async () => {
  const { core, sent } = proxy();
  const register = Buffer.from(['REGISTER sip:example.com SIP/2.0', 'Via: SIP/2.0/UDP 10.9.9.9:5070;branch=z9hG4bKm1;rport', 'Max-Forwards: 70', 'To: <sip:bob@example.com>', 'From: <sip:bob@example.com>;tag=1', 'Call-ID: m1', 'CSeq: 1 REGISTER', 'Contact: <sip:bob@10.9.9.9:5070>', 'Expires: 600', 'Content-Length: 0', '', ''].join('\r\n'));
  core.receive(register, UDP);
  await settle();
  const answer = sent.at(-1);
  assert.match(answer?.toString('latin1') ?? '', /^SIP\/2\.0 200 OK\r\n/);
  assert.match(answer?.toString('latin1') ?? '', /\r\nContact: <sip:bob@10\.9\.9\.9:5070>;expires=600\r\n/);
  assert.equal(core.counters.oversizedResponsesDropped, 0);
});

test('over UDP a 200 to REGISTER lists every binding of the AOR up to REGISTER_OK_UDP_BYTES, whatever the request size', async () => {
  const { core, sent } = proxy();
  const register = (phone: number, contacts: number): Buffer =>
    Buffer.from(['REGISTER sip:example.com SIP/2.0', `Via: SIP/2.0/UDP 10.9.9.9:5070;branch=z9hG4bKb${phone}-${contacts};rport`, 'Max-Forwards: 70', 'To: <sip:bob@example.com>', 'From: <sip:bob@example.com>;tag=1', `Call-ID: b${phone}`, `CSeq: ${contacts} REGISTER`, ...Array.from({ length: contacts }, (_, index) => `Contact: <sip:bob@10.9.${phone}.${index}:5070>`), 'Expires: 600', 'Content-Length: 0', '', ''].join('\r\n'));
  // Six phones of one AOR: each REGISTER is about 300 bytes and its 200 lists six bindings.
  for (let phone = 1; phone <= 6; phone++) core.receive(register(phone, 1), UDP);
  await settle();
  const sixth = sent.at(-1)?.toString('latin1') ?? '';
  assert.match(sixth, /^SIP\/2\.0 200 OK\r\n/);
  assert.equal(sixth.split('\r\n').filter((header) => header.startsWith('Contact:')).length, 6);
  assert.ok(sent.at(-1)!.length > register(6, 1).length + ADDED_BYTES, 'larger than the plain rule allows');
  assert.equal(core.counters.oversizedResponsesDropped, 0);
  // Past the constant the 200 cannot be sent over UDP: dropped and counted, as before.
  for (let phone = 7; phone <= 40; phone++) core.receive(register(phone, 1), UDP);
  await settle();
  assert.ok(core.counters.oversizedResponsesDropped > 0);
  assert.ok(sent.every((bytes) => bytes.length <= REGISTER_OK_UDP_BYTES));
});

test('a Via stamped with received and rport keeps its other bytes, in the response and in the forwarded request', async () => {
  const sent: Array<{ target: TransportAddress; bytes: Buffer }> = [];
  const core = new ProxyCore({
    listeners: [{ protocol: 'udp', host: '192.0.2.1', port: 5060 }],
    domains: ['example.com'],
    defaultRoute: 'sip:192.0.2.99:5060',
    store: new MemoryLocationStore(0),
    sender: { send: (target, bytes) => sent.push({ target, bytes }) },
  });
  cores.push(core);
  const via = (branch: string): string => `Via: SIP/2.0/UDP 10.0.0.1;rport;branch=${branch};x="\xff\xe9 \xfe"`;
  const request = (method: string, uri: string, branch: string): Buffer =>
    Buffer.from([`${method} ${uri} SIP/2.0`, via(branch), 'Max-Forwards: 70', 'From: <sip:a@example.com>;tag=1', 'To: <sip:b@example.com>', `Call-ID: stamp-${branch}`, `CSeq: 1 ${method}`, 'User-Agent: a client with a few more bytes than the minimum', 'Content-Length: 0', '', ''].join('\r\n'), 'latin1');
  core.receive(request('MESSAGE', 'sip:nobody@example.com', 'z9hG4bKs1'), UDP);
  core.receive(request('MESSAGE', 'sip:carol@elsewhere.example', 'z9hG4bKs2'), UDP);
  await settle();
  const stamped = (branch: string): string => `${via(branch).replace(';rport;', `;rport=${UDP.port};`)};received=${UDP.address}`;
  const response = sent.find((entry) => entry.bytes.toString('latin1').startsWith('SIP/2.0 404'));
  assert.equal(line(response?.bytes ?? Buffer.alloc(0), 'Via:'), stamped('z9hG4bKs1'));
  const forwarded = sent.find((entry) => entry.target.address === '192.0.2.99');
  const vias = (forwarded?.bytes.toString('latin1') ?? '').split('\r\n').filter((candidate) => candidate.startsWith('Via:'));
  assert.equal(vias[1], stamped('z9hG4bKs2'), 'the Via below ours');
});

test('a Proxy-Require tag that is not a token draws 400, not a 420 echoing it three times larger', async () => {
  const { core, sent } = proxy();
  const tags = Buffer.alloc(3000, 0xff).toString('latin1');
  const request = Buffer.from(['OPTIONS sip:carol@elsewhere.example SIP/2.0', 'Via: SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bKpr', 'Max-Forwards: 70', 'From: <sip:a@example.com>;tag=1', 'To: <sip:b@example.com>', 'Call-ID: pr-1', 'CSeq: 1 OPTIONS', `Proxy-Require: ${tags}`, 'Content-Length: 0', '', ''].join('\r\n'), 'latin1');
  core.receive(request, TCP);
  await settle();
  const response = sent.at(-1);
  assert.match(response?.toString('latin1') ?? '', /^SIP\/2\.0 400 /);
  assert.ok((response?.length ?? Infinity) < request.length);
});
