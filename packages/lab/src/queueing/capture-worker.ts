/**
 * A piscina task: the SIP messages in one slice of a pcap file's records (reading and parsing the
 * datagrams is the heavy part of a large capture's analysis).
 */
import { open } from 'node:fs/promises';
import { readUdpRecords, type PcapLayout } from './pcap-reader.js';
import type { CapturedMessage } from './residence.js';
import { readSipDatagram } from './sip-datagram.js';

export interface CaptureSlice {
  readonly file: string;
  readonly start: number;
  readonly end: number;
  readonly layout: PcapLayout;
}

export interface SliceResult {
  readonly messages: CapturedMessage[];
  /** Records that were no UDP datagram, or no SIP message. */
  readonly skipped: number;
}

export default async function readSlice(slice: CaptureSlice): Promise<SliceResult> {
  const handle = await open(slice.file, 'r');
  try {
    const bytes = Buffer.alloc(slice.end - slice.start);
    await handle.read(bytes, 0, bytes.length, slice.start);
    return sliceMessages(bytes, slice.layout);
  } finally {
    await handle.close();
  }
}

/** The SIP messages among `bytes` (whole records). */
export function sliceMessages(bytes: Buffer, layout: PcapLayout): SliceResult {
  const { packets, skipped } = readUdpRecords(bytes, layout);
  const messages: CapturedMessage[] = [];
  let notSip = 0;
  for (const packet of packets) {
    const sip = readSipDatagram(packet.payload);
    if (sip === undefined) notSip++;
    else messages.push({ ...sip, timeUs: packet.timeUs, sourcePort: packet.sourcePort, destinationPort: packet.destinationPort });
  }
  return { messages, skipped: skipped + notSip };
}
