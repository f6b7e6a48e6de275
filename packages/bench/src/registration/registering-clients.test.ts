import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { test } from 'node:test';
import { RegisteringClients } from './registering-clients.js';

/**
 * RegisteringClients against tiny fake registrars (no proxy): connections come from the source
 * addresses given, held registrations are refreshed, a connection per transaction is closed
 * after its answer, UDP is retransmitted until answered, and silence, garbage and closes end as
 * counted failures, never as a crash.
 */

const BRANCH = /;branch=([^;,\s]+)/;

function answer(request: string, status = '200 OK'): string {
  const via = /^Via: .*$/m.exec(request)?.[0] ?? '';
  const callId = /^Call-ID: .*$/m.exec(request)?.[0] ?? '';
  const cseq = /^CSeq: .*$/m.exec(request)?.[0] ?? '';
  return `SIP/2.0 ${status}\r\n${via}\r\n${callId}\r\n${cseq}\r\nContent-Length: 0\r\n\r\n`;
}

interface FakeRegistrar {
  readonly port: number;
  readonly remotes: Set<string>;
  /** Every connection's remote `address:port`, in the order accepted. */
  readonly peers: string[];
  registers: number;
  connections: number;
  closed: number;
  /** Closes every connection from the server's side, still listening. */
  drop(): void;
  close(): Promise<void>;
}

