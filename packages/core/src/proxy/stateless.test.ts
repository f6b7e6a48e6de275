import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMessage, type SipMessage } from '@switchboard/sip';
import type { TransportAddress } from '../transport-address.js';
import { newProxyCounters } from './proxy-counters.js';
import { forwardStatelessly, type StatelessOptions } from './stateless.js';
import { ALICE, stepRequest } from './steps/routing-step.fixture.js';

function stateless(): { options: StatelessOptions; sent: Array<{ target: TransportAddress; message: SipMessage }> } {
  const sent: Array<{ target: TransportAddress; message: SipMessage }> = [];
  const options: StatelessOptions = {
    listeners: [{ protocol: 'udp', host: '192.0.2.1', port: 5060 }],
    sender: { send: (target, bytes) => sent.push({ target, message: parseMessage(bytes) }) },
    counters: newProxyCounters(),
  };
  return { options, sent };
}

test('stateless: one copy per target with our Via, the same branch for a retransmission, no Record-Route', () => {
  const { options, sent } = stateless();
  const targets = [{ nextHop: { protocol: 'udp' as const, address: '192.0.2.30', port: 5060 } }];
  forwardStatelessly(stepRequest('INVITE', 'sip:carol@elsewhere.example'), ALICE, targets, options);
  forwardStatelessly(stepRequest('INVITE', 'sip:carol@elsewhere.example'), ALICE, targets, options);
  assert.equal(sent.length, 2);
  const [first, second] = sent as [(typeof sent)[0], (typeof sent)[0]];
  assert.deepEqual(first.target, targets[0]?.nextHop);
  assert.match(first.message.topVia?.branch ?? '', /^z9hG4bK-sb-[0-9a-z]+-s[0-9a-z]+$/);
  assert.equal(first.message.topVia?.branch, second.message.topVia?.branch);
  assert.equal(first.message.maxForwards, 69);
  assert.equal(first.message.recordRoute.length, 0);
  assert.equal(options.counters.requestsForwarded, 2);
});

test('stateless: a target we cannot send to gets no copy; with none left the request gets 503 (an ACK nothing)', () => {
  const { options, sent } = stateless();
  forwardStatelessly(stepRequest('MESSAGE', 'sip:carol@elsewhere.example;transport=tls'), ALICE, [{}], options);
  assert.deepEqual(sent.map((entry) => [entry.target, entry.message.status, entry.message.reason]), [[ALICE, 503, 'Transport Not Available']]);
  assert.equal(options.counters.transportUnavailable, 1);
  assert.equal(options.counters.requestsForwarded, 0);
  forwardStatelessly(stepRequest('ACK', 'tel:+15550100'), ALICE, [{}], options);
  assert.equal(sent.length, 1);
  assert.equal(options.counters.requestsUnroutable, 1);
});
