import assert from 'node:assert/strict';
import { constants as cryptoConstants, randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import type { TransportAddress } from '../transport-address.js';
import type { StreamTransportEvent } from './stream-transport.js';
import { createTestCertificates, type TestCertificates } from '@switchboard/testkit/certificates';
import { TlsTransport, type TlsSettings } from './tls-transport.js';

const MESSAGE = Buffer.from('OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:1;branch=z9hG4bK1\r\nContent-Length: 0\r\n\r\n');
const RESPONSE = Buffer.from('SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n');

let certs: TestCertificates;

function endpoint(settings: Partial<TlsSettings> = {}) {
  const received: Array<{ text: string; source: TransportAddress }> = [];
  const events: StreamTransportEvent[] = [];
  const transport = new TlsTransport({
    host: '127.0.0.1',
    port: 0,
    idleTimeoutMs: 30_000,
    headerTimeoutMs: 5_000,
    onMessage: (bytes, source) => received.push({ text: bytes.toString(), source }),
    onEvent: (event) => events.push(event),
    tls: { cert: certs.server.cert, key: certs.server.key, ca: certs.ca.cert, ...settings },
  });
  const count = (kind: StreamTransportEvent['kind'], match: (event: StreamTransportEvent) => boolean = () => true): number =>
    events.filter((event) => event.kind === kind && match(event)).length;
  const failures = (reason: string): number => count('tls-handshake-failed', (event) => event.kind === 'tls-handshake-failed' && event.reason === reason);
  return { transport, received, events, count, failures };
}

async function until(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A raw TLS client (not the transport under test), as a phone would be. */
async function phone(port: number, options: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  const socket = tls.connect({ host: '127.0.0.1', port, ca: certs.ca.cert, ...options });
  await once(socket, 'secureConnect');
  return socket;
}

describe('TLS transport', { timeout: 60_000 }, () => {
  before(async () => {
    certs = await createTestCertificates();
  });
  after(async () => {
    await certs.remove();
  });

  test('a TLS client connection and its server: handshake both sides, framing, one connection reused', async () => {
    const server = endpoint();
    const client = endpoint();
    const { port } = await server.transport.listen();
    try {
      const target = { protocol: 'tls' as const, address: '127.0.0.1', port };
      // Split across writes: the framer cuts messages out of the decrypted stream.
      client.transport.send(target, Buffer.concat([MESSAGE, MESSAGE.subarray(0, 20)]));
      client.transport.send(target, MESSAGE.subarray(20));
      await until(() => server.received.length === 2, 'two requests');
      const source = server.received[0]?.source;
      assert.equal(source?.protocol, 'tls');
      assert.ok(source?.connectionId);
      server.transport.send(source, RESPONSE);
      await until(() => client.received.length === 1, 'the response');
      assert.equal(client.transport.connectionCount, 1);
      assert.equal(server.transport.connectionCount, 1);
      assert.equal(server.count('tls-handshake', (event) => event.kind === 'tls-handshake' && event.side === 'server'), 1);
      assert.equal(client.count('tls-handshake', (event) => event.kind === 'tls-handshake' && event.side === 'client'), 1);
      assert.equal(server.count('accepted'), 1);
      assert.equal(client.count('connected'), 1);
    } finally {
      await client.transport.close();
      await server.transport.close();
    }
  });

  test('mutual authentication: a client certificate from the CA is accepted, none or an untrusted one refused and closed', async () => {
    const server = endpoint({ verifyClient: true });
    const { port } = await server.transport.listen();
    try {
      const good = await phone(port, { cert: certs.client.cert, key: certs.client.key });
      good.write(MESSAGE);
      await until(() => server.received.length === 1, 'the request of the authenticated client');
      good.destroy();

      for (const options of [{}, { cert: certs.untrusted.cert, key: certs.untrusted.key }]) {
        const refused = tls.connect({ host: '127.0.0.1', port, ca: certs.ca.cert, ...options });
        refused.on('error', () => undefined);
        refused.write(MESSAGE);
        await once(refused, 'close');
      }
      await until(() => server.failures('bad-certificate') === 2, 'two refusals');
      await until(() => server.count('tls-failed-closed') === 2, 'both closed');
      assert.equal(server.count('tls-failed-closed', (event) => event.kind === 'tls-failed-closed' && event.clean), 2);
      const details = server.events.flatMap((event) => (event.kind === 'tls-handshake-failed' ? [event.detail] : []));
      assert.match(details[0] ?? '', /no client certificate/);
      assert.match(details[1] ?? '', /refused/);
      assert.equal(server.received.length, 1, 'nothing was read from refused clients');
    } finally {
      await server.transport.close();
    }
  });

  test('plaintext on the TLS port is counted and closed; so is a client that never finishes its handshake', async () => {
    const server = endpoint({ handshakeTimeoutMs: 300 });
    const { port } = await server.transport.listen();
    const plain = net.connect(port, '127.0.0.1');
    const silent = net.connect(port, '127.0.0.1');
    const stalled = net.connect(port, '127.0.0.1');
    try {
      await Promise.all([once(plain, 'connect'), once(silent, 'connect'), once(stalled, 'connect')]);
      plain.write(MESSAGE);
      // A TLS record header, then nothing: the handshake is in OpenSSL's hands when time runs out.
      stalled.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]));
      plain.on('data', () => assert.fail('plaintext got an answer'));
      await Promise.all([once(plain, 'close'), once(silent, 'close'), once(stalled, 'close')]);
      await until(() => server.count('tls-failed-closed') === 3, 'three closed');
      assert.equal(server.failures('plaintext'), 1);
      assert.equal(server.failures('timeout'), 2);
      assert.equal(server.received.length, 0);
      assert.equal(server.transport.connectionCount, 0);
    } finally {
      plain.destroy();
      silent.destroy();
      stalled.destroy();
      await server.transport.close();
    }
  });

  test('session resumption: the proxy as client offers its last session, by ticket or by session id', async () => {
    const server = endpoint();
    const { port } = await server.transport.listen();
    const reconnect = async (client: ReturnType<typeof endpoint>, times: number): Promise<boolean[]> => {
      for (let i = 0; i < times; i++) {
        client.transport.send({ protocol: 'tls', address: '127.0.0.1', port }, MESSAGE);
        await until(() => client.count('tls-handshake') === i + 1, 'a handshake');
        // TLS 1.3 tickets come after the handshake; then the connection is dropped (as idle), so
        // the next send opens another one.
        await new Promise((resolve) => setTimeout(resolve, 100));
        client.transport.sweepIdle(Date.now() + 60_000);
        await until(() => client.transport.connectionCount === 0 && server.transport.connectionCount === 0, 'the connection closed');
      }
      return client.events.flatMap((event) => (event.kind === 'tls-handshake' ? [event.resumed] : []));
    };
    const tickets = endpoint();
    const off = endpoint({ resumption: false });
    try {
      assert.deepEqual(await reconnect(tickets, 2), [false, true], 'TLS 1.3 ticket');
      assert.deepEqual(await reconnect(off, 2), [false, false], 'resumption off on the client side');
    } finally {
      await tickets.transport.close();
      await off.transport.close();
      await server.transport.close();
    }
  });

  test('session resumption on the server: session ids (TLS 1.2), tickets shared by transports with the same keys, and off', async () => {
    const ticketKeys = randomBytes(48);
    const first = endpoint({ ticketKeys });
    const second = endpoint({ ticketKeys });
    const off = endpoint({ resumption: false });
    const ports = await Promise.all([first.transport.listen(), second.transport.listen(), off.transport.listen()]);
    const [a, b, c] = ports.map((bound) => bound.port) as [number, number, number];
    const resumedAt = async (port: number, session: Buffer | undefined, options: tls.ConnectionOptions = {}): Promise<{ reused: boolean; session: Buffer | undefined }> => {
      const socket = tls.connect({ host: '127.0.0.1', port, ca: certs.ca.cert, session, ...options });
      let latest: Buffer | undefined;
      socket.on('session', (data: Buffer) => {
        latest = data;
      });
      await once(socket, 'secureConnect');
      socket.write(MESSAGE);
      const reused = socket.isSessionReused();
      // A resumed session may come without a new ticket; the one offered stays good.
      if (!reused) await until(() => latest !== undefined, 'a session');
      socket.end();
      await once(socket, 'close');
      return { reused, session: latest ?? session };
    };
    try {
      const fresh = await resumedAt(a, undefined);
      assert.equal(fresh.reused, false);
      assert.equal((await resumedAt(b, fresh.session)).reused, true, 'a ticket from one worker resumes on another with the same keys');

      const noTickets = { maxVersion: 'TLSv1.2' as const, secureContext: tls.createSecureContext({ ca: certs.ca.cert, secureOptions: cryptoConstants.SSL_OP_NO_TICKET }) };
      const byId = await resumedAt(a, undefined, noTickets);
      assert.equal((await resumedAt(a, byId.session, noTickets)).reused, true, 'TLS 1.2 session id');

      const offFresh = await resumedAt(c, undefined);
      assert.equal((await resumedAt(c, offFresh.session)).reused, false, 'resumption off: TLS 1.3');
      const offId = await resumedAt(c, undefined, noTickets);
      assert.equal((await resumedAt(c, offId.session, noTickets)).reused, false, 'resumption off: TLS 1.2 session id');
      assert.equal(first.count('tls-handshake', (event) => event.kind === 'tls-handshake' && event.resumed), 1);
      assert.equal(second.count('tls-handshake', (event) => event.kind === 'tls-handshake' && event.resumed), 1);
    } finally {
      await Promise.all([first.transport.close(), second.transport.close(), off.transport.close()]);
    }
  });

  test('the proxy as client refuses a callee whose certificate its CA did not issue', async () => {
    const callee = tls.createServer({ cert: certs.untrusted.cert, key: certs.untrusted.key }, (socket) => socket.on('error', () => undefined));
    callee.listen(0, '127.0.0.1');
    await once(callee, 'listening');
    const client = endpoint();
    try {
      client.transport.send({ protocol: 'tls', address: '127.0.0.1', port: (callee.address() as net.AddressInfo).port }, MESSAGE);
      await until(() => client.failures('bad-certificate') === 1, 'the refusal');
      await until(() => client.count('tls-failed-closed') === 1 && client.transport.connectionCount === 0, 'the connection closed');
      assert.equal(client.count('tls-handshake'), 0);
    } finally {
      await client.transport.close();
      callee.close();
    }
  });
});
