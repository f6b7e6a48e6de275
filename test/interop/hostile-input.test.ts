import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { ADDED_BYTES } from '@switchboard/core';
import { EVERY_VARIANT, freePort, prepareModel, runSipp, sippCalls, startProxy, type RunningProxy } from './harness.js';

/**
 * Hostile input over UDP and TCP while real calls go through the proxy: every malformed request
 * that can be answered gets the RFC's response, the rest is dropped, and no call is lost.
 */

function request(lines: string[]): Buffer {
  return Buffer.from([...lines, '', ''].join('\r\n'));
}

const HEADERS = (branch: string, method = 'OPTIONS'): string[] => [
  `Via: SIP/2.0/UDP 127.0.0.1:9;rport;branch=z9hG4bK${branch}`,
  'From: <sip:attacker@example.com>;tag=x',
  'To: <sip:victim@example.com>',
  `Call-ID: hostile-${branch}`,
  `CSeq: 1 ${method}`,
  'Max-Forwards: 70',
];

/** Sends one datagram from a fresh socket and waits for the first answer (or none). */
async function udpExchange(port: number, bytes: Buffer, waitMs = 400): Promise<string | undefined> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  try {
    const answer = new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), waitMs);
      socket.on('message', (data) => {
        const text = data.toString('latin1');
        if (text.startsWith('SIP/2.0 100 ')) return;
        clearTimeout(timer);
        resolve(text);
      });
    });
    socket.send(bytes, port, '127.0.0.1');
    return await answer;
  } finally {
    socket.close();
  }
}

const statusOf = (text: string | undefined): string | undefined => text?.slice(0, text.indexOf('\r\n'));

