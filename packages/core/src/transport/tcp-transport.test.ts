import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { test } from 'node:test';
import { freePort } from '@switchboard/testkit/free-port';
import type { TransportAddress } from '../transport-address.js';
import type { StreamTransportEvent } from './stream-transport.js';
import { TcpTransport } from './tcp-transport.js';

const MESSAGE = Buffer.from('OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bK1\r\nContent-Length: 0\r\n\r\n');

function transport(overrides: { idleTimeoutMs?: number; headerTimeoutMs?: number } = {}) {
  const received: Array<{ text: string; source: TransportAddress }> = [];
  const events: StreamTransportEvent[] = [];
  const tcp = new TcpTransport({
    host: '127.0.0.1',
    port: 0,
    idleTimeoutMs: overrides.idleTimeoutMs ?? 30_000,
    headerTimeoutMs: overrides.headerTimeoutMs ?? 5_000,
    onMessage: (bytes, source) => received.push({ text: bytes.toString(), source }),
    onEvent: (event) => events.push(event),
  });
  return { tcp, received, events };
}

async function until(condition: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('a request and its response travel on one connection, reused in both directions', async () => {
  const server = transport();
  const client = transport();
  const { port } = await server.tcp.listen();
  try {
    client.tcp.send({ protocol: 'tcp', address: '127.0.0.1', port }, MESSAGE);
    client.tcp.send({ protocol: 'tcp', address: '127.0.0.1', port }, MESSAGE);
    await until(() => server.received.length === 2, 'two requests');
    const source = server.received[0]?.source;
    assert.ok(source?.connectionId);
    server.tcp.send(source, Buffer.from('SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n'));
    await until(() => client.received.length === 1, 'the response');
    assert.equal(client.tcp.connectionCount, 1);
    assert.equal(server.tcp.connectionCount, 1);
  } finally {
    await client.tcp.close();
    await server.tcp.close();
  }
});

test('a framing error closes that connection only; keep-alive pings get pongs', async () => {
  const server = transport();
  const { port } = await server.tcp.listen();
  const good = net.connect(port, '127.0.0.1');
  const bad = net.connect(port, '127.0.0.1');
  try {
    await Promise.all([once(good, 'connect'), once(bad, 'connect')]);
    bad.write('INVITE sip:x SIP/2.0\r\nContent-Length: nope\r\n\r\n');
    await once(bad, 'close');
    assert.equal(server.events.some((event) => event.kind === 'framing-error'), true);
    good.write('\r\n\r\n');
    const [pong] = (await once(good, 'data')) as [Buffer];
    assert.equal(pong.toString(), '\r\n');
    good.write(MESSAGE);
    await until(() => server.received.length === 1, 'a message on the good connection');
  } finally {
    good.destroy();
    bad.destroy();
    await server.tcp.close();
  }
});

test('slow-drip and idle connections are closed by their timers', { timeout: 10_000 }, async () => {
  const server = transport({ idleTimeoutMs: 300, headerTimeoutMs: 100 });
  const { port } = await server.tcp.listen();
  const slow = net.connect(port, '127.0.0.1');
  const idle = net.connect(port, '127.0.0.1');
  try {
    await Promise.all([once(slow, 'connect'), once(idle, 'connect')]);
    const slowClosed = once(slow, 'close');
    const idleClosed = once(idle, 'close');
    slow.write('INVITE sip:x SIP/2.0\r\nVia: ');
    await slowClosed;
    assert.equal(server.events.some((event) => event.kind === 'slow-message'), true);
    await idleClosed;
    assert.equal(server.events.some((event) => event.kind === 'idle-timeout'), true);
    await until(() => server.tcp.connectionCount === 0, 'the table to empty');
  } finally {
    slow.destroy();
    idle.destroy();
    await server.tcp.close();
  }
});

test('an alias routes requests for a Via sent-by to the connection it arrived on', async () => {
  const server = transport();
  const { port } = await server.tcp.listen();
  const phone = net.connect(port, '127.0.0.1');
  try {
    await once(phone, 'connect');
    phone.write(MESSAGE);
    await until(() => server.received.length === 1, 'the request');
    const id = server.received[0]?.source.connectionId ?? 0;
    server.tcp.addAlias(id, 'phone.example.com', 5060);
    server.tcp.send({ protocol: 'tcp', address: 'phone.example.com', port: 5060 }, MESSAGE);
    const [data] = (await once(phone, 'data')) as [Buffer];
    assert.equal(data.toString(), MESSAGE.toString());
    assert.equal(server.tcp.connectionCount, 1);
  } finally {
    phone.destroy();
    await server.tcp.close();
  }
});

test('sends never throw: a bad port and a refused connection go to onError once, as a send-error event', async () => {
  const client = transport();
  // Below the ephemeral range: no other socket takes it before the connection is refused.
  const closed = await freePort();
  try {
    const errors: Array<string | undefined> = [];
    const record = (error: Error): void => {
      errors.push((error as NodeJS.ErrnoException).code);
    };
    assert.doesNotThrow(() => client.tcp.send({ protocol: 'tcp', address: '127.0.0.1', port: 0 }, MESSAGE, record));
    assert.doesNotThrow(() => client.tcp.send({ protocol: 'tcp', address: '127.0.0.1', port: 70_000 }, MESSAGE, record));
    client.tcp.send({ protocol: 'tcp', address: '127.0.0.1', port: closed }, MESSAGE, record);
    await until(() => errors.length === 3, 'three send errors');
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Port 0 is refused by the kernel; 70000 by Node before any connect.
    assert.deepEqual(errors.sort(), ['ECONNREFUSED', 'ECONNREFUSED', 'ERR_SOCKET_BAD_PORT']);
    assert.ok(client.events.filter((event) => event.kind === 'send-error').length >= 3);
  } finally {
    await client.tcp.close();
  }
});

test('refuseNewConnections: the listener stays open, each new connection is closed at once and counted, open ones keep working', async () => {
  const server = transport();
  const { port } = await server.tcp.listen();
  const open = net.connect(port, '127.0.0.1');
  try {
    await once(open, 'connect');
    open.write(MESSAGE);
    await until(() => server.received.length === 1, 'the first request');
    server.tcp.refuseNewConnections();
    const late = net.connect(port, '127.0.0.1');
    await once(late, 'connect');
    late.write(MESSAGE);
    await once(late, 'close');
    assert.deepEqual(server.events.filter((event) => event.kind === 'refused'), [{ kind: 'refused', reason: 'stopping', detail: 'the proxy is stopping' }]);
    open.write(MESSAGE);
    await until(() => server.received.length === 2, 'a request on the open connection');
    assert.equal(server.received.length, 2, 'nothing read from the refused connection');
  } finally {
    open.destroy();
    await server.tcp.close();
  }
});

/** A transport whose messages go to `onMessage`, which may act on the transport itself. */
function transportGiving(onMessage: (self: TcpTransport, bytes: Buffer, source: TransportAddress) => void, headerTimeoutMs = 5_000): TcpTransport {
  const tcp: TcpTransport = new TcpTransport({ host: '127.0.0.1', port: 0, idleTimeoutMs: 30_000, headerTimeoutMs, onMessage: (bytes, source) => onMessage(tcp, bytes, source) });
  return tcp;
}

test('holding a connection\'s reading gives its held message and the ones after it again, in order, when the time is up', async () => {
  const given: string[] = [];
  let holdNext = true;
  const tcp = transportGiving((self, bytes, source) => {
    // Overload control past its 503 budget: the first message of the connection is held once.
    if (holdNext && source.connectionId !== undefined) {
      holdNext = false;
      assert.equal(self.holdReading(source.connectionId, 300, bytes), true);
      assert.equal(self.holdReading(source.connectionId, 300, bytes), false, 'already held');
      return;
    }
    given.push(/branch=(\w+)/.exec(bytes.toString())?.[1] ?? '?');
  });
  const { port } = await tcp.listen();
  const other = net.connect(port, '127.0.0.1');
  const held = net.connect(port, '127.0.0.1');
  const message = (branch: string) => MESSAGE.toString().replace('z9hG4bK1', branch);
  try {
    await Promise.all([once(held, 'connect'), once(other, 'connect')]);
    // The first message alone (a read of several is a backlog, never held: the next test); what
    // the peer sends while it is held waits behind it.
    held.write(message('z9hG4bKa'));
    const heldAt = Date.now();
    await until(() => !holdNext, 'the hold');
    held.write(message('z9hG4bKb') + message('z9hG4bKc'));
    held.write(message('z9hG4bKd'));
    other.write(message('z9hG4bKo'));
    await until(() => given.includes('z9hG4bKo'), 'another connection, read meanwhile');
    assert.deepEqual(given, ['z9hG4bKo'], 'nothing of the held connection before its time');
    await until(() => given.length === 5, 'the held connection\'s messages');
    assert.ok(Date.now() - heldAt >= 290, 'after the hold');
    assert.deepEqual(given, ['z9hG4bKo', 'z9hG4bKa', 'z9hG4bKb', 'z9hG4bKc', 'z9hG4bKd'], 'in the order sent');
    assert.equal(tcp.holdReading(987654, 300, Buffer.from('x')), false, 'no such connection');
  } finally {
    held.destroy();
    other.destroy();
    await tcp.close();
  }
});

test('a connection whose read carried several messages is not held for the hold\'s length after it (a backlog: its excess is the caller\'s to drop)', async () => {
  const decisions: string[] = [];
  const tcp = transportGiving((self, bytes, source) => {
    const branch = /branch=(\w+)/.exec(bytes.toString())?.[1] ?? '?';
    const held = source.connectionId !== undefined && self.holdReading(source.connectionId, 1000, bytes);
    decisions.push(`${branch} ${held ? 'held' : 'not held'}`);
  });
  const { port } = await tcp.listen();
  const socket = net.connect(port, '127.0.0.1');
  const message = (branch: string) => MESSAGE.toString().replace('z9hG4bK1', branch);
  try {
    await once(socket, 'connect');
    socket.write(message('z9hG4bKa') + message('z9hG4bKb'));
    await until(() => decisions.length === 2, 'the read of two');
    socket.write(message('z9hG4bKc'));
    await until(() => decisions.length === 3, 'a message alone, soon after');
    await new Promise((resolve) => setTimeout(resolve, 1200));
    socket.write(message('z9hG4bKd'));
    await until(() => decisions.length === 4, 'a message alone, a hold\'s length later');
    assert.deepEqual(decisions, ['z9hG4bKa not held', 'z9hG4bKb not held', 'z9hG4bKc not held', 'z9hG4bKd held']);
  } finally {
    socket.destroy();
    await tcp.close();
  }
});

test('a held connection that closes is forgotten with its messages', async () => {
  let given = 0;
  const tcp = transportGiving((self, bytes, source) => {
    if (source.connectionId !== undefined && self.holdReading(source.connectionId, 200, bytes)) return;
    given++;
  });
  const { port } = await tcp.listen();
  const socket = net.connect(port, '127.0.0.1');
  try {
    await once(socket, 'connect');
    socket.write(MESSAGE);
    await until(() => tcp.connectionCount === 1, 'the connection');
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.destroy();
    await until(() => tcp.connectionCount === 0, 'the close');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(given, 0, 'the held message went with its connection');
  } finally {
    await tcp.close();
  }
});

test('time held is not held against the peer: a message begun before a hold longer than the header timeout is read in full after it', async () => {
  const given: string[] = [];
  let holdNext = true;
  // A header timeout of 200 ms and a hold of 600 ms.
  const tcp = transportGiving((self, bytes, source) => {
    if (holdNext && source.connectionId !== undefined && self.holdReading(source.connectionId, 600, bytes)) {
      holdNext = false;
      return;
    }
    given.push(/branch=(\w+)/.exec(bytes.toString())?.[1] ?? '?');
  }, 200);
  const { port } = await tcp.listen();
  const socket = net.connect(port, '127.0.0.1');
  const second = MESSAGE.toString().replace('z9hG4bK1', 'z9hG4bK2');
  try {
    await once(socket, 'connect');
    // A message in two pieces (the guard is armed by the first), then with its end the start of
    // the next: the first is held, the second's rest comes after the hold.
    socket.write(MESSAGE.subarray(0, 20));
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.write(MESSAGE.subarray(20).toString() + second.slice(0, 20));
    await until(() => !holdNext, 'the hold');
    await until(() => given.length === 1, 'the held message, after the hold', 3000);
    assert.deepEqual(given, ['z9hG4bK1']);
    socket.write(second.slice(20));
    await until(() => given.length === 2, 'the message begun before the hold');
    assert.equal(tcp.connectionCount, 1, 'not closed as a slow message');
  } finally {
    socket.destroy();
    await tcp.close();
  }
});

/**
 * A TCP server whose `busyAt`th message holds the loop for `busyMs`: what the peer sends
 * meanwhile waits in the kernel, and the reads after it fill the buffer.
 */
function busyServer(busyAt: number, busyMs: number, onRead: (full: boolean, trunk: boolean) => unknown): { tcp: TcpTransport; received: () => number } {
  let received = 0;
  const tcp = new TcpTransport({
    host: '127.0.0.1',
    port: 0,
    idleTimeoutMs: 30_000,
    headerTimeoutMs: 5_000,
    onMessage: () => {
      if (++received !== busyAt) return;
      const until = Date.now() + busyMs;
      while (Date.now() < until);
    },
    onRead: (full, trunk) => {
      onRead(full, trunk);
      return undefined;
    },
  });
  return { tcp, received: () => received };
}

test('onRead: a phone (a message a read) is no trunk; a connection whose reads fill 64 KiB while the loop is busy is a trunk with full reads', async () => {
  const reads: Array<{ full: boolean; trunk: boolean }> = [];
  const { tcp: server, received } = busyServer(2, 200, (full, trunk) => reads.push({ full, trunk }));
  const { port } = await server.listen();
  const peer = net.connect(port, '127.0.0.1');
  try {
    await once(peer, 'connect');
    peer.write(MESSAGE);
    await until(() => received() === 1, 'one message');
    assert.deepEqual(reads, [{ full: false, trunk: false }], 'a single message: a phone read, not full');
    const burst = Buffer.concat(Array.from({ length: 4000 }, () => MESSAGE));
    peer.write(MESSAGE);
    peer.write(burst);
    await until(() => received() === 4002, 'the burst', 10_000);
    assert.ok(reads.some((read) => read.full && read.trunk), `a full trunk read among ${reads.length}`);
    assert.ok(reads.slice(1).filter((read) => read.trunk).length >= reads.length - 3, 'after its first read of several messages, the connection is a trunk');
  } finally {
    peer.destroy();
    await server.close();
  }
});

test('a read that fills the buffer ends the connection\'s turn: the loop runs between two full reads', async () => {
  const order: string[] = [];
  const { tcp: server, received } = busyServer(1, 300, (full) => {
    if (!full) return;
    order.push('full read');
    setImmediate(() => order.push('turn'));
  });
  const { port } = await server.listen();
  const peer = net.connect(port, '127.0.0.1');
  try {
    await once(peer, 'connect');
    peer.write(MESSAGE);
    // 3 MB: more than libuv reads in one turn (32 reads of 64 KiB).
    peer.write(Buffer.concat(Array.from({ length: 30_000 }, () => MESSAGE)));
    await until(() => received() === 30_001, 'every message', 20_000);
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(order.filter((entry) => entry === 'full read').length >= 3, `full reads: ${order.join(', ')}`);
    for (let n = 1; n < order.length; n++) assert.ok(!(order[n] === 'full read' && order[n - 1] === 'full read'), `two full reads in one turn: ${order.join(', ')}`);
  } finally {
    peer.destroy();
    await server.close();
  }
});

test('a trunk told to wait after a read (onRead returns ms) is read less often: what its peer sends meanwhile comes in one read, in order', async () => {
  let reads = 0;
  const got: number[] = [];
  const tcp = new TcpTransport({
    host: '127.0.0.1',
    port: 0,
    idleTimeoutMs: 30_000,
    headerTimeoutMs: 5_000,
    onMessage: (bytes) => got.push(Number(/branch=z9hG4bK(\d+)/.exec(bytes.toString('latin1'))?.[1])),
    onRead: (_full, trunk) => {
      if (!trunk) return undefined;
      reads++;
      return 30;
    },
  });
  const { port } = await tcp.listen();
  const peer = net.connect({ port, host: '127.0.0.1', noDelay: true });
  const message = (n: number): string => `OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bK${n}\r\nContent-Length: 0\r\n\r\n`;
  try {
    await once(peer, 'connect');
    // Two messages in one write make the connection a trunk from its first read.
    let sent = 0;
    for (let write = 0; write < 50; write++) {
      peer.write(message(sent++) + message(sent++));
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    await until(() => got.length === sent, 'every message');
    assert.deepEqual(got, Array.from({ length: sent }, (_, n) => n), 'in order');
    // 50 writes over 150 ms or more, a read at most every 30 ms: about 6 reads (a busy machine only makes fewer).
    assert.ok(reads <= 15, `${reads} reads of 50 writes`);
  } finally {
    peer.destroy();
    await tcp.close();
  }
});
