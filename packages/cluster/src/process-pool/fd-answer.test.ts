import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { answerFdRequest } from './fd-answer.js';

test('the supervisor writes an fd request\'s bytes on its own handle, and passes the handle only when wanted and none is queued', async () => {
  const received: Buffer[] = [];
  const server = net.createServer((socket) => socket.on('data', (chunk: Buffer) => received.push(chunk)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  try {
    assert.deepEqual(answerFdRequest(socket, Buffer.from('a;'), false, 0), { written: true, passHandle: false }, 'no cache: never a handle');
    assert.deepEqual(answerFdRequest(socket, Buffer.from('b;'), true, 3), { written: true, passHandle: false }, 'handles queued: written, no handle');
    assert.deepEqual(answerFdRequest(socket, Buffer.from('c;'), true, 0), { written: true, passHandle: true }, 'cache and an idle channel: the handle too');
    assert.deepEqual(answerFdRequest(socket, undefined, false, 5), { written: false, passHandle: true }, 'no bytes: only the handle can answer');
    const deadline = Date.now() + 5000;
    while (Buffer.concat(received).toString() !== 'a;b;c;' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(Buffer.concat(received).toString(), 'a;b;c;');
    socket.destroy();
    assert.deepEqual(answerFdRequest(socket, Buffer.from('d;'), true, 0), { written: false, passHandle: true }, 'a destroyed handle writes nothing');
  } finally {
    socket.destroy();
    server.close();
  }
});
