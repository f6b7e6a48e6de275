import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { StreamOutbox } from './stream-outbox.js';

/** A connected pair over loopback; `written` records each buffer the near socket was asked to write. */
async function socketPair() {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const accepted = once(server, 'connection');
  const near = net.connect(port, '127.0.0.1');
  await once(near, 'connect');
  const [far] = (await accepted) as [net.Socket];
  const written: string[] = [];
  const write = near.write.bind(near) as (...args: unknown[]) => boolean;
  (near as unknown as { write: (...args: unknown[]) => boolean }).write = (...args: unknown[]) => {
    written.push(String(args[0]));
    return write(...args);
  };
  let received = '';
  far.on('data', (chunk: Buffer) => (received += chunk.toString()));
  return {
    near,
    written,
    received: () => received,
    close: () => {
      near.destroy();
      far.destroy();
      server.close();
    },
  };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('the messages of one turn leave in one write, in order, when the turn ends; a later turn writes its own', async () => {
  const pair = await socketPair();
  try {
    const outbox = new StreamOutbox(pair.near, () => undefined);
    const errors: Error[] = [];
    for (const n of [1, 2, 3]) outbox.add(Buffer.from(`m${n};`), (error) => errors.push(error));
    assert.deepEqual(pair.written, [], 'nothing is written before the turn ends');
    await new Promise((resolve) => process.nextTick(resolve));
    assert.deepEqual(pair.written, ['m1;m2;m3;']);
    outbox.add(Buffer.from('m4;'));
    await until(() => pair.received() === 'm1;m2;m3;m4;', 'four messages');
    assert.deepEqual(pair.written, ['m1;m2;m3;', 'm4;']);
    assert.deepEqual(errors, []);
  } finally {
    pair.close();
  }
});

test('a failed write reaches every sender of its turn once, with the socket\'s own error where it has one', async () => {
  const pair = await socketPair();
  try {
    const own = new Error('connect ECONNREFUSED');
    const outbox = new StreamOutbox(pair.near, () => own);
    pair.near.destroy();
    const errors: Array<[string, Error]> = [];
    outbox.add(Buffer.from('a'), (error) => errors.push(['a', error]));
    outbox.add(Buffer.from('b'));
    outbox.add(Buffer.from('c'), (error) => errors.push(['c', error]));
    await until(() => errors.length === 2, 'both senders told');
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(errors, [['a', own], ['c', own]]);
  } finally {
    pair.close();
  }
});

test('a write that throws is reported to its senders and does not reach the event loop', async () => {
  const throwing = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  throwing.write = () => {
    throw new Error('write threw');
  };
  const outbox = new StreamOutbox(throwing, () => undefined);
  const errors: Error[] = [];
  outbox.add(Buffer.from('x'), (error) => errors.push(error));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(errors.map((error) => error.message), ['write threw']);
});
