import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { parseMessage, type SipMessage } from '@switchboard/sip';
import { serverTransactionKey } from '../transaction/keys.js';
import { ServerTransaction } from '../transaction/server-transaction.js';
import { DEFAULT_TIMERS } from '../transaction/timers.js';
import type { MessageSender, TransportAddress } from '../transport-address.js';
import { bestResponse, Forwarder } from './forwarding.js';
import { newProxyCounters } from './proxy-counters.js';
import { ALICE, stepRequest } from './steps/routing-step.fixture.js';

/** The forwarder alone: a server transaction of our own, targets given, what it sends recorded. */

interface Sent {
  readonly target: TransportAddress;
  readonly message: SipMessage;
}

const closers: Array<() => void> = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

function forwarder(): { forwarder: Forwarder; sent: Sent[]; sender: MessageSender } {
  const sent: Sent[] = [];
  const sender: MessageSender = { send: (target, bytes) => sent.push({ target, message: parseMessage(bytes) }) };
  const instance = new Forwarder({ listeners: [{ protocol: 'udp', host: '192.0.2.1', port: 5060 }], recordRoute: true, branchTag: 'w0', sender, timers: DEFAULT_TIMERS, counters: newProxyCounters() });
  closers.push(() => instance.close());
  return { forwarder: instance, sent, sender };
}

function server(request: SipMessage, sender: MessageSender, method?: string): ServerTransaction {
  const transaction = new ServerTransaction({ key: serverTransactionKey(request, method), request, source: ALICE, responseTarget: ALICE, sender, timers: DEFAULT_TIMERS, onTerminated: () => undefined });
  closers.push(() => transaction.terminate());
  return transaction;
}

function reply(to: SipMessage, status: number, toTag: string): SipMessage {
  const lines = [`SIP/2.0 ${status} Whatever`, ...to.headers('via').map((via) => `Via: ${via}`)];
  lines.push(`From: ${to.header('from')}`, `To: ${to.header('to')};tag=${toTag}`, `Call-ID: ${to.callId}`, `CSeq: ${to.cseq?.seq} ${to.cseq?.method}`, 'Content-Length: 0', '', '');
  return parseMessage(Buffer.from(lines.join('\r\n')));
}

const TWO_TARGETS = [
  { requestUri: 'sip:bob@192.0.2.20', nextHop: { protocol: 'udp' as const, address: '192.0.2.20', port: 5060 } },
  { requestUri: 'sip:bob@192.0.2.21', nextHop: { protocol: 'udp' as const, address: '192.0.2.21', port: 5060 } },
];

test('forwarding: forks to every target with tagged branches and our Record-Route; the best final goes upstream', () => {
  const { forwarder: instance, sent, sender } = forwarder();
  const invite = server(stepRequest('INVITE', 'sip:bob@example.com'), sender);
  instance.forward(invite, ALICE, TWO_TARGETS);
  const copies = sent.filter((entry) => entry.message.method === 'INVITE');
  assert.deepEqual(copies.map((entry) => entry.message.requestUriText), ['sip:bob@192.0.2.20', 'sip:bob@192.0.2.21']);
  assert.ok(copies.every((entry) => /^z9hG4bK-sb-[0-9a-z]+-w0\.[0-9a-z]+$/.test(entry.message.topVia?.branch ?? '')));
  assert.equal(copies[0]?.message.recordRoute[0]?.uriText, 'sip:192.0.2.1:5060;lr;sbd');
  assert.equal(instance.transactionCount, 2);
  for (const [index, status] of [[0, 486], [1, 404]] as const) {
    const copy = copies[index] as Sent;
    assert.ok(instance.receiveResponse(reply(copy.message, status, `b${index}`), copy.message.topVia?.branch ?? ''));
  }
  const upstream = sent.filter((entry) => entry.message.isResponse && entry.target === ALICE);
  assert.deepEqual(upstream.map((entry) => entry.message.status), [486], 'the first of the lowest class');
});

test('forwarding: a CANCEL before routing decided makes the INVITE 487; no usable target is 503', () => {
  const { forwarder: instance, sent, sender } = forwarder();
  const request = stepRequest('INVITE', 'sip:bob@example.com');
  const invite = server(request, sender);
  const cancel = server(stepRequest('CANCEL', 'sip:bob@example.com'), sender);
  instance.receiveCancel(cancel, invite);
  instance.forward(invite, ALICE, TWO_TARGETS);
  assert.deepEqual(sent.map((entry) => entry.message.status), [200, 487]);

  const lost = server(stepRequest('MESSAGE', 'sip:bob@example.com'), sender);
  instance.forward(lost, ALICE, [{ nextHop: { protocol: 'tls', address: '192.0.2.20', port: 5061 } }]);
  assert.equal(sent.at(-1)?.message.status, 503);
  instance.receiveCancel(server(stepRequest('CANCEL', 'sip:nobody@example.com'), sender), undefined);
  assert.equal(sent.at(-1)?.message.status, 481);
});

test('bestResponse: a 6xx wins; else the lowest class, the first of it', () => {
  const final = (status: number): { status: number; bytes: Buffer } => ({ status, bytes: Buffer.from(String(status)) });
  assert.equal(bestResponse([final(486), final(603), final(302)]).status, 603);
  assert.equal(bestResponse([final(486), final(404), final(302), final(301)]).status, 302);
});