async function fakeTcpRegistrar(reply: (request: string, socket: net.Socket) => void = (request, socket) => socket.write(answer(request))): Promise<FakeRegistrar> {
  const sockets = new Set<net.Socket>();
  const state = { registers: 0, connections: 0, closed: 0, remotes: new Set<string>(), peers: [] as string[] };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    state.connections++;
    state.remotes.add(socket.remoteAddress ?? '');
    state.peers.push(`${socket.remoteAddress}:${socket.remotePort}`);
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      let end: number;
      while ((end = buffered.indexOf('\r\n\r\n')) >= 0) {
        const request = buffered.slice(0, end + 4);
        buffered = buffered.slice(end + 4);
        state.registers++;
        reply(request, socket);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      state.closed++;
      sockets.delete(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(state, {
    port: (server.address() as net.AddressInfo).port,
    drop: () => {
      for (const socket of sockets) socket.destroy();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  });
}

const options = (port: number, count: number, transport: 'tcp' | 'udp' = 'tcp', timeoutMs = 5000) => ({ proxy: { host: '127.0.0.1', port }, domain: 'example.com', transport, firstIndex: 0, count, addresses: ['127.0.0.2', '127.0.0.3'], expiresSeconds: 60, timeoutMs });

test('TCP: every client opens its own connection from its source address, registers, is held and refreshed', { timeout: 20_000 }, async () => {
  const registrar = await fakeTcpRegistrar();
  const clients = new RegisteringClients(options(registrar.port, 40));
  try {
    const opened = await clients.openAll(1000, 8);
    assert.deepEqual(opened.failures, {});
    assert.equal(opened.registered, 40);
    assert.equal(clients.held, 40);
    assert.equal(registrar.connections, 40);
    assert.deepEqual([...registrar.remotes].sort(), ['127.0.0.2', '127.0.0.3'], 'bound before connect, round robin');
    clients.startRefresh(300);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    clients.stopRefresh();
    assert.ok(registrar.registers >= 40 + 80, `every held registration refreshed about every 300 ms: ${registrar.registers} REGISTERs`);
    assert.equal(registrar.connections, 40, 'refreshes reuse the held connections');
    const closed = await clients.closeAll(1000);
    assert.equal(closed.closed, 40);
    assert.equal(clients.held, 0);
    assert.equal(clients.reconnected, 0);
  } finally {
    clients.close();
    await registrar.close();
  }
});

test('held connections bind their explicit source ports in order per address; a port a listener holds, and a reconnect, take the kernel\'s', { timeout: 20_000 }, async () => {
  const registrar = await fakeTcpRegistrar();
  // A block below the ephemeral range, away from other tests' ports; a listener on every address
  // holds its second port, as a service would.
  const first = 12_000 + Math.floor(Math.random() * 18_000);
  const listener = net.createServer();
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(first + 1, '0.0.0.0', resolve);
  });
  const clients = new RegisteringClients({ ...options(registrar.port, 6), sourcePorts: { first, count: 100 } });
  try {
    const opened = await clients.openAll(1000, 1);
    assert.deepEqual(opened.failures, {});
    assert.equal(clients.held, 6);
    const ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    const explicit = registrar.peers.filter((peer) => Number(peer.split(':')[1]) < ephemeralLow);
    assert.deepEqual(explicit.sort(), [`127.0.0.2:${first}`, `127.0.0.2:${first + 2}`, `127.0.0.3:${first}`, `127.0.0.3:${first + 2}`].sort(), 'clients 0-5 take ports first, first, first+1 (held: kernel), ..., first+2');
    assert.equal(registrar.peers.length, 6, 'the two clients whose port a listener holds connected all the same');
    registrar.drop();
    await new Promise((resolve) => setTimeout(resolve, 200));
    registrar.peers.length = 0;
    for (let offset = 0; offset < 6; offset++) assert.equal((await clients.register(offset, 'persistent')).ok, true);
    assert.equal(clients.reconnected, 6);
    assert.ok(registrar.peers.every((peer) => Number(peer.split(':')[1]) >= ephemeralLow), `reconnects take the kernel's ports: ${registrar.peers.join(', ')}`);
  } finally {
    clients.close();
    listener.close();
    await registrar.close();
  }
});

test('connections per REGISTER take this process\'s churn ports of each address in turn', { timeout: 20_000 }, async () => {
  const registrar = await fakeTcpRegistrar();
  const first = 12_000 + Math.floor(Math.random() * 18_000);
  const clients = new RegisteringClients({ ...options(registrar.port, 4), churnPorts: { first, count: 3 } });
  try {
    for (let i = 0; i < 8; i++) assert.equal((await clients.register(i, 'per-transaction')).ok, true);
    // Clients 0, 2 are on 127.0.0.2 and 1, 3 on 127.0.0.3: each address takes first, first+1, first+2, first, ...
    const onTwo = registrar.peers.filter((peer) => peer.startsWith('127.0.0.2:')).map((peer) => Number(peer.split(':')[1]));
    assert.deepEqual(onTwo, [first, first + 1, first + 2, first], 'each address takes its ports in turn, the fourth reusing the first (its TIME_WAIT pair, which loopback allows)');
  } finally {
    clients.close();
    await registrar.close();
  }
});

test('a connect the generator\'s own side fails (an address not on this host) is counted as connect:<code>, not as the proxy\'s', { timeout: 20_000 }, async () => {
  const registrar = await fakeTcpRegistrar();
  const clients = new RegisteringClients({ ...options(registrar.port, 1), addresses: ['192.0.2.1'] });
  try {
    assert.equal((await clients.register(0, 'persistent')).failure, 'connect:EADDRNOTAVAIL');
    assert.equal(registrar.connections, 0);
  } finally {
    clients.close();
    await registrar.close();
  }
});

test('a connection per transaction is closed after its answer; a held connection the server closes is reopened and counted', { timeout: 20_000 }, async () => {
  const registrar = await fakeTcpRegistrar();
  const clients = new RegisteringClients(options(registrar.port, 5));
  try {
    for (let i = 0; i < 10; i++) assert.equal((await clients.register(i, 'per-transaction')).ok, true);
    assert.equal(registrar.connections, 10, 'one connection per REGISTER');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(registrar.closed, 10, 'each closed after its answer');
    assert.equal(clients.openConnections, 0);

    assert.equal((await clients.register(0, 'persistent')).ok, true);
    assert.equal(clients.held, 1);
    registrar.drop();
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(clients.held, 0, 'a connection the server closed is no longer held');
    assert.equal((await clients.register(0, 'persistent')).ok, true);
    assert.equal(clients.reconnected, 1, 'opened again, and counted');
    assert.equal(clients.held, 1);
  } finally {
    clients.close();
    await registrar.close();
  }
});

test('silence, a 503, garbage and a close mid-transaction are counted failures', { timeout: 20_000 }, async () => {
  let mode = 'silent';
  const registrar = await fakeTcpRegistrar((request, socket) => {
    if (mode === '503') socket.write(answer(request, '503 Service Unavailable'));
    else if (mode === 'garbage') socket.write('SIP/2.0 200 OK\r\nContent-Length: banana\r\n\r\n');
    else if (mode === 'close') socket.destroy();
  });
  const clients = new RegisteringClients(options(registrar.port, 4, 'tcp', 300));
  try {
    assert.deepEqual(await clients.register(0, 'persistent').then((outcome) => outcome.failure), 'timeout');
    mode = '503';
    assert.equal((await clients.register(1, 'persistent')).failure, 'status:503');
    mode = 'garbage';
    assert.equal((await clients.register(2, 'persistent')).failure, 'closed', 'an unframeable stream is dropped');
    mode = 'close';
    assert.equal((await clients.register(3, 'persistent')).failure, 'closed');
  } finally {
    clients.close();
    await registrar.close();
  }
  const nobody = new RegisteringClients(options(registrar.port, 1, 'tcp', 300));
  assert.equal((await nobody.register(0, 'persistent')).failure, 'connect');
  nobody.close();
  // A listener that accepts and never says a word: the TLS handshake ends with the REGISTER's timeout.
  const held = new Set<net.Socket>();
  const stuck = net.createServer((socket) => held.add(socket));
  await new Promise<void>((resolve) => stuck.listen(0, '127.0.0.1', resolve));
  const tls = new RegisteringClients({ ...options((stuck.address() as net.AddressInfo).port, 1, 'tcp', 300), transport: 'tls' });
  const silentHandshake = await tls.register(0, 'persistent');
  assert.equal(silentHandshake.failure, 'timeout:connect');
  assert.ok(silentHandshake.ms >= 250, `after the timeout: ${silentHandshake.ms} ms`);
  tls.close();
  for (const socket of held) socket.destroy();
  stuck.close();
});

test('UDP: a REGISTER is retransmitted (Timer E) until answered', { timeout: 20_000 }, async () => {
  const server = dgram.createSocket('udp4');
  const seen = new Map<string, number>();
  server.on('message', (data, remote) => {
    const text = data.toString('latin1');
    const branch = BRANCH.exec(text)?.[1] ?? '';
    const copies = (seen.get(branch) ?? 0) + 1;
    seen.set(branch, copies);
    if (copies >= 2) server.send(answer(text), remote.port, remote.address);
  });
  await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
  const clients = new RegisteringClients(options((server.address() as net.AddressInfo).port, 2, 'udp'));
  try {
    await clients.bindUdp();
    const outcome = await clients.register(0, 'udp');
    assert.equal(outcome.ok, true);
    assert.ok(outcome.ms >= 400, `answered after the first retransmission (T1 = 500 ms), not before: ${outcome.ms} ms`);
    assert.equal([...seen.values()][0], 2);
  } finally {
    clients.close();
    server.close();
  }
});

test('a client honouring Retry-After sends nothing for that long after a 503; one ignoring it may send at once', { timeout: 20_000 }, async () => {
  const registrar = await fakeTcpRegistrar((request, socket) => socket.write(answer(request, '503 Service Unavailable').replace('Content-Length: 0', 'Retry-After: 2 (overloaded)\r\nContent-Length: 0')));
  const honouring = new RegisteringClients({ ...options(registrar.port, 2), retryAfter: 'honour' as const });
  const ignoring = new RegisteringClients(options(registrar.port, 1));
  try {
    assert.equal((await honouring.register(0, 'persistent')).failure, 'status:503');
    const now = performance.now();
    assert.equal(honouring.idle(0, now), false, 'quiet for the Retry-After');
    assert.equal(honouring.idle(1, now), true, 'the other client is not');
    assert.equal(honouring.idle(0, now + 1900), false);
    assert.equal(honouring.idle(0, now + 2000), true, 'free again once it has passed');
    assert.equal((await ignoring.register(0, 'persistent')).failure, 'status:503');
    assert.equal(ignoring.idle(0, performance.now()), true, 'ignoring it: free at once');
  } finally {
    honouring.close();
    ignoring.close();
    await registrar.close();
  }
});
