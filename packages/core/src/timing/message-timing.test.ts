import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMessage } from '@switchboard/sip';
import { callIdHash, MessageTimingRecorder, type MessageTrace } from './message-timing.js';
import { messageKind } from './message-kind.js';

const INVITE = Buffer.from(
  'INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK1\r\nMax-Forwards: 70\r\n' +
    'From: <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: call-1\r\nCSeq: 7 INVITE\r\nContent-Length: 0\r\n\r\n',
);
const OK_BYE = Buffer.from(
  'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK2\r\nFrom: <sip:alice@example.com>;tag=1\r\n' +
    'To: <sip:bob@example.com>;tag=2\r\nCall-ID: call-1\r\nCSeq: 8 BYE\r\nContent-Length: 0\r\n\r\n',
);

/** A recorder on a clock that advances 10 µs per reading, finishing at once. */
function recorder(sampleRatio: number, traces: MessageTrace[]): MessageTimingRecorder {
  let clock = 0;
  return new MessageTimingRecorder({ sampleRatio, sink: (trace) => traces.push(trace), now: () => (clock += 0.01), afterSends: (done) => done() });
}

test('message kinds: the six of a call and the 200 of the BYE', () => {
  assert.equal(messageKind(parseMessage(INVITE)), 'INVITE');
  assert.equal(messageKind(parseMessage(OK_BYE)), '200-BYE');
});

test('a measured message: service time from read to the end of its sends, by kind, traced with its steps and sends', () => {
  const traces: MessageTrace[] = [];
  const timing = recorder(1, traces);
  timing.measure(() => {
    timing.parsed(parseMessage(INVITE));
    timing.step('max-forwards');
    timing.send();
    timing.send();
  });
  const snapshot = timing.snapshot();
  assert.equal(snapshot.serviceTime.INVITE.count, 1);
  assert.equal(snapshot.serviceTime.BYE.count, 0);
  // read 0.01, parsed 0.02, step 0.03, sends 0.04 and 0.05, end 0.06: 50 µs.
  assert.ok(Math.abs(snapshot.serviceTime.INVITE.sum - 0.05) < 1e-9);
  assert.equal(traces.length, 1);
  const trace = traces[0] as MessageTrace;
  assert.deepEqual([trace.kind, trace.callId, trace.cseq, trace.method, trace.status], ['INVITE', 'call-1', 7, 'INVITE', 0]);
  assert.deepEqual([trace.parsedUs, trace.steps, trace.sends, trace.serviceUs], [10, [['max-forwards', 20]], [30, 40], 50]);
});

test('sampling by Call-ID: ratio 0 traces nothing but still counts; sends outside a message are counted apart', () => {
  const traces: MessageTrace[] = [];
  const timing = recorder(0, traces);
  timing.measure(() => timing.parsed(parseMessage(OK_BYE)));
  timing.send();
  timing.measure(() => undefined);
  const snapshot = timing.snapshot();
  assert.equal(traces.length, 0);
  assert.equal(snapshot.serviceTime['200-BYE'].count, 1);
  assert.equal(snapshot.unattributedSends, 1);
  assert.equal(callIdHash('call-1'), callIdHash('call-1'));
});
