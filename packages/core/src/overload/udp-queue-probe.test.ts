import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';
import { UdpTransport } from '../transport/udp-transport.js';
import { PROBE_LENGTH, UdpQueueProbe } from './udp-queue-probe.js';

const TOKEN = '0123456789abcdef';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The probe `probe` sends on its next sample, caught instead of sent. */
function nextProbeBytes(probe: UdpQueueProbe): Buffer {
  let caught: Buffer | undefined;
  probe.attach((bytes) => {
    caught = bytes;
  });
  probe.sampleDelayMs();
  assert.ok(caught !== undefined, 'a probe was sent');
  return caught;
}

test('a probe measures nothing until a socket attaches it', () => {
  assert.equal(new UdpQueueProbe(100, TOKEN).sampleDelayMs(), undefined);
});

test('only a datagram with the magic, the length and the token is taken; anything else goes on', () => {
  const probe = new UdpQueueProbe(100, TOKEN);
  const bytes = nextProbeBytes(probe);
  assert.equal(bytes.length, PROBE_LENGTH);
  assert.equal(probe.take(Buffer.from('INVITE sip:bob@example.com SIP/2.0\r\n\r\n')), false);
  assert.equal(probe.take(Buffer.alloc(PROBE_LENGTH)), false, 'zeros');
  assert.equal(probe.take(Buffer.concat([bytes, Buffer.from('x')])), false, 'one byte more');
  const otherToken = Buffer.from(bytes);
  otherToken[5] = (otherToken[5] ?? 0) ^ 0xff;
  assert.equal(probe.take(otherToken), false, 'a forged token');
  assert.equal(new UdpQueueProbe(100).take(bytes), false, 'a reader with a token of its own');
  assert.equal(probe.take(bytes), true);
  assert.equal(probe.probesRead, 1);
});

test('workers sharing a token read each other\'s probes (the process-pool shares one socket); then an unread probe of their own says nothing', async () => {
  const sender = new UdpQueueProbe(10, TOKEN);
  const reader = new UdpQueueProbe(10, TOKEN);
  reader.attach(() => undefined);
  assert.equal(reader.shared, false);
  assert.equal(reader.take(nextProbeBytes(reader)), true, 'its own');
  assert.equal(reader.shared, false, 'its own probe');
  assert.equal(reader.take(nextProbeBytes(sender)), true);
  assert.equal(reader.shared, true, 'another reader\'s probe');
  const delay = reader.sampleDelayMs();
  assert.ok(typeof delay === 'number' && delay >= 0 && delay < 1000, `delay ${String(delay)}`);
  reader.attach(() => undefined);
  await sleep(40);
  assert.equal(reader.sampleDelayMs(), null, 'its probe, unread for four intervals, may have been read by the other');
});

test('a probe read back gives its delay; a probe never read counts only once it is three intervals old', async () => {
  const probe = new UdpQueueProbe(10, TOKEN);
  const lost: Buffer[] = [];
  probe.attach((bytes) => lost.push(bytes));
  assert.equal(probe.sampleDelayMs(), null, 'nothing read yet');
  assert.equal(probe.sampleDelayMs(), null, 'the unread probe is younger than three intervals');
  await sleep(40);
  const age = probe.sampleDelayMs();
  assert.ok(typeof age === 'number' && age >= 30, `the unread probe's age counts: ${String(age)}`);
  await sleep(25);
  assert.equal(probe.take(lost[2] as Buffer), true, 'a late probe');
  const late = probe.sampleDelayMs();
  assert.ok(typeof late === 'number' && late >= 20 && late < age, `the late probe's own delay: ${String(late)}`);
  assert.equal(probe.sampleDelayMs(), null, 'read since: young again');
});

test('over a real socket: probes go round without reaching onMessage, and datagrams still do', async () => {
  const messages: Buffer[] = [];
  const probe = new UdpQueueProbe(100, TOKEN);
  const udp = new UdpTransport({ host: '127.0.0.1', port: 0, onMessage: (bytes) => messages.push(bytes), queueProbe: probe });
  assert.equal(probe.sampleDelayMs(), undefined, 'not bound yet');
  const { port } = await udp.listen();
  const peer = dgram.createSocket('udp4');
  try {
    assert.equal(probe.sampleDelayMs(), null, 'the first probe is on its way');
    peer.send(Buffer.from('OPTIONS sip:x SIP/2.0\r\n\r\n'), port, '127.0.0.1');
    for (let n = 0; n < 100 && (probe.probesRead < 1 || messages.length < 1); n++) await sleep(5);
    assert.equal(probe.probesRead, 1);
    assert.equal(messages.length, 1, 'the peer\'s datagram only');
    const delay = probe.sampleDelayMs();
    assert.ok(typeof delay === 'number' && delay >= 0 && delay < 1000, `delay ${String(delay)}`);
  } finally {
    peer.close();
    await udp.close();
  }
  assert.equal(probe.sampleDelayMs(), undefined, 'closed: detached');
});
