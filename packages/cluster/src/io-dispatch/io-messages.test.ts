import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encode } from 'msgpackr';
import { decodeToIoProcess, decodeToIoWorker, encodeIoMessage } from './io-messages.js';

test('io-dispatch messages round-trip; a connection id left out stays absent', () => {
  const source = { protocol: 'tcp', address: '127.0.0.1', port: 40000, connectionId: 2 ** 32 + 5 } as const;
  const message = decodeToIoWorker(encodeIoMessage({ t: 'message', bytes: Buffer.from('OPTIONS'), source }));
  assert.equal(message.t, 'message');
  assert.deepEqual(message.t === 'message' ? { ...message.source } : undefined, source);
  const send = decodeToIoProcess(encodeIoMessage({ t: 'send', target: { protocol: 'udp', address: '::1', port: 5060 }, bytes: Buffer.from('x'), ticket: 0 }));
  assert.ok(send.t === 'send' && !('connectionId' in send.target));
  assert.deepEqual(decodeToIoProcess(encodeIoMessage({ t: 'done', count: 3 })), { t: 'done', count: 3 });
});

test('bytes that are not an io-dispatch message are refused with an error, never half-read', () => {
  assert.throws(() => decodeToIoProcess('text'), /not bytes/);
  assert.throws(() => decodeToIoProcess(encode({ t: 'fd-request' })), /unknown io-dispatch message/);
  assert.throws(() => decodeToIoProcess(encode({ t: 'send', target: { protocol: 'sctp', address: 'a', port: 1 }, bytes: Buffer.from('x'), ticket: 0 })), /send\.target is not address/);
  assert.throws(() => decodeToIoProcess(encode({ t: 'alias', protocol: 'udp', id: 1, host: 'a', port: 1 })), /alias\.protocol/);
  assert.throws(() => decodeToIoWorker(encode({ t: 'message', bytes: 'text', source: { protocol: 'udp', address: 'a', port: 1 } })), /message\.bytes is not bytes/);
});
