import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TransportAddress } from '../transport-address.js';
import { UdpTransport } from './udp-transport.js';

test('a send to port 0 throws nothing: the error goes to onError and onSendError, after send returns', async () => {
  const reported: Array<{ error: Error; target: TransportAddress }> = [];
  const udp = new UdpTransport({ host: '127.0.0.1', port: 0, onMessage: () => undefined, onSendError: (error, target) => reported.push({ error, target }) });
  await udp.listen();
  try {
    const errors: Error[] = [];
    const target: TransportAddress = { protocol: 'udp', address: '127.0.0.1', port: 0 };
    assert.doesNotThrow(() => udp.send(target, Buffer.from('x'), (error) => errors.push(error)));
    assert.equal(errors.length, 0, 'not called back before send returns');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(errors.length, 1);
    assert.equal((errors[0] as NodeJS.ErrnoException).code, 'ERR_SOCKET_BAD_PORT');
    assert.equal(reported.length, 1);
    assert.deepEqual(reported[0]?.target, target);
  } finally {
    await udp.close();
  }
});

test('a send on a closed transport is reported, not thrown', async () => {
  const udp = new UdpTransport({ host: '127.0.0.1', port: 0, onMessage: () => undefined });
  await udp.listen();
  await udp.close();
  const errors: Error[] = [];
  udp.send({ protocol: 'udp', address: '127.0.0.1', port: 9 }, Buffer.from('x'), (error) => errors.push(error));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(errors.length, 1);
});

test('datagrams reach an IP address (no lookup) and a host name (looked up); an unresolvable name is a reported error', async () => {
  const received: string[] = [];
  let arrived: () => void = () => undefined;
  const receiver = new UdpTransport({
    host: '127.0.0.1',
    port: 0,
    onMessage: (bytes) => {
      received.push(bytes.toString());
      if (received.length === 2) arrived();
    },
  });
  const { port } = await receiver.listen();
  const sender = new UdpTransport({ host: '127.0.0.1', port: 0, onMessage: () => undefined });
  await sender.listen();
  try {
    const both = new Promise<void>((resolve) => (arrived = resolve));
    sender.send({ protocol: 'udp', address: '127.0.0.1', port }, Buffer.from('by address'));
    sender.send({ protocol: 'udp', address: 'localhost', port }, Buffer.from('by name'));
    await both;
    assert.deepEqual(received.sort(), ['by address', 'by name']);
    const failed = await new Promise<Error>((resolve) => sender.send({ protocol: 'udp', address: 'no-such-host.invalid', port }, Buffer.from('x'), resolve));
    assert.ok(failed instanceof Error);
  } finally {
    await sender.close();
    await receiver.close();
  }
});
