import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';
import { addDrops, parseUdpCounters, readUdpCounters, udpDropsBetween } from './udp-drops.js';

const SNMP = `Ip: Forwarding DefaultTTL
Ip: 1 64
Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
Udp: 25666469 243158 1477826 27389696 1477820 0 0 0 0
UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
UdpLite: 0 0 0 0 7 0 0 0 0
`;

test('the Udp line is read by its header names, not UdpLite\'s', () => {
  assert.deepEqual(parseUdpCounters(SNMP), { receiveBufferErrors: 1477820, noPorts: 243158 });
  assert.equal(parseUdpCounters('Udp: InDatagrams\n'), undefined);
  assert.equal(parseUdpCounters('Udp: InDatagrams NoPorts\nUdp: 1 2\n'), undefined, 'no RcvbufErrors column');
  assert.deepEqual(udpDropsBetween({ receiveBufferErrors: 5, noPorts: 1 }, { receiveBufferErrors: 9, noPorts: 1 }), { receiveBufferErrors: 4, noPorts: 0 });
  assert.equal(udpDropsBetween(undefined, { receiveBufferErrors: 9, noPorts: 1 }), undefined);
  assert.deepEqual(addDrops({ receiveBufferErrors: 1, noPorts: 2 }, { receiveBufferErrors: 3, noPorts: 4 }), { receiveBufferErrors: 4, noPorts: 6 });
  assert.deepEqual(addDrops(undefined, { receiveBufferErrors: 3, noPorts: 4 }), { receiveBufferErrors: 3, noPorts: 4 });
  assert.deepEqual(addDrops({ receiveBufferErrors: 1, noPorts: 2 }, undefined), { receiveBufferErrors: 1, noPorts: 2 });
});

test('a datagram to a closed loopback port counts in NoPorts (Linux)', { skip: process.platform !== 'linux' }, async () => {
  const closed = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => closed.bind(0, '127.0.0.1', () => resolve()));
  const port = closed.address().port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const before = await readUdpCounters();
  const sender = dgram.createSocket('udp4');
  for (let sent = 0; sent < 20; sent++) await new Promise<void>((resolve) => sender.send('x', port, '127.0.0.1', () => resolve()));
  sender.close();
  const drops = udpDropsBetween(before, await readUdpCounters());
  assert.ok(drops !== undefined && drops.noPorts >= 20, JSON.stringify(drops));
});
