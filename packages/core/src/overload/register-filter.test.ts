import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';
import { attachSocketFilter, datagramSocketFd, SOCKET_FILTER_PLATFORM } from '../transport/socket-filter.js';
import { registerFilterProgram } from './register-filter.js';

const linux = SOCKET_FILTER_PLATFORM;
const REGISTER = 'REGISTER sip:example.com SIP/2.0\r\nCall-ID: a\r\n\r\n';

/** Sends each datagram in `messages` to a fresh socket filtered by `program` and says which arrived (first words, counted). */
async function throughFilter(program: Buffer, messages: string[]): Promise<Map<string, number>> {
  const receiver = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
  const sender = dgram.createSocket('udp4');
  const arrived = new Map<string, number>();
  let total = 0;
  receiver.on('message', (bytes) => {
    total++;
    const word = bytes.toString('latin1').split(/[ \r]/)[0] ?? '';
    arrived.set(word, (arrived.get(word) ?? 0) + 1);
  });
  try {
    await new Promise<void>((resolve) => receiver.bind(0, '127.0.0.1', resolve));
    const fd = datagramSocketFd(receiver);
    assert.ok(fd !== undefined, 'the bound socket has a file descriptor');
    assert.equal(attachSocketFilter(fd, program), true, 'the kernel took the program');
    const port = receiver.address().port;
    // The marker, last, is kept by every program: once it is read, everything before it was.
    for (const message of [...messages, 'END']) {
      await new Promise<void>((resolve, reject) => sender.send(Buffer.from(message, 'latin1'), port, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
    }
    const deadline = Date.now() + 5000;
    while (!arrived.has('END') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.ok(arrived.has('END'), `the marker arrived (${total} datagrams read)`);
    return arrived;
  } finally {
    sender.close();
    receiver.close();
  }
}

test('a share of 0 drops every REGISTER in the kernel and keeps everything else, short datagrams too', { skip: !linux && 'Linux socket filters' }, async () => {
  const arrived = await throughFilter(registerFilterProgram(0), [
    REGISTER,
    'INVITE sip:bob@example.com SIP/2.0\r\n\r\n',
    'SIP/2.0 200 OK\r\n\r\n',
    'REGISTEX sip:example.com SIP/2.0\r\n\r\n',
    'register sip:example.com SIP/2.0\r\n\r\n',
    'REGISTER',
    '\r\n\r\n',
    '',
    REGISTER,
  ]);
  assert.equal(arrived.get('REGISTER'), 1, 'only the 8-byte "REGISTER", too short to be a request');
  assert.equal(arrived.get('INVITE'), 1);
  assert.equal(arrived.get('SIP/2.0'), 1);
  assert.equal(arrived.get('REGISTEX'), 1);
  assert.equal(arrived.get('register'), 1, 'a method is case-sensitive (RFC 3261 §7.1)');
  assert.equal(arrived.get(''), 2, 'a keep-alive and an empty datagram');
});

test('a share of 1 keeps every REGISTER; a share of one half keeps about half', { skip: !linux && 'Linux socket filters' }, async () => {
  const all = await throughFilter(registerFilterProgram(1), Array.from({ length: 50 }, () => REGISTER));
  assert.equal(all.get('REGISTER'), 50);
  const half = await throughFilter(registerFilterProgram(0.5), Array.from({ length: 400 }, () => REGISTER));
  const kept = half.get('REGISTER') ?? 0;
  // Binomial(400, 0.5): a standard deviation of 10; these bounds are 8 of them away.
  assert.ok(kept > 120 && kept < 280, `kept ${kept} of 400`);
});

test('the program is ten instructions whatever the share, and a share out of range is clamped', () => {
  assert.equal(registerFilterProgram(0.3).length, 80);
  assert.deepEqual(registerFilterProgram(-1), registerFilterProgram(0));
  assert.deepEqual(registerFilterProgram(2), registerFilterProgram(1));
});
