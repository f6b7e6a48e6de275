import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMessage } from './parser.js';
import { buildAckForFailure, buildCancel } from './request-builders.js';
import { crlf } from './test-messages.js';

const SENT = parseMessage(
  crlf([
    'INVITE sip:bob@192.0.2.4 SIP/2.0',
    'Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp1, SIP/2.0/UDP alice.example.com;branch=z9hG4bKa1',
    'Route: <sip:next.example.com;lr>',
    'Max-Forwards: 69',
    'From: <sip:alice@example.com>;tag=f1',
    'To: <sip:bob@example.com>',
    'Call-ID: c1',
    'CSeq: 7 INVITE',
    'Content-Length: 0',
    '',
    '',
  ]),
);

test('CANCEL keeps the top Via, Route, From, To, Call-ID and CSeq number', () => {
  const cancel = parseMessage(buildCancel(SENT));
  assert.equal(cancel.method, 'CANCEL');
  assert.equal(cancel.requestUriText, 'sip:bob@192.0.2.4');
  assert.deepEqual(cancel.via.map((via) => via.branch), ['z9hG4bKp1']);
  assert.deepEqual(cancel.route.map((hop) => hop.uriText), ['sip:next.example.com;lr']);
  assert.deepEqual(cancel.cseq, { seq: 7, method: 'CANCEL' });
  assert.equal(cancel.toTag, undefined);
});

test('the ACK for a failure takes the To tag of the response', () => {
  const response = parseMessage(crlf(['SIP/2.0 486 Busy Here', 'Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp1', 'To: <sip:bob@example.com>;tag=t9', '', '']));
  const ack = parseMessage(buildAckForFailure(SENT, response));
  assert.equal(ack.method, 'ACK');
  assert.equal(ack.toTag, 't9');
  assert.deepEqual(ack.cseq, { seq: 7, method: 'ACK' });
  assert.equal(ack.via[0]?.branch, 'z9hG4bKp1');
});
