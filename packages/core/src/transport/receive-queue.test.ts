import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { test } from 'node:test';
import { readReceiveQueueFill } from './receive-queue.js';
import { datagramSocketFd } from './socket-filter.js';
import { SOCKET_LIBC_PLATFORM } from './socket-libc.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends `count` datagrams of `bytes` bytes to `port` from another process, waiting for it (this loop reads nothing meanwhile). */
function sendFromAnotherProcess(port: number, count: number, bytes: number): void {
  const script = `const s = require('node:dgram').createSocket('udp4'); let left = ${count};
const b = Buffer.alloc(${bytes}, 120); const next = () => { if (left-- === 0) { s.close(); return; } s.send(b, ${port}, '127.0.0.1', next); }; next();`;
  execFileSync(process.execPath, ['-e', script], { timeout: 10_000 });
}

test('the receive queue\'s fill: near 0 when read, near 1 when datagrams wait past the buffer, 0 again once read', { skip: !SOCKET_LIBC_PLATFORM }, async () => {
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 32 * 1024 });
  let read = 0;
  socket.on('message', () => read++);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  try {
    const fd = datagramSocketFd(socket);
    assert.ok(fd !== undefined, 'the socket\'s descriptor');
    const empty = readReceiveQueueFill(fd);
    assert.ok(empty !== undefined && empty < 0.1, `an idle socket: ${String(empty)}`);
    // 200 datagrams of 1 KB into a buffer of 64 KB (32 KB doubled), while this loop is blocked.
    sendFromAnotherProcess(socket.address().port, 200, 1000);
    const full = readReceiveQueueFill(fd);
    assert.ok(full !== undefined && full >= 0.5, `a queue past its buffer: ${String(full)}`);
    for (let n = 0; n < 100 && (readReceiveQueueFill(fd) ?? 1) >= 0.1; n++) await sleep(5);
    assert.ok(read > 0 && read < 200, `some were read, the rest dropped by the kernel: ${read}`);
    const drained = readReceiveQueueFill(fd);
    assert.ok(drained !== undefined && drained < 0.1, `read again: ${String(drained)}`);
  } finally {
    socket.close();
  }
});

test('a descriptor that is not a socket has no queue to read', { skip: !SOCKET_LIBC_PLATFORM }, () => {
  assert.equal(readReceiveQueueFill(0x7fff_fff0), undefined, 'no such descriptor');
});
