/**
 * A reader of classic pcap files (what `tcpdump -w` writes) for UDP over IPv4: enough to time SIP
 * datagrams on the loopback interface. Link types: Ethernet (Linux `lo`), BSD loopback, raw IP and
 * Linux cooked captures (v1, v2). Other packets (TCP, IPv6, fragments, ARP) are skipped and counted.
 * (npm's pcap-parser is unmaintained since 2013 and reads no link layers: a few lines of our own.)
 */
import { QueueingError } from './queueing-error.js';

export interface UdpPacket {
  /** Capture time, microseconds since the epoch. */
  readonly timeUs: number;
  readonly sourceAddress: string;
  readonly sourcePort: number;
  readonly destinationAddress: string;
  readonly destinationPort: number;
  readonly payload: Buffer;
}

export interface PcapLayout {
  readonly littleEndian: boolean;
  readonly nanoseconds: boolean;
  readonly linkType: number;
}

function formatError(message: string): QueueingError {
  return new QueueingError('ERR_SWITCHBOARD_PCAP_FORMAT', message);
}

export const PCAP_HEADER_BYTES = 24;
export const RECORD_HEADER_BYTES = 16;

/** The global header: byte order, time resolution and link type. */
export function readPcapHeader(bytes: Buffer): PcapLayout {
  if (bytes.length < PCAP_HEADER_BYTES) throw formatError('shorter than a pcap header');
  const magicLe = bytes.readUInt32LE(0);
  const magicBe = bytes.readUInt32BE(0);
  let littleEndian: boolean;
  let nanoseconds: boolean;
  if (magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d) {
    littleEndian = true;
    nanoseconds = magicLe === 0xa1b23c4d;
  } else if (magicBe === 0xa1b2c3d4 || magicBe === 0xa1b23c4d) {
    littleEndian = false;
    nanoseconds = magicBe === 0xa1b23c4d;
  } else {
    throw formatError(`not a pcap file (magic 0x${magicBe.toString(16)}; pcapng is not read)`);
  }
  const linkType = littleEndian ? bytes.readUInt32LE(20) : bytes.readUInt32BE(20);
  return { littleEndian, nanoseconds, linkType };
}

/**
 * Offsets of every `every`-th record in `bytes` (a whole capture), so that workers can each take
 * a slice of records. The last entry is the end of the last whole record.
 */
export function recordBoundaries(bytes: Buffer, layout: PcapLayout, every: number): number[] {
  const boundaries: number[] = [];
  let offset = PCAP_HEADER_BYTES;
  let index = 0;
  while (offset + RECORD_HEADER_BYTES <= bytes.length) {
    const length = layout.littleEndian ? bytes.readUInt32LE(offset + 8) : bytes.readUInt32BE(offset + 8);
    if (offset + RECORD_HEADER_BYTES + length > bytes.length) break;
    if (index % every === 0) boundaries.push(offset);
    offset += RECORD_HEADER_BYTES + length;
    index++;
  }
  boundaries.push(offset);
  return boundaries;
}

export interface ReadResult {
  readonly packets: UdpPacket[];
  /** Records that were not whole UDP/IPv4 datagrams. */
  readonly skipped: number;
}

/** The UDP datagrams of the records in `bytes` (records only, starting at offset 0). */
export function readUdpRecords(bytes: Buffer, layout: PcapLayout): ReadResult {
  const packets: UdpPacket[] = [];
  let skipped = 0;
  let offset = 0;
  const u32 = (at: number): number => (layout.littleEndian ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at));
  while (offset + RECORD_HEADER_BYTES <= bytes.length) {
    const seconds = u32(offset);
    const fraction = u32(offset + 4);
    const length = u32(offset + 8);
    const start = offset + RECORD_HEADER_BYTES;
    offset = start + length;
    if (offset > bytes.length) break;
    const timeUs = seconds * 1e6 + (layout.nanoseconds ? fraction / 1000 : fraction);
    const packet = udpOf(bytes.subarray(start, offset), layout, timeUs);
    if (packet === undefined) skipped++;
    else packets.push(packet);
  }
  return { packets, skipped };
}

/** Where the IP header starts for a link type, or -1 when the frame is not IPv4. */
function ipOffset(frame: Buffer, layout: PcapLayout): number {
  switch (layout.linkType) {
    case 1: {
      // Ethernet, with at most one VLAN tag.
      if (frame.length < 14) return -1;
      let type = frame.readUInt16BE(12);
      let at = 14;
      if (type === 0x8100 && frame.length >= 18) {
        type = frame.readUInt16BE(16);
        at = 18;
      }
      return type === 0x0800 ? at : -1;
    }
    case 0: {
      // BSD loopback: the address family in the capturing host's byte order (2: IPv4).
      if (frame.length < 4) return -1;
      const family = layout.littleEndian ? frame.readUInt32LE(0) : frame.readUInt32BE(0);
      return family === 2 || frame.readUInt32BE(0) === 2 ? 4 : -1;
    }
    case 101:
    case 12:
    case 228:
      return 0;
    case 113:
      return frame.length >= 16 && frame.readUInt16BE(14) === 0x0800 ? 16 : -1;
    case 276:
      return frame.length >= 20 && frame.readUInt16BE(0) === 0x0800 ? 20 : -1;
    default:
      return -1;
  }
}

function udpOf(frame: Buffer, layout: PcapLayout, timeUs: number): UdpPacket | undefined {
  const ip = ipOffset(frame, layout);
  if (ip < 0 || frame.length < ip + 20) return undefined;
  const versionAndLength = frame[ip] as number;
  if (versionAndLength >> 4 !== 4) return undefined;
  const headerLength = (versionAndLength & 0x0f) * 4;
  const totalLength = frame.readUInt16BE(ip + 2);
  const fragment = frame.readUInt16BE(ip + 6);
  // A fragment (more fragments, or an offset): not a whole datagram.
  if ((fragment & 0x3fff) !== 0 || frame[ip + 9] !== 17) return undefined;
  const udp = ip + headerLength;
  const end = Math.min(frame.length, ip + totalLength);
  if (udp + 8 > end) return undefined;
  const udpLength = frame.readUInt16BE(udp + 4);
  if (udp + udpLength > end || udpLength < 8) return undefined;
  return {
    timeUs,
    sourceAddress: `${frame[ip + 12]}.${frame[ip + 13]}.${frame[ip + 14]}.${frame[ip + 15]}`,
    destinationAddress: `${frame[ip + 16]}.${frame[ip + 17]}.${frame[ip + 18]}.${frame[ip + 19]}`,
    sourcePort: frame.readUInt16BE(udp),
    destinationPort: frame.readUInt16BE(udp + 2),
    payload: frame.subarray(udp + 8, udp + udpLength),
  };
}
