import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { parseMessage, type SipMessage } from '@switchboard/sip';
import { DEFAULT_OVERLOAD_SETTINGS } from '../overload/overload-control.js';
import { MemoryLocationStore } from '../registrar/location-store.js';
import type { TransportAddress } from '../transport-address.js';
import { ProxyCore } from './proxy-core.js';

/**
 * `datagramsAdmitted` (the thread-pool's threads): a datagram was admitted by the overload control
 * of whoever read it, so a limiting core does not cut it again; a request on a connection still is.
 */

const UDP: TransportAddress = { protocol: 'udp', address: '192.0.2.10', port: 5060 };
const TCP: TransportAddress = { protocol: 'tcp', address: '192.0.2.11', port: 5060, connectionId: 7 };
const cores: ProxyCore[] = [];
afterEach(() => {
  for (const core of cores.splice(0)) core.close();
});

/** A core whose overload control is limiting at 1 new request a second, its bucket empty: it sheds the next new request. */
function limitingCore(datagramsAdmitted: boolean): { core: ProxyCore; sent: SipMessage[] } {
  const sent: SipMessage[] = [];
  const core = new ProxyCore({
    listeners: [{ protocol: 'udp', host: '192.0.2.1', port: 5060 }],
    domains: ['example.com'],
    store: new MemoryLocationStore(0),
    sender: { send: (_target, bytes) => sent.push(parseMessage(bytes)) },
    overload: DEFAULT_OVERLOAD_SETTINGS,
    datagramsAdmitted,
  });
  cores.push(core);
  const detector = core.overload?.detector;
  assert.ok(detector !== undefined);
  for (let n = 0; n < 4; n++) detector.update(1, 0, 100);
  assert.equal(detector.limiting, true);
  assert.ok((detector.admittedRate ?? Infinity) <= 1, 'nothing admitted: the lowest rate');
  return { core, sent };
}

function register(source: TransportAddress, callId: string): Buffer {
  return Buffer.from(
    [
      'REGISTER sip:example.com SIP/2.0',
      `Via: SIP/2.0/${source.protocol.toUpperCase()} ${source.address}:${source.port};branch=z9hG4bK-${callId}`,
      'Max-Forwards: 70',
      'From: <sip:bob@example.com>;tag=b1',
      'To: <sip:bob@example.com>',
      `Call-ID: ${callId}`,
      'CSeq: 1 REGISTER',
      `Contact: <sip:bob@${source.address}>`,
      'Expires: 600',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

async function statusesAfter(core: ProxyCore, sent: SipMessage[], bytes: Buffer, source: TransportAddress): Promise<number[]> {
  core.receive(bytes, source);
  await new Promise((resolve) => setTimeout(resolve, 20));
  return sent.map((message) => message.status ?? 0);
}

test('a limiting core sheds a new request it read itself', async () => {
  const { core, sent } = limitingCore(false);
  assert.deepEqual(await statusesAfter(core, sent, register(UDP, 'udp-1'), UDP), [503]);
});

test('with datagramsAdmitted a limiting core processes a datagram the reader admitted', async () => {
  const { core, sent } = limitingCore(true);
  assert.deepEqual(await statusesAfter(core, sent, register(UDP, 'udp-2'), UDP), [200]);
});

test('with datagramsAdmitted a request on a connection is still cut', async () => {
  const { core, sent } = limitingCore(true);
  assert.deepEqual(await statusesAfter(core, sent, register(TCP, 'tcp-1'), TCP), [503]);
});
