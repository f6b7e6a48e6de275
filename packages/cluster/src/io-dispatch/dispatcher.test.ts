import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StreamProtocol, TransportAddress } from '@switchboard/core';
import { newModelCounters } from '../worker-stats.js';
import { Dispatcher, type DispatchTransports } from './dispatcher.js';

const udpSource: TransportAddress = { protocol: 'udp', address: '127.0.0.1', port: 5070 };

function request(callId: string): Buffer {
  return Buffer.from(`INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-${callId}\r\nCall-ID: ${callId}\r\nCSeq: 1 INVITE\r\n\r\n`);
}

function response(branch: string): Buffer {
  return Buffer.from(`SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=${branch};received=127.0.0.1\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-a\r\nCSeq: 1 INVITE\r\n\r\n`);
}

interface Written {
  readonly protocol: string;
  readonly target: TransportAddress;
  readonly bytes: Buffer;
}

function setup(workers: number, down: Set<number> = new Set(), callLingerMs = 0) {
  const delivered: Array<{ slot: number; handedOff: boolean; bytes: Uint8Array }> = [];
  const written: Written[] = [];
  const open = new Set<number>([7]);
  const stream = (protocol: StreamProtocol) => ({
    has: (id: number) => open.has(id),
    send: (target: TransportAddress, bytes: Buffer) => void written.push({ protocol, target, bytes }),
  });
  const transports: DispatchTransports = {
    udp: () => ({ send: (target, bytes) => void written.push({ protocol: 'udp', target, bytes }) }),
    stream: (protocol) => stream(protocol),
  };
  const counters = newModelCounters();
  const dispatcher = new Dispatcher({
    workers,
    ready: (slot) => !down.has(slot),
    deliver: (slot, bytes, _source, handedOff) => void delivered.push({ slot, handedOff, bytes }),
    transports,
    counters,
    callLingerMs,
  });
  return { dispatcher, delivered, written, counters, open };
}

test('each message goes to the worker with the fewest outstanding; ties take turns; a worker down is passed over', () => {
  const { dispatcher, delivered, counters } = setup(3);
  for (let i = 0; i < 3; i++) dispatcher.dispatch(request(`c${i}`), udpSource);
  assert.deepEqual(delivered.map((entry) => entry.slot), [0, 1, 2], 'an idle pool takes turns');
  // Worker 1 reports its message handled: it alone has none outstanding, so it gets the next two
  // in a row only until it catches up with the others.
  dispatcher.done(1, 1);
  dispatcher.dispatch(request('c3'), udpSource);
  assert.equal(delivered.at(-1)?.slot, 1);
  dispatcher.done(0, 1);
  dispatcher.done(2, 1);
  dispatcher.done(1, 1);
  // Worker 0 is slow: three outstanding; the others keep up.
  for (let i = 0; i < 3; i++) dispatcher.board.sent(0);
  for (let i = 0; i < 4; i++) dispatcher.dispatch(request(`d${i}`), udpSource);
  assert.deepEqual(delivered.slice(-4).map((entry) => entry.slot).sort(), [1, 1, 2, 2], 'the loaded worker gets nothing while others have less');
  assert.equal(counters.ioMessagesDispatched, 8);
  assert.equal(dispatcher.board.depth, 3 + 4);
  // A worker gone: its outstanding messages are forgotten, and nothing is sent to it.
  dispatcher.workerGone(0);
  assert.equal(dispatcher.board.outstanding(0), 0);
  const down = setup(2, new Set([0]));
  for (let i = 0; i < 3; i++) down.dispatcher.dispatch(request(`e${i}`), udpSource);
  assert.deepEqual(down.delivered.map((entry) => entry.slot), [1, 1, 1]);
  const none = setup(2, new Set([0, 1]));
  none.dispatcher.dispatch(request('f'), udpSource);
  assert.equal(none.delivered.length, 0);
  assert.equal(none.counters.ioMessagesDropped, 1, 'no worker up: a counted drop');
});

