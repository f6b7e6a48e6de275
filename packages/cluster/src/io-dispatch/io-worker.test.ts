import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TransportAddress } from '@switchboard/core';
import { testSettings } from '../worker-pool/test-settings.fixture.js';
import type { LifecycleToPool } from '../worker-pool/channel.js';
import type { ToIoProcess } from './io-messages.js';
import { IoWorker } from './io-worker.js';

/**
 * An io-dispatch worker in this process, its I/O process a list of what it was told: it holds no
 * socket, so every answer it makes is a `send` back, and every message it handles is reported done.
 * (Shared transactions in a local Map: the worker's send path is the same whatever its store.)
 */

const settings = testSettings({
  listen: [
    { protocol: 'udp', host: '127.0.0.1', port: 5999 },
    { protocol: 'tcp', host: '127.0.0.1', port: 5999 },
  ],
  domains: ['example.com'],
  transactions: 'shared',
});

function options(via: string, callId: string, uri = 'sip:127.0.0.1:5999'): Buffer {
  return Buffer.from([`OPTIONS ${uri} SIP/2.0`, `Via: ${via};branch=z9hG4bK-${callId}`, 'Max-Forwards: 70', 'From: <sip:a@example.com>;tag=1', `To: <${uri}>`, `Call-ID: ${callId}`, 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', ''].join('\r\n'));
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('a message from the I/O process is answered with a send back (by connection id on a stream, to the source over UDP), an alias, and a done count; the worker owns no socket', async () => {
  const told: Array<ToIoProcess | LifecycleToPool> = [];
  const exits: number[] = [];
  const worker = new IoWorker({ slot: 0, origin: 1, workers: 2, udpPort: 5999, settings }, { port: { send: (message) => void told.push(message) }, exit: (code) => void exits.push(code) });
  await worker.start();
  try {
    const ready = told.shift() as { t: string; owner?: string } | undefined;
    assert.equal(ready?.t, 'ready');
    assert.match(ready?.owner ?? '', /^w0\./, 'with its lease owner id, for the death notice');
    const udp: TransportAddress = { protocol: 'udp', address: '127.0.0.1', port: 40000 };
    const tcp: TransportAddress = { protocol: 'tcp', address: '127.0.0.1', port: 40001, connectionId: 2 ** 32 + 3 };
    worker.receive({ t: 'message', bytes: options('SIP/2.0/UDP 127.0.0.1:40000;rport', 'u1'), source: udp });
    worker.receive({ t: 'message', bytes: options('SIP/2.0/TCP 127.0.0.1:5070', 't1'), source: tcp });
    await until(() => told.some((message) => message.t === 'done'), 'the done report');
    const sends = told.filter((message): message is Extract<ToIoProcess, { t: 'send' }> => message.t === 'send');
    assert.equal(sends.length, 2);
    assert.match(Buffer.from(sends[0]?.bytes ?? []).toString('latin1'), /^SIP\/2\.0 200 OK\r\n/);
    assert.deepEqual([sends[0]?.target.protocol, sends[0]?.target.port], ['udp', 40000], 'over UDP, to the source (rport)');
    assert.equal(sends[1]?.target.connectionId, 2 ** 32 + 3, 'on a stream, on the connection it came on');
    assert.deepEqual(told.find((message) => message.t === 'alias'), { t: 'alias', protocol: 'tcp', id: 2 ** 32 + 3, host: '127.0.0.1', port: 5070 }, 'the Via sent-by names the connection');
    assert.deepEqual(told.filter((message) => message.t === 'done'), [{ t: 'done', count: 2 }], 'one report for the turn');
    assert.equal(worker.counters.ioMessagesReceived, 2);
    assert.equal(worker.counters.ioWrites, 2);
    assert.equal(worker.server?.tcpConnections, 0);

    // A forwarded request's send takes a ticket; the failure the I/O process reports by it fails the
    // branch at once (a 503 upstream, §16.9), not after Timer F.
    told.length = 0;
    const forward = Buffer.from(options('SIP/2.0/UDP 127.0.0.1:40000;rport', 'f1', 'sip:bob@127.0.0.1:1'));
    worker.receive({ t: 'message', bytes: forward, source: udp });
    await until(() => told.some((message) => message.t === 'send' && message.ticket !== 0), 'the forwarded request');
    const forwarded = told.find((message): message is Extract<ToIoProcess, { t: 'send' }> => message.t === 'send' && message.ticket !== 0);
    assert.equal(forwarded?.target.port, 1);
    worker.receive({ t: 'send-failed', ticket: forwarded?.ticket ?? 0, message: 'connect ECONNREFUSED' });
    await until(() => told.some((message) => message.t === 'send' && /^SIP\/2\.0 50\d /.test(Buffer.from(message.bytes).toString('latin1'))), 'the 5xx upstream');
    assert.equal(worker.server?.core.counters.transportErrors, 1);
  } finally {
    worker.receive({ t: 'stop' });
    await until(() => exits.length > 0, 'the worker stopping');
  }
  assert.deepEqual(exits, [0]);
});
