import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ListenSpec } from '@switchboard/core';
import { failedListen } from './serve-command.js';

const listen: ListenSpec[] = [
  { protocol: 'udp', host: '0.0.0.0', port: 5060 },
  { protocol: 'tcp', host: '0.0.0.0', port: 5060 },
  { protocol: 'tls', host: '0.0.0.0', port: 5061 },
];

test('a bind error names the --listen it is about, by port and syscall', () => {
  const tcp = Object.assign(new Error('listen EADDRINUSE: address already in use 0.0.0.0:5060'), { syscall: 'listen', port: 5060 });
  assert.equal(failedListen(tcp, listen), '--listen tcp:0.0.0.0:5060');
  const udp = Object.assign(new Error('bind EADDRINUSE 0.0.0.0:5060'), { syscall: 'bind', port: 5060 });
  assert.equal(failedListen(udp, listen), '--listen udp:0.0.0.0:5060');
});

test('an error that crossed from a worker as {code, message} is read from its message', () => {
  assert.equal(failedListen(new Error('listen EADDRINUSE: address already in use ::1:5061'), listen), '--listen tls:0.0.0.0:5061');
  assert.equal(failedListen(new Error('bind EADDRNOTAVAIL 10.9.9.9:5060'), listen), '--listen udp:0.0.0.0:5060');
});

test('when nothing tells which, every --listen is named', () => {
  assert.equal(failedListen(new Error('something else'), listen), '--listen udp:0.0.0.0:5060, --listen tcp:0.0.0.0:5060, --listen tls:0.0.0.0:5061');
});