test('a response goes to the worker its branch tag names while it is up, else to the least loaded', () => {
  const { dispatcher, delivered, counters } = setup(3);
  dispatcher.dispatch(response('z9hG4bK-sb-1x2y-w2.5f'), udpSource);
  dispatcher.dispatch(response('z9hG4bK-sb-1x2y-w2.60'), udpSource);
  assert.deepEqual(delivered.map((entry) => entry.slot), [2, 2], 'both to worker 2, however loaded');
  assert.equal(counters.ioResponsesRoutedByBranch, 2);
  // Not ours, untagged, a worker that does not exist: least loaded.
  for (const branch of ['z9hG4bK-other', 'z9hG4bK-sb-1x2y-5f', 'z9hG4bK-sb-1x2y-w9.5f']) dispatcher.dispatch(response(branch), udpSource);
  assert.deepEqual(delivered.slice(2).map((entry) => entry.slot), [0, 1, 0]);
  assert.equal(counters.ioResponsesRoutedByBranch, 2);
  const down = setup(3, new Set([2]));
  down.dispatcher.dispatch(response('z9hG4bK-sb-1x2y-w2.5f'), udpSource);
  assert.equal(down.delivered[0]?.slot, 0, 'the named worker is down: the least loaded, which hands it on or answers from the store');
  // A request that mentions a tagged branch further down (a Via of ours lower in the stack) is not a response.
  const { dispatcher: d2, delivered: got } = setup(3);
  d2.dispatch(Buffer.from('BYE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP x;branch=z9hG4bK-sb-1-w2.1\r\n\r\n'), udpSource);
  assert.equal(got[0]?.slot, 0);
});

test('a message of a call with messages outstanding joins them, however loaded that worker is', () => {
  const { dispatcher, delivered, counters } = setup(2);
  dispatcher.dispatch(request('call-1'), udpSource);
  for (let i = 0; i < 3; i++) dispatcher.dispatch(request('call-1'), udpSource);
  assert.deepEqual(delivered.map((entry) => entry.slot), [0, 0, 0, 0]);
  assert.equal(counters.ioMessagesKeptWithCall, 3);
  dispatcher.dispatch(request('call-2'), udpSource);
  assert.equal(delivered.at(-1)?.slot, 1, 'another call goes to the least loaded');
  dispatcher.done(0, 4);
  dispatcher.done(1, 1);
  dispatcher.dispatch(request('call-2'), udpSource);
  dispatcher.dispatch(request('call-1'), udpSource);
  assert.deepEqual(delivered.slice(-2).map((entry) => entry.slot), [0, 1], 'nothing outstanding: the load decides again');
  // With the default linger a call stays with its worker after its messages are done.
  const lingering = setup(2, new Set(), 4000);
  lingering.dispatcher.dispatch(request('call-3'), udpSource);
  lingering.dispatcher.done(0, 1);
  lingering.dispatcher.board.sent(0);
  lingering.dispatcher.dispatch(request('call-3'), udpSource);
  assert.deepEqual(lingering.delivered.map((entry) => entry.slot), [0, 0]);
});

test('a hand-off goes to the worker named, or the least loaded when it is down; it arrives marked as handed off', () => {
  const { dispatcher, delivered, counters } = setup(2, new Set([1]));
  dispatcher.handOff(0, request('h'), udpSource);
  dispatcher.handOff(1, request('i'), udpSource);
  assert.deepEqual(delivered.map((entry) => [entry.slot, entry.handedOff]), [[0, true], [0, true]]);
  assert.equal(counters.handOffsSent, 2);
});

test('writes go out by connection id or over UDP; a write for a closed connection is a counted drop', () => {
  const { dispatcher, written, counters, open } = setup(2);
  dispatcher.write({ protocol: 'udp', address: '127.0.0.1', port: 5070 }, Buffer.from('SIP/2.0 100 Trying\r\n\r\n'));
  dispatcher.write({ protocol: 'tcp', address: '127.0.0.1', port: 40000, connectionId: 7 }, Buffer.from('SIP/2.0 200 OK\r\n\r\n'));
  dispatcher.write({ protocol: 'tls', address: '127.0.0.1', port: 40001, connectionId: 7 }, Buffer.from('SIP/2.0 200 OK\r\n\r\n'));
  // No connection id: the transport finds a connection to the address, or opens one.
  dispatcher.write({ protocol: 'tcp', address: '127.0.0.1', port: 5080 }, Buffer.from('INVITE sip:x SIP/2.0\r\n\r\n'));
  assert.deepEqual(written.map((entry) => [entry.protocol, entry.target.connectionId]), [['udp', undefined], ['tcp', 7], ['tls', 7], ['tcp', undefined]]);
  assert.equal(counters.ioWrites, 4);
  assert.equal(counters.ioBytesWritten, written.reduce((sum, entry) => sum + entry.bytes.length, 0));
  open.delete(7);
  const failures: string[] = [];
  dispatcher.write({ protocol: 'tcp', address: '127.0.0.1', port: 40000, connectionId: 7 }, Buffer.from('SIP/2.0 180 Ringing\r\n\r\n'), (error) => failures.push(error.message));
  assert.equal(written.length, 4, 'nothing written for the closed connection');
  assert.deepEqual(failures, ['connection closed before the message was sent'], 'the worker that asked hears of it');
  assert.equal(counters.ioWritesDropped, 1);
  assert.equal(counters.ioWrites, 4);
  dispatcher.lost();
  assert.equal(counters.ioWritesDropped, 2, 'a connection that closed between the check and the send counts the same');
});
