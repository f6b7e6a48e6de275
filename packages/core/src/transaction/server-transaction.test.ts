import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { parseMessage } from '@switchboard/sip';
import type { TransportAddress } from '../transport-address.js';
import { serverTransactionKey } from './keys.js';
import { ServerTransaction, type TerminationReason } from './server-transaction.js';
import { RecordingSender, sipRequest, mockedTimerQueue } from './test-support.js';
import { DEFAULT_TIMERS } from './timers.js';

const UDP: TransportAddress = { protocol: 'udp', address: '192.0.2.1', port: 5060 };
const TCP: TransportAddress = { protocol: 'tcp', address: '192.0.2.1', port: 40000, connectionId: 7 };

/** The transactions' timers run on a queue of their own, on the mocked clock. */
let timerQueue = mockedTimerQueue();
beforeEach(() => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  timerQueue = mockedTimerQueue();
});
afterEach(() => mock.timers.reset());

function serverTransaction(method: string, target: TransportAddress) {
  const sender = new RecordingSender();
  const ended: TerminationReason[] = [];
  const request = parseMessage(sipRequest(method, 'z9hG4bK-s1'));
  const transaction = new ServerTransaction({
    key: serverTransactionKey(request),
    request,
    source: target,
    responseTarget: target,
    sender,
    timers: DEFAULT_TIMERS,
    timerQueue,
    onTerminated: (_tx, reason) => ended.push(reason),
  });
  return { sender, ended, transaction };
}

const response = (status: number): Buffer => Buffer.from(`SIP/2.0 ${status} X\r\n\r\n`);

test('INVITE over UDP: a non-2xx final is retransmitted on timer G (T1 doubling to T2) until the ACK', () => {
  const { sender, ended, transaction } = serverTransaction('INVITE', UDP);
  transaction.respond(100, response(100));
  transaction.receiveRetransmission();
  assert.deepEqual(sender.startLines, ['SIP/2.0 100 X', 'SIP/2.0 100 X']);
  transaction.respond(486, response(486));
  assert.equal(transaction.state, 'completed');
  mock.timers.tick(500); // G at T1
  mock.timers.tick(1000); // 2 T1
  mock.timers.tick(2000); // 4 T1
  mock.timers.tick(4000); // capped at T2
  mock.timers.tick(4000);
  assert.equal(sender.startLines.filter((line) => line === 'SIP/2.0 486 X').length, 6);
  transaction.receiveRetransmission();
  assert.equal(sender.startLines.filter((line) => line === 'SIP/2.0 486 X').length, 7);
  transaction.receiveAck();
  assert.equal(transaction.state, 'confirmed');
  mock.timers.tick(4000);
  assert.equal(sender.startLines.filter((line) => line === 'SIP/2.0 486 X').length, 7, 'no retransmission after the ACK');
  mock.timers.tick(5000); // timer I = T4
  assert.equal(transaction.state, 'terminated');
  assert.deepEqual(ended, ['normal']);
});

test('INVITE: timer H ends the transaction with a timeout when no ACK comes', () => {
  const { ended, transaction } = serverTransaction('INVITE', UDP);
  transaction.respond(480, response(480));
  mock.timers.tick(64 * 500);
  assert.equal(transaction.state, 'terminated');
  assert.deepEqual(ended, ['timeout']);
});

test('INVITE 2xx: Accepted state passes further 2xx on and ends after timer L', () => {
  const { sender, ended, transaction } = serverTransaction('INVITE', UDP);
  transaction.respond(200, response(200));
  assert.equal(transaction.state, 'accepted');
  transaction.respond(200, response(200));
  transaction.respond(486, response(486));
  assert.deepEqual(sender.startLines, ['SIP/2.0 200 X', 'SIP/2.0 200 X']);
  mock.timers.tick(64 * 500);
  assert.deepEqual(ended, ['normal']);
});

test('INVITE over TCP: no retransmission, and the ACK ends the transaction at once', () => {
  const { sender, ended, transaction } = serverTransaction('INVITE', TCP);
  transaction.respond(486, response(486));
  mock.timers.tick(10_000);
  assert.equal(sender.sent.length, 1);
  assert.equal(sender.sent[0]?.target.connectionId, 7);
  transaction.receiveAck();
  assert.deepEqual(ended, ['normal']);
});

test('non-INVITE: retransmissions get the last response; timer J over UDP, zero over TCP', () => {
  const udp = serverTransaction('OPTIONS', UDP);
  udp.transaction.receiveRetransmission();
  assert.equal(udp.sender.sent.length, 0, 'nothing to repeat before a response');
  udp.transaction.respond(200, response(200));
  udp.transaction.receiveRetransmission();
  assert.equal(udp.sender.sent.length, 2);
  mock.timers.tick(64 * 500 - 1);
  assert.equal(udp.transaction.state, 'completed');
  mock.timers.tick(1);
  assert.equal(udp.transaction.state, 'terminated');

  const tcp = serverTransaction('OPTIONS', TCP);
  tcp.transaction.respond(200, response(200));
  assert.equal(tcp.transaction.state, 'terminated');
});

test('keys: ACK matches its INVITE, CANCEL does not; RFC 2543 requests are keyed without a branch', () => {
  const invite = parseMessage(sipRequest('INVITE', 'z9hG4bK-k'));
  const ack = parseMessage(sipRequest('ACK', 'z9hG4bK-k'));
  const cancel = parseMessage(sipRequest('CANCEL', 'z9hG4bK-k'));
  assert.equal(serverTransactionKey(ack), serverTransactionKey(invite));
  assert.notEqual(serverTransactionKey(cancel), serverTransactionKey(invite));
  assert.equal(serverTransactionKey(cancel, 'INVITE'), serverTransactionKey(invite));
  const old = parseMessage(sipRequest('INVITE', '1234'));
  assert.match(serverTransactionKey(old), /^2543\|/);
});

test('the request is released at the final response (a lingering transaction keeps no parsed message), not before', () => {
  for (const [method, status] of [['INVITE', 200], ['INVITE', 486], ['BYE', 200]] as const) {
    const { transaction } = serverTransaction(method, UDP);
    transaction.respond(180, response(180));
    assert.equal(transaction.request?.method, method, 'kept while provisional');
    transaction.respond(status, response(status));
    assert.equal(transaction.request, undefined, `${method} ${status}`);
    transaction.terminate();
  }
});
