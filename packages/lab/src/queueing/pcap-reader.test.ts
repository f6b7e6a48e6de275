import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sliceMessages } from './capture-worker.js';
import { readPcapHeader, recordBoundaries, PCAP_HEADER_BYTES } from './pcap-reader.js';
import { matchResidences } from './residence.js';

/** A pcap file as tcpdump writes one on Linux `lo`: Ethernet frames with zero MACs, IPv4, UDP. */
function pcap(packets: ReadonlyArray<{ timeUs: number; from: number; to: number; text: string }>, fragmentAt = -1): Buffer {
  const header = Buffer.alloc(PCAP_HEADER_BYTES);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(262144, 16);
  header.writeUInt32LE(1, 20);
  const records = packets.map((packet, index) => {
    const payload = Buffer.from(packet.text, 'latin1');
    const frame = Buffer.alloc(14 + 20 + 8 + payload.length);
    frame.writeUInt16BE(0x0800, 12);
    frame[14] = 0x45;
    frame.writeUInt16BE(20 + 8 + payload.length, 16);
    if (index === fragmentAt) frame.writeUInt16BE(0x2000, 20);
    frame[23] = 17;
    Buffer.from([127, 0, 0, 1, 127, 0, 0, 1]).copy(frame, 26);
    frame.writeUInt16BE(packet.from, 34);
    frame.writeUInt16BE(packet.to, 36);
    frame.writeUInt16BE(8 + payload.length, 38);
    payload.copy(frame, 42);
    const record = Buffer.alloc(16);
    record.writeUInt32LE(Math.floor(packet.timeUs / 1e6), 0);
    record.writeUInt32LE(packet.timeUs % 1e6, 4);
    record.writeUInt32LE(frame.length, 8);
    record.writeUInt32LE(frame.length, 12);
    return Buffer.concat([record, frame]);
  });
  return Buffer.concat([header, ...records]);
}

const sip = (startLine: string, cseq: string, callId = 'c1'): string => `${startLine}\r\nVia: SIP/2.0/UDP 127.0.0.1\r\nCall-ID: ${callId}\r\nCSeq: ${cseq}\r\nContent-Length: 0\r\n\r\n`;
const PROXY = 5060;
const CALLER = 5080;
const CALLEE = 5070;

test('a loopback capture: datagrams read, messages matched to their forwarded copies, residence times', () => {
  const bytes = pcap([
    { timeUs: 1_000_000, from: CALLER, to: PROXY, text: sip('INVITE sip:bob@x SIP/2.0', '1 INVITE') },
    { timeUs: 1_000_040, from: PROXY, to: CALLER, text: sip('SIP/2.0 100 Trying', '1 INVITE') },
    { timeUs: 1_000_070, from: PROXY, to: CALLEE, text: sip('INVITE sip:bob@x SIP/2.0', '1 INVITE') },
    { timeUs: 1_000_500, from: CALLER, to: PROXY, text: sip('INVITE sip:bob@x SIP/2.0', '1 INVITE') },
    { timeUs: 1_001_000, from: CALLEE, to: PROXY, text: sip('SIP/2.0 180 Ringing', '1 INVITE') },
    { timeUs: 1_001_030, from: PROXY, to: CALLER, text: sip('SIP/2.0 180 Ringing', '1 INVITE') },
    { timeUs: 1_002_000, from: CALLER, to: PROXY, text: 'not SIP at all' },
    { timeUs: 1_003_000, from: CALLER, to: PROXY, text: sip('BYE sip:bob@x SIP/2.0', '2 BYE', 'c2') },
    { timeUs: 1_003_100, from: PROXY, to: CALLEE, text: sip('BYE sip:bob@x SIP/2.0', '2 BYE', 'c2') },
  ], 8);
  const layout = readPcapHeader(bytes);
  assert.deepEqual(layout, { littleEndian: true, nanoseconds: false, linkType: 1 });
  const boundaries = recordBoundaries(bytes, layout, 4);
  assert.equal(boundaries.length, 4);
  assert.equal(boundaries.at(-1), bytes.length);
  // Two slices, as piscina's workers would read them.
  const first = sliceMessages(bytes.subarray(boundaries[0], boundaries[2]), layout);
  const second = sliceMessages(bytes.subarray(boundaries[2], boundaries[3]), layout);
  // The non-SIP datagram and the fragment are skipped.
  assert.equal(first.skipped + second.skipped, 2);
  const match = matchResidences([...second.messages, ...first.messages], PROXY);
  assert.deepEqual(match.residences.map((r) => [r.kind, r.residenceUs]), [['INVITE', 70], ['180', 30]]);
  assert.equal(match.repeats, 1);
  assert.equal(match.unmatched, 1, 'the BYE whose copy was a fragment never left');
});

test('not a pcap: a coded error', () => {
  assert.throws(() => readPcapHeader(Buffer.alloc(24)), { code: 'ERR_SWITCHBOARD_PCAP_FORMAT' });
});
