import { readFile } from 'node:fs/promises';
import { Piscina } from 'piscina';
import type { CaptureSlice, SliceResult } from './capture-worker.js';
import { readPcapHeader, recordBoundaries } from './pcap-reader.js';
import { matchResidences, type CapturedMessage, type ResidenceMatch } from './residence.js';

export interface CaptureAnalysis extends ResidenceMatch {
  readonly messages: number;
  readonly skipped: number;
  /** Arrival times (µs, wall clock) of every datagram sent to the proxy's port, retransmissions included. */
  readonly arrivalTimesUs: number[];
}

/** Records per piscina task. */
const SLICE_RECORDS = 20_000;

/**
 * Residence times of the messages through the proxy's UDP port in a pcap file: the records are
 * cut into slices that piscina's worker threads read and parse (capture-worker.ts); the match
 * by Call-ID, CSeq and method or status runs here on their results.
 */
export async function analyseCapture(file: string, proxyPort: number, threads = 2): Promise<CaptureAnalysis> {
  const bytes = await readFile(file);
  const layout = readPcapHeader(bytes);
  const boundaries = recordBoundaries(bytes, layout, SLICE_RECORDS);
  const slices: CaptureSlice[] = [];
  for (let i = 0; i + 1 < boundaries.length; i++) slices.push({ file, start: boundaries[i] as number, end: boundaries[i + 1] as number, layout });
  const pool = new Piscina({ filename: new URL('./capture-worker.js', import.meta.url).href, maxThreads: threads, minThreads: 1 });
  try {
    const results: SliceResult[] = await Promise.all(slices.map((slice) => pool.run(slice) as Promise<SliceResult>));
    const messages: CapturedMessage[] = results.flatMap((result) => result.messages);
    const match = matchResidences(messages, proxyPort);
    const arrivalTimesUs = messages.filter((message) => message.destinationPort === proxyPort && message.sourcePort !== proxyPort).map((message) => message.timeUs);
    return { ...match, messages: messages.length, skipped: results.reduce((sum, result) => sum + result.skipped, 0), arrivalTimesUs };
  } finally {
    await pool.destroy();
  }
}
