import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { parseMessage, type SipMessage } from '@switchboard/sip';
import { MemoryLocationStore } from '../registrar/location-store.js';
import type { TransportAddress } from '../transport-address.js';
import { ProxyCore } from './proxy-core.js';

/** RFC 3261 §11: OPTIONS addressed to the server itself, by listener address or served domain. */

const TCP: TransportAddress = { protocol: 'tcp', address: '192.0.2.10', port: 5060, connectionId: 7 };
const cores: ProxyCore[] = [];
afterEach(() => {
  for (const core of cores.splice(0)) core.close();
});

function proxy(): { core: ProxyCore; sent: SipMessage[] } {
  const sent: SipMessage[] = [];
  const core = new ProxyCore({
    listeners: [{ protocol: 'tcp', host: '192.0.2.1', port: 5060 }],
    domains: ['example.com'],
    supported: ['path'],
    store: new MemoryLocationStore(0),
    sender: { send: (_target, bytes) => sent.push(parseMessage(bytes)) },
  });
  cores.push(core);
  return { core, sent };
}

function request(method: string, uri: string, maxForwards = 70, branch = `z9hG4bK${method}${maxForwards}`): Buffer {
  return Buffer.from(
    [`${method} ${uri} SIP/2.0`, `Via: SIP/2.0/TCP 192.0.2.10:5060;branch=${branch}`, `Max-Forwards: ${maxForwards}`, 'From: <sip:alice@example.com>;tag=a1', 'To: <sip:example.com>', `Call-ID: options-${branch}`, `CSeq: 1 ${method}`, 'Content-Length: 0', '', ''].join('\r\n'),
  );
}

async function exchange(core: ProxyCore, sent: SipMessage[], bytes: Buffer): Promise<SipMessage | undefined> {
  sent.length = 0;
  core.receive(bytes, TCP);
  await new Promise((resolve) => setImmediate(resolve));
  return sent.find((message) => (message.status ?? 0) >= 200);
}

function assertCapabilities(response: SipMessage | undefined): void {
  assert.equal(response?.status, 200);
  assert.match(response.header('allow') ?? '', /\bOPTIONS\b/);
  assert.match(response.header('allow') ?? '', /\bREGISTER\b/);
  assert.equal(response.header('accept'), 'application/sdp');
  assert.equal(response.header('accept-encoding'), 'identity');
  assert.equal(response.header('accept-language'), 'en');
  assert.deepEqual(response.optionTags('supported'), ['path']);
}

test('OPTIONS to a served domain without a user part is for the server: 200 with its capabilities (§11.2)', async () => {
  const { core, sent } = proxy();
  assertCapabilities(await exchange(core, sent, request('OPTIONS', 'sip:example.com')));
  assertCapabilities(await exchange(core, sent, request('OPTIONS', 'sip:EXAMPLE.com', 70, 'z9hG4bKcase')));
  assertCapabilities(await exchange(core, sent, request('OPTIONS', 'sip:192.0.2.1:5060')));
});

test('OPTIONS with Max-Forwards 0 to a served domain or to us gets the 200, not 483', async () => {
  const { core, sent } = proxy();
  assertCapabilities(await exchange(core, sent, request('OPTIONS', 'sip:example.com', 0)));
  assertCapabilities(await exchange(core, sent, request('OPTIONS', 'sip:192.0.2.1:5060', 0)));
  assert.equal((await exchange(core, sent, request('OPTIONS', 'sip:bob@example.com', 0)))?.status, 483, 'a user is not the server');
  assert.equal((await exchange(core, sent, request('OPTIONS', 'sip:elsewhere.example', 0)))?.status, 483);
});

test('other methods to a served domain without a user part get 404, as to the proxy address', async () => {
  const { core, sent } = proxy();
  assert.equal((await exchange(core, sent, request('INVITE', 'sip:example.com')))?.status, 404);
  assert.equal((await exchange(core, sent, request('MESSAGE', 'sip:example.com')))?.status, 404);
  assert.equal((await exchange(core, sent, request('MESSAGE', 'sip:192.0.2.1:5060')))?.status, 404);
  assert.equal((await exchange(core, sent, request('OPTIONS', 'sip:nobody@example.com')))?.status, 404, 'an unregistered user');
});
