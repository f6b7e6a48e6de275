import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Packr } from 'msgpackr';
import { decodeToSupervisor, decodeToWorker, encodeControl } from './control-messages.js';

const packr = new Packr({ useRecords: false, moreTypes: false });

test('well-formed control messages decode as they were sent', () => {
  assert.deepEqual(decodeToWorker(encodeControl({ t: 'invalidate', id: 5 })), { t: 'invalidate', id: 5 });
  assert.deepEqual(decodeToWorker(encodeControl({ t: 'stop' })), { t: 'stop' });
  assert.deepEqual(decodeToSupervisor(encodeControl({ t: 'fd-request', request: 1, id: undefined, remoteKey: 'a:1' })).t, 'fd-request');
  assert.deepEqual(decodeToSupervisor(encodeControl({ t: 'ready', udpPort: undefined })).t, 'ready');
  const relay = decodeToSupervisor(encodeControl({ t: 'relay', request: 0, id: 4, remoteKey: 'a:1', protocol: 'tcp', bytes: Buffer.from('x') }));
  assert.ok(relay.t === 'relay' && Buffer.from(relay.bytes).toString() === 'x');
  assert.deepEqual(decodeToWorker(encodeControl({ t: 'adopt', id: 3, protocol: 'tcp' })), { t: 'adopt', id: 3, protocol: 'tcp' });
  assert.deepEqual(decodeToWorker(encodeControl({ t: 'adopt', id: 3, protocol: 'tcp', aliases: ['phone.example.com:5060'] })), { t: 'adopt', id: 3, protocol: 'tcp', aliases: ['phone.example.com:5060'] });
});

test('bytes that are not a control message, or one of the other direction, throw a message naming the fault', () => {
  assert.throws(() => decodeToWorker('text'), /not bytes/);
  assert.throws(() => decodeToWorker(Buffer.from([0xc1])), Error);
  assert.throws(() => decodeToWorker(packr.pack(42)), /unknown control message/);
  assert.throws(() => decodeToWorker(packr.pack({ t: 'toString' })), /unknown control message/);
  assert.throws(() => decodeToWorker(encodeControl({ t: 'closed', id: 1 })), /unknown control message to a worker: "closed"/);
  assert.throws(() => decodeToSupervisor(encodeControl({ t: 'stop' })), /unknown control message/);
  assert.throws(() => decodeToWorker(packr.pack({ t: 'adopt', id: 1, protocol: 'udp' })), /adopt\.protocol/);
  assert.throws(() => decodeToWorker(packr.pack({ t: 'adopt', id: 1, protocol: 'tcp', aliases: ['a:1', 2] })), /adopt\.aliases/);
  assert.throws(() => decodeToWorker(packr.pack({ t: 'adopt', id: 1, protocol: 'tcp', aliases: 'a:1' })), /adopt\.aliases/);
  assert.throws(() => decodeToWorker(packr.pack({ t: 'write', id: 1, protocol: 'tcp', bytes: 'text' })), /write\.bytes/);
  assert.throws(() => decodeToSupervisor(packr.pack({ t: 'alias', id: 1 })), /alias\.key/);
  assert.throws(() => decodeToSupervisor(packr.pack({ t: 'closed', id: 'x' })), /closed\.id/);
  assert.throws(() => decodeToSupervisor(packr.pack({ t: 'hand-off', to: 1, bytes: Buffer.from('x'), source: null })), /hand-off\.source/);
});
