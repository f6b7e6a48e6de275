import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { parseMessage, type SipMessage } from '@switchboard/sip';
import type { TransportAddress } from '../transport-address.js';
import { ClientTransaction } from './client-transaction.js';
import { clientTransactionKey } from './keys.js';
import { RecordingSender, sipRequest, sipResponse, mockedTimerQueue } from './test-support.js';
import { DEFAULT_TIMERS } from './timers.js';

const UDP: TransportAddress = { protocol: 'udp', address: '198.51.100.9', port: 5060 };
const TCP: TransportAddress = { protocol: 'tcp', address: '198.51.100.9', port: 5060 };

/** The transactions' timers run on a queue of their own, on the mocked clock. */
let timerQueue = mockedTimerQueue();
beforeEach(() => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  timerQueue = mockedTimerQueue();
});
afterEach(() => mock.timers.reset());

function clientTransaction(method: string, target: TransportAddress) {
  const sender = new RecordingSender();
  const responses: number[] = [];
  const events: string[] = [];
  const transaction = new ClientTransaction({
    key: clientTransactionKey('z9hG4bK-c1', method),
    method,
    bytes: sipRequest(method, 'z9hG4bK-c1'),
    target,
    sender,
    timers: DEFAULT_TIMERS,
    timerQueue,
    buildAck: (response: SipMessage) => Buffer.from(`ACK for ${response.status}\r\n`),
    onResponse: (response) => responses.push(response.status ?? 0),
    onTimeout: () => events.push('timeout'),
    onTerminated: () => events.push('terminated'),
  });
  transaction.start();
  return { sender, responses, events, transaction };
}

const response = (status: number, method: string): SipMessage => parseMessage(sipResponse(status, method, 'z9hG4bK-c1'));

test('INVITE over UDP: timer A doubles from T1 until a provisional response, which also stops timer B', () => {
  const { sender, events, transaction } = clientTransaction('INVITE', UDP);
  mock.timers.tick(500);
  mock.timers.tick(1000);
  mock.timers.tick(2000);
  assert.equal(sender.sent.length, 4);
  transaction.receiveResponse(response(100, 'INVITE'));
  mock.timers.tick(4000);
  assert.equal(sender.sent.length, 4, 'a provisional response stops timer A');
  mock.timers.tick(64 * 500);
  assert.deepEqual(events, [], 'timer B covers Calling only');
  transaction.terminate();
});

test('INVITE: a non-2xx final is acknowledged, its retransmission re-acknowledged, timer D ends it', () => {
  const { sender, responses, events, transaction } = clientTransaction('INVITE', UDP);
  transaction.receiveResponse(response(486, 'INVITE'));
  transaction.receiveResponse(response(486, 'INVITE'));
  assert.deepEqual(responses, [486], 'the retransmission is absorbed');
  assert.deepEqual(sender.startLines.slice(1), ['ACK for 486', 'ACK for 486']);
  mock.timers.tick(32_000);
  assert.deepEqual(events, ['terminated']);
});

test('INVITE 2xx: Accepted passes 2xx retransmissions to the TU and ends after timer M', () => {
  const { responses, events, transaction } = clientTransaction('INVITE', UDP);
  transaction.receiveResponse(response(180, 'INVITE'));
  transaction.receiveResponse(response(200, 'INVITE'));
  transaction.receiveResponse(response(200, 'INVITE'));
  assert.deepEqual(responses, [180, 200, 200]);
  assert.equal(transaction.state, 'accepted');
  mock.timers.tick(64 * 500);
  assert.deepEqual(events, ['terminated']);
});

test('non-INVITE over UDP: timer E caps at T2, and at T2 once proceeding; timer K after the final', () => {
  const { sender, transaction, events } = clientTransaction('BYE', UDP);
  for (const step of [500, 1000, 2000, 4000, 4000]) mock.timers.tick(step);
  assert.equal(sender.sent.length, 6);
  transaction.receiveResponse(response(200, 'BYE'));
  mock.timers.tick(4999);
  assert.equal(transaction.state, 'completed');
  mock.timers.tick(1);
  assert.deepEqual(events, ['terminated']);
});

test('TCP: no retransmission, timer F still bounds the wait', () => {
  const { sender, events } = clientTransaction('OPTIONS', TCP);
  mock.timers.tick(64 * 500);
  assert.equal(sender.sent.length, 1);
  assert.deepEqual(events, ['timeout', 'terminated']);
});

test('INVITE: a proxy timer C bounds Proceeding', () => {
  const sender = new RecordingSender();
  const events: string[] = [];
  const transaction = new ClientTransaction({
    key: 'k',
    method: 'INVITE',
    bytes: sipRequest('INVITE', 'z9hG4bK-c2'),
    target: UDP,
    sender,
    timers: DEFAULT_TIMERS,
    timerQueue,
    timerC: 181_000,
    onResponse: () => undefined,
    onTimeout: () => events.push('timeout'),
    onTerminated: () => events.push('terminated'),
  });
  transaction.start();
  transaction.receiveResponse(parseMessage(sipResponse(180, 'INVITE', 'z9hG4bK-c2')));
  mock.timers.tick(180_999);
  assert.deepEqual(events, []);
  mock.timers.tick(1);
  assert.deepEqual(events, ['timeout', 'terminated']);
});

test('a transport error ends the transaction at once and tells the TU, without waiting for timer B (§17.1.4)', async () => {
  let sends = 0;
  const events: string[] = [];
  const transaction = new ClientTransaction({
    key: 'k',
    method: 'INVITE',
    bytes: sipRequest('INVITE', 'z9hG4bK-c3'),
    target: UDP,
    sender: {
      send: (_target, _bytes, onError) => {
        sends++;
        process.nextTick(() => onError?.(new Error('unreachable')));
      },
    },
    timers: DEFAULT_TIMERS,
    timerQueue,
    onResponse: () => undefined,
    onTimeout: () => events.push('timeout'),
    onTransportError: (_transaction, error) => events.push(`transport error: ${error.message}`),
    onTerminated: () => events.push('terminated'),
  });
  transaction.start();
  await new Promise((resolve) => process.nextTick(resolve));
  assert.deepEqual(events, ['transport error: unreachable', 'terminated']);
  assert.equal(transaction.state, 'terminated');
  mock.timers.tick(64 * 500);
  assert.equal(sends, 1, 'no retransmission after the error');
  assert.deepEqual(events, ['transport error: unreachable', 'terminated'], 'no timeout either');
});

test('a throwing timer callback goes to onInternalError, not to the event loop', () => {
  const errors: unknown[] = [];
  const transaction = new ClientTransaction({
    key: 'k',
    method: 'OPTIONS',
    bytes: sipRequest('OPTIONS', 'z9hG4bK-c4'),
    target: TCP,
    sender: new RecordingSender(),
    timers: DEFAULT_TIMERS,
    timerQueue,
    onResponse: () => undefined,
    onTimeout: () => {
      throw new TypeError('a bug in the TU');
    },
    onInternalError: (error) => errors.push(error),
    onTerminated: () => undefined,
  });
  transaction.start();
  assert.doesNotThrow(() => mock.timers.tick(64 * 500));
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof TypeError);
});
