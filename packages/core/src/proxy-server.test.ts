import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { StreamFramer } from '@switchboard/sip';
import { ProxyServer } from './proxy-server.js';

/**
 * A proxy with no TCP listener is still a TCP client (RFC 3261 §18): a request whose next hop
 * says transport=tcp opens a connection and its response comes back on it. A next hop over a
 * transport the proxy cannot send on at all (TLS without credentials) gets 503, counted.
 */

let proxy: ProxyServer;
let phone: dgram.Socket;
let callee: net.Server;
const received: string[] = [];
let calleePort = 0;

before(async () => {
  proxy = await ProxyServer.start({ listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }], timers: { t1: 50, t2: 400, t4: 500 } });
  phone = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => phone.bind(0, '127.0.0.1', () => resolve()));
  // A TCP-only callee: answers every request but ACK with 200 on the connection it came on.
  callee = net.createServer((socket) => {
    const framer = new StreamFramer();
    socket.on('data', (chunk: Buffer) => {
      for (const event of framer.push(chunk)) {
        if (event.kind !== 'message') continue;
        const text = event.bytes.toString('latin1');
        received.push(text);
        if (text.startsWith('ACK ')) continue;
        const keep = text.split('\r\n').filter((line) => /^(Via|From|To|Call-ID|CSeq):/i.test(line));
        socket.write(['SIP/2.0 200 OK', ...keep, 'Content-Length: 0', '', ''].join('\r\n'));
      }
    });
  });
  await new Promise<void>((resolve) => callee.listen(0, '127.0.0.1', () => resolve()));
  calleePort = (callee.address() as net.AddressInfo).port;
});

after(async () => {
  phone.close();
  await proxy.close();
  await new Promise<void>((resolve) => callee.close(() => resolve()));
});

const udpPort = (): number => proxy.listeners[0]?.port ?? 0;

function inDialog(method: string, uri: string, branch: string): Buffer {
  const { port } = phone.address();
  return Buffer.from(
    [
      `${method} ${uri} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${port};rport;branch=z9hG4bK${branch}`,
      'Max-Forwards: 70',
      'From: <sip:alice@example.com>;tag=a1',
      'To: <sip:bob@example.com>;tag=b1',
      `Call-ID: ${branch}@example.com`,
      `CSeq: 2 ${method}`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

async function exchange(bytes: Buffer, waitMs = 2000): Promise<string | undefined> {
  const answer = new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => {
      phone.off('message', onMessage);
      resolve(undefined);
    }, waitMs);
    const onMessage = (data: Buffer): void => {
      clearTimeout(timer);
      phone.off('message', onMessage);
      resolve(data.toString('latin1').split('\r\n')[0]);
    };
    phone.on('message', onMessage);
  });
  phone.send(bytes, udpPort(), '127.0.0.1');
  return answer;
}

test('without a TCP listener, a BYE toward a transport=tcp Contact goes out over a new connection and its 200 comes back', async () => {
  const status = await exchange(inDialog('BYE', `sip:bob@127.0.0.1:${calleePort};transport=tcp`, 'bye1'));
  assert.equal(status, 'SIP/2.0 200 OK');
  const bye = received.find((text) => text.startsWith('BYE '));
  assert.ok(bye, 'the callee got the BYE');
  // Our Via names the transport used and our UDP listener's address (see ProxyCore #outgoingFor).
  assert.match(bye, new RegExp(`\\r\\nVia: SIP/2\\.0/TCP 127\\.0\\.0\\.1:${udpPort()};branch=z9hG4bK-sb-`));
  assert.equal(proxy.transportCounters.tcpConnectionsOpened, 1);
});

test('an ACK for a 2xx (forwarded statelessly) toward a transport=tcp target goes out too', async () => {
  phone.send(inDialog('ACK', `sip:bob@127.0.0.1:${calleePort};transport=tcp`, 'ack1'), udpPort(), '127.0.0.1');
  const deadline = Date.now() + 2000;
  while (!received.some((text) => text.startsWith('ACK ')) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(received.some((text) => text.startsWith('ACK ')));
});

test('a next hop over TLS with no TLS credentials gets 503 Transport Not Available, counted', async () => {
  const status = await exchange(inDialog('BYE', `sip:bob@127.0.0.1:${calleePort};transport=tls`, 'bye2'));
  assert.equal(status, 'SIP/2.0 503 Transport Not Available');
  phone.send(inDialog('ACK', `sip:bob@127.0.0.1:${calleePort};transport=tls`, 'ack2'), udpPort(), '127.0.0.1');
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(proxy.core.counters.transportUnavailable, 2, 'the BYE and the ACK');
});

test('stateless: the same next hops are forwarded, or answered 503 and counted', async () => {
  const stateless = await ProxyServer.start({ listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }], stateless: true });
  try {
    const port = stateless.listeners[0]?.port ?? 0;
    const send = (bytes: Buffer): void => {
      phone.send(bytes, port, '127.0.0.1');
    };
    const answer = once(phone, 'message', { signal: AbortSignal.timeout(2000) }).catch(() => [Buffer.from('no answer')]);
    send(inDialog('OPTIONS', `sip:bob@127.0.0.1:${calleePort};transport=tls`, 'opt1'));
    const [data] = (await answer) as [Buffer];
    assert.match(data.toString('latin1'), /^SIP\/2\.0 503 Transport Not Available\r\n/);
    assert.equal(stateless.core.counters.transportUnavailable, 1);
    const before = received.length;
    send(inDialog('MESSAGE', `sip:bob@127.0.0.1:${calleePort};transport=tcp`, 'msg1'));
    const deadline = Date.now() + 2000;
    while (!received.slice(before).some((text) => text.startsWith('MESSAGE ')) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(received.slice(before).some((text) => text.startsWith('MESSAGE ')), 'forwarded over TCP');
  } finally {
    await stateless.close();
  }
});

function large(method: string, uri: string, branch: string): Buffer {
  return Buffer.from(inDialog(method, uri, branch).toString('latin1').replace('Content-Length: 0', `X-Padding: ${'p'.repeat(6000)}\r\nContent-Length: 0`), 'latin1');
}

test('a 6 KB request for a UDP next hop goes over TCP (RFC 3261 §18.1.1), Via TCP, and its answer comes back', async () => {
  const before = received.length;
  const status = await exchange(large('MESSAGE', `sip:bob@127.0.0.1:${calleePort}`, 'big1'));
  assert.equal(status, 'SIP/2.0 200 OK');
  const message = received.slice(before).find((text) => text.startsWith('MESSAGE '));
  assert.ok(message, 'the callee got it over TCP');
  assert.match(message, /\r\nVia: SIP\/2\.0\/TCP /);
  assert.equal(proxy.core.counters.largeRequestsOverTcp, 1);
});

test('a large request whose TCP connection is refused is retried over UDP', async () => {
  const udpCallee = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => udpCallee.bind(0, '127.0.0.1', () => resolve()));
  try {
    const arrived = once(udpCallee, 'message', { signal: AbortSignal.timeout(3000) });
    phone.send(large('MESSAGE', `sip:bob@127.0.0.1:${udpCallee.address().port}`, 'big2'), udpPort(), '127.0.0.1');
    const [data] = (await arrived) as [Buffer];
    const text = data.toString('latin1');
    assert.ok(text.startsWith('MESSAGE '));
    assert.ok(data.length > 6000);
    assert.match(text, /\r\nVia: SIP\/2\.0\/UDP /);
    assert.equal(proxy.core.counters.largeRequestsUdpFallbacks, 1);
  } finally {
    udpCallee.close();
  }
});