for (const variant of EVERY_VARIANT) {
  describe(`hostile input, --model ${variant.name}`, { concurrency: false, timeout: 120_000 }, () => {
    let proxy: RunningProxy;
    let calleePort: number;
    let model: { args: string[]; stop(): Promise<void> };
    before(async () => {
      model = await prepareModel(variant);
      calleePort = await freePort();
      proxy = await startProxy(['--default-route', `sip:127.0.0.1:${calleePort}`, '--header-timeout', '0.5', '--domain', 'example.com', ...model.args]);
    });
    after(async () => {
      assert.equal(await proxy.stop(), 0);
      await model.stop();
    });

    test('malformed UDP requests get 400 with a reason, 505, 513, 416, 483, 420; garbage and stray responses are dropped', async () => {
      const cases: Array<[string, Buffer, string | undefined]> = [
        ['bad version', request(['OPTIONS sip:a@example.com SIP/3.0', ...HEADERS('v')]), 'SIP/2.0 505 Version Not Supported'],
        ['bad CSeq', request(['OPTIONS sip:a@example.com SIP/2.0', ...HEADERS('c').filter((h) => !h.startsWith('CSeq')), 'CSeq: 99999999999 OPTIONS']), 'SIP/2.0 400 Malformed CSeq'],
        ['CSeq mismatch', request(['INVITE sip:a@example.com SIP/2.0', ...HEADERS('m', 'OPTIONS')]), 'SIP/2.0 400 CSeq Method Mismatch'],
        ['unknown scheme', request(['OPTIONS nobody:opaque SIP/2.0', ...HEADERS('s')]), 'SIP/2.0 416 Unsupported URI Scheme'],
        ['oversized', request(['OPTIONS sip:a@example.com SIP/2.0', ...HEADERS('o'), `X-Padding: ${'x'.repeat(20_000)}`]), 'SIP/2.0 513 Message Too Large'],
        ['Max-Forwards 0', request(['OPTIONS sip:a@example.com SIP/2.0', ...HEADERS('z').filter((h) => !h.startsWith('Max')), 'Max-Forwards: 0']), 'SIP/2.0 483 Too Many Hops'],
        ['Proxy-Require', request(['OPTIONS sip:a@example.com SIP/2.0', ...HEADERS('p'), 'Proxy-Require: teleportation']), 'SIP/2.0 420 Bad Extension'],
        ['bad To', request(['OPTIONS sip:a@example.com SIP/2.0', ...HEADERS('t').filter((h) => !h.startsWith('To')), 'To: "unterminated <sip:a@b>']), 'SIP/2.0 400 Malformed Address'],
        ['no Call-ID', request(['OPTIONS sip:a@example.com SIP/2.0', ...HEADERS('i').filter((h) => !h.startsWith('Call-ID'))]), 'SIP/2.0 400 Missing Mandatory Header'],
        ['garbage', Buffer.from('\u0000\u0001GARBAGE\r\n\r\n'), undefined],
        ['a response nobody asked for', request(['SIP/2.0 200 OK', ...HEADERS('r')]), undefined],
        ['empty', Buffer.alloc(0), undefined],
      ];
      for (const [name, bytes, expected] of cases) {
        assert.equal(statusOf(await udpExchange(proxy.udpPort, bytes)), expected, name);
      }
      const options = await udpExchange(proxy.udpPort, request([`OPTIONS sip:127.0.0.1:${proxy.udpPort} SIP/2.0`, ...HEADERS('ok')]));
      assert.equal(statusOf(options), 'SIP/2.0 200 OK', 'OPTIONS to the proxy itself');
      // 100 compact Via lines, each 2 bytes longer in the answer: more than a response may add.
      const compact = Array.from({ length: 100 }, (_, i) => `v:SIP/2.0/UDP 127.0.0.1:9;rport;branch=z9hG4bKc${i}`);
      const grows = request(['OPTIONS sip:a@example.com SIP/3.0', ...compact, 'f:<sip:x@example.com>;tag=x', 't:<sip:y@example.com>', 'i:grows', 'CSeq:1 OPTIONS']);
      assert.equal(await udpExchange(proxy.udpPort, grows), undefined, 'a 505 that outgrows its request is not sent over UDP');
    });

    test('a 12.8 KB UDP request of non-UTF-8 bytes draws answers its size (not three times it), its bytes copied exactly', async () => {
      // One header line past the 8 KB line limit (513), and the same bytes in smaller lines (404).
      const name = (byte: number, size: number): string => Buffer.alloc(size, byte).toString('latin1');
      const hostile = (branch: string, lines: string[]): Buffer =>
        Buffer.from([`OPTIONS sip:nobody@example.com SIP/2.0`, ...HEADERS(branch).filter((h) => !h.startsWith('From') && !h.startsWith('To')), ...lines, '', ''].join('\r\n'), 'latin1');
      const cases: Array<[string, Buffer, string]> = [
        ['one long line', hostile('u8a', [`From: "${name(0xff, 12_600)}" <sip:attacker@example.com>;tag=x`, `To: "${name(0xfe, 40)}" <sip:victim@example.com>`]), 'SIP/2.0 513 Message Too Large'],
        ['many bytes', hostile('u8b', [`From: "${name(0xff, 6_300)}" <sip:attacker@example.com>;tag=x`, `To: "${name(0xfe, 6_300)}" <sip:victim@example.com>`]), 'SIP/2.0 404 Not Found'],
      ];
      for (const [label, bytes, expected] of cases) {
        assert.ok(bytes.length > 12_800, label);
        const answer = await udpExchange(proxy.udpPort, bytes);
        assert.equal(statusOf(answer), expected, label);
        const answered = Buffer.from(answer ?? '', 'latin1');
        // Never larger than the request but for what a response must add (To tag, Content-Length...).
        assert.ok(answered.length <= bytes.length + ADDED_BYTES, `${label}: ${answered.length} bytes answer ${bytes.length}`);
        const sent = bytes.toString('latin1').split('\r\n');
        const got = answered.toString('latin1').split('\r\n');
        for (const header of ['From:', 'To:', 'Call-ID:', 'CSeq:']) {
          const original = sent.find((line) => line.startsWith(header)) ?? '-';
          assert.ok(got.find((line) => line.startsWith(header))?.startsWith(original), `${label}: ${header} copied byte for byte`);
        }
      }
    });

    test('a Via sent-by port of 0 gets 400, a Route to port 0 gets 500 at once; the proxy lives on and serves a call', async () => {
      // Both used to stop the process: dgram.send threw ERR_SOCKET_BAD_PORT out of the proxy.
      const portZeroVia = request(['INVITE sip:bob@example.com SIP/2.0', ...HEADERS('p0', 'INVITE').map((h) => (h.startsWith('Via') ? 'Via: SIP/2.0/UDP 127.0.0.1:0;branch=z9hG4bKp0' : h))]);
      assert.equal(statusOf(await udpExchange(proxy.udpPort, portZeroVia)), 'SIP/2.0 400 Malformed Via');
      const routeToPortZero = request(['OPTIONS sip:bob@example.com SIP/2.0', ...HEADERS('r0'), 'Route: <sip:127.0.0.1:0;lr>']);
      assert.equal(statusOf(await udpExchange(proxy.udpPort, routeToPortZero, 2000)), 'SIP/2.0 500 Downstream Service Unavailable');
      assert.equal(proxy.process.exitCode, null, 'the proxy is still running');
      const callee = runSipp(['-sf', 'uas-rr.xml', '-i', '127.0.0.1', '-p', String(calleePort), '-t', 'u1', '-m', '1']);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const caller = runSipp(['-sf', 'uac-rr.xml', '-i', '127.0.0.1', '-p', '0', '-t', 'u1', '-key', 'target', `127.0.0.1:${calleePort}`, '-s', 'bob', '-m', '1', `127.0.0.1:${proxy.udpPort}`]);
      const result = await caller.done;
      callee.process.kill('SIGTERM');
      const calleeScreen = (await callee.done).output.slice(-2500);
      const screens = `caller:\n${result.output.slice(-3000)}\ncallee:\n${calleeScreen}`;
      assert.equal(result.code, 0, screens);
      assert.equal(sippCalls(result.output).successful, 1, screens);
    });

    test('a 6.5 KB INVITE over UDP leaves the proxy over TCP with a TCP Via, not as one datagram (RFC 3261 §18.1.1)', async () => {
      // The default route is UDP; a TCP listener stands on the callee's port for this test.
      const invites: string[] = [];
      const connections: net.Socket[] = [];
      const callee = net.createServer((socket) => {
        connections.push(socket);
        let text = '';
        socket.on('data', (chunk: Buffer) => {
          text += chunk.toString('latin1');
          if (text.includes('\r\n\r\n')) invites.push(text);
        });
      });
      await new Promise<void>((resolve) => callee.listen(calleePort, '127.0.0.1', () => resolve()));
      const datagrams: Buffer[] = [];
      const udpCallee = dgram.createSocket('udp4');
      udpCallee.on('message', (data) => datagrams.push(data));
      await new Promise<void>((resolve) => udpCallee.bind(calleePort, '127.0.0.1', () => resolve()));
      try {
        const big = request(['INVITE sip:carol@elsewhere.example SIP/2.0', ...HEADERS('big', 'INVITE'), `X-Padding: ${'p'.repeat(6500)}`]);
        const socket = dgram.createSocket('udp4');
        socket.send(big, proxy.udpPort, '127.0.0.1', () => socket.close());
        const deadline = Date.now() + 5000;
        while (invites.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
        assert.equal(invites.length, 1, 'the INVITE arrived over TCP');
        assert.match(invites[0] ?? '', /^INVITE sip:carol@elsewhere\.example SIP\/2\.0\r\n/);
        assert.match(invites[0] ?? '', /\r\nVia: SIP\/2\.0\/TCP 127\.0\.0\.1:\d+;branch=z9hG4bK-sb-[^\r]*\r\nVia: SIP\/2\.0\/UDP 127\.0\.0\.1:9;/, 'our Via, on top, says TCP');
        assert.equal(datagrams.filter((data) => data.toString('latin1').startsWith('INVITE ')).length, 0, 'and not as a datagram');
      } finally {
        udpCallee.close();
        for (const connection of connections) connection.destroy();
        await new Promise<void>((resolve) => callee.close(() => resolve()));
      }
    });

    test('over TCP a framing error, an oversized header or a slow drip closes that connection only', async () => {
      const connect = async (): Promise<net.Socket> => {
        const socket = net.connect(proxy.tcpPort, '127.0.0.1');
        await once(socket, 'connect');
        return socket;
      };
      // A close by the proxy may come as a reset (ECONNRESET) when it closes with bytes unread: that
      // is a close too, so 'close' is awaited whatever 'error' came before it.
      const closed = (socket: net.Socket): Promise<void> => {
        socket.on('error', () => undefined);
        return new Promise((resolve) => socket.once('close', () => resolve()));
      };
      const healthy = await connect();
      // Each close is awaited from the moment its offending bytes are written, so none is missed.
      const framing = await connect();
      const framingClosed = closed(framing);
      framing.write('OPTIONS sip:a@example.com SIP/2.0\r\nContent-Length: lots\r\n\r\n');
      const oversized = await connect();
      const oversizedClosed = closed(oversized);
      oversized.write(`OPTIONS sip:a@example.com SIP/2.0\r\nX: ${'y'.repeat(40_000)}`);
      const slow = await connect();
      const slowClosed = closed(slow);
      slow.write('OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/TCP');
      await Promise.all([framingClosed, oversizedClosed, slowClosed]);
      const answer = once(healthy, 'data');
      healthy.write(request([`OPTIONS sip:127.0.0.1:${proxy.tcpPort};transport=tcp SIP/2.0`, ...HEADERS('tcp').map((h) => h.replace('SIP/2.0/UDP', 'SIP/2.0/TCP'))]));
      const [data] = (await answer) as [Buffer];
      assert.match(data.toString(), /^SIP\/2\.0 200 OK\r\n/);
      healthy.destroy();
    });

    test('calls in progress all complete while hostile input keeps coming', async () => {
      // The callee runs until the caller is done: with `-m 200` it could count a call the
      // caller still had to finish (a retransmission under the noise) and exit before it.
      const callee = runSipp(['-sf', 'uas-rr.xml', '-i', '127.0.0.1', '-p', String(calleePort), '-t', 'u1']);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const caller = runSipp([
        '-sf', 'uac-rr.xml', '-i', '127.0.0.1', '-p', '0', '-t', 'u1', '-key', 'target', `127.0.0.1:${calleePort}`,
        '-s', 'bob', '-m', '200', '-r', '100', `127.0.0.1:${proxy.udpPort}`,
      ]);
      let stop = false;
      const noise = (async () => {
        const socket = dgram.createSocket('udp4');
        let sent = 0;
        while (!stop && sent < 5000) {
          const bytes = Buffer.from(`INVITE sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK${sent}\r\nCSeq: ${sent % 3 === 0 ? 'x' : '1'} INVITE\r\nCall-ID: n${sent}\r\n\r\n`);
          socket.send(bytes, proxy.udpPort, '127.0.0.1');
          sent++;
          if (sent % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 10));
        }
        socket.close();
      })();
      const result = await caller.done;
      stop = true;
      await noise;
      callee.process.kill('SIGTERM');
      const calleeScreen = (await callee.done).output.slice(-2500);
      const screens = `caller:\n${result.output.slice(-3000)}\ncallee:\n${calleeScreen}`;
      assert.equal(result.code, 0, screens);
      assert.equal(sippCalls(result.output).successful, 200, screens);
    });
  });
}
