import assert from 'node:assert/strict';
import { test } from 'node:test';
import { answerFdRequest } from './fd-answer.js';
import { loopbackPeer } from './loopback-peer.fixture.js';

test('the supervisor writes an fd request\'s bytes on its own handle, and passes the handle only when wanted and none is queued', async () => {
  const peer = await loopbackPeer();
  const socket = peer.socket;
  try {
    assert.deepEqual(answerFdRequest(socket, Buffer.from('a;'), false, 0), { written: true, passHandle: false }, 'no cache: never a handle');
    assert.deepEqual(answerFdRequest(socket, Buffer.from('b;'), true, 3), { written: true, passHandle: false }, 'handles queued: written, no handle');
    assert.deepEqual(answerFdRequest(socket, Buffer.from('c;'), true, 0), { written: true, passHandle: true }, 'cache and an idle channel: the handle too');
    assert.deepEqual(answerFdRequest(socket, undefined, false, 5), { written: false, passHandle: true }, 'no bytes: only the handle can answer');
    assert.equal(await peer.receivedBy('a;b;c;'), 'a;b;c;');
    socket.destroy();
    assert.deepEqual(answerFdRequest(socket, Buffer.from('d;'), true, 0), { written: false, passHandle: true }, 'a destroyed handle writes nothing');
  } finally {
    peer.close();
  }
});

test('a write on the supervisor\'s handle that fails is reported, so the asking worker\'s transaction hears of it', async () => {
  const peer = await loopbackPeer();
  try {
    const failures: Error[] = [];
    peer.socket.on('error', () => undefined);
    // Shut down on our side (not yet destroyed): the write is taken, and fails.
    peer.socket.end();
    answerFdRequest(peer.socket, Buffer.from('late'), false, 0, (error) => failures.push(error));
    const deadline = Date.now() + 5000;
    while (failures.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(failures.length, 1);
  } finally {
    peer.close();
  }
});
