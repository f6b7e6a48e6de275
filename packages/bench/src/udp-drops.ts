/**
 * Datagrams the kernel dropped over a window, from its UDP counters (/proc/net/snmp, the
 * network namespace's): `RcvbufErrors` are datagrams that arrived at a full socket receive
 * buffer (a proxy or phone that fell behind), `NoPorts` those sent to a port nobody listened on.
 * The counters are the whole namespace's, so they speak for a run only on a machine where nothing
 * else sends UDP (the lab's reference runs hold other work idle). Linux only; elsewhere nothing
 * is recorded.
 */
import { readFile } from 'node:fs/promises';

export interface UdpCounters {
  readonly receiveBufferErrors: number;
  readonly noPorts: number;
}

/** The `Udp:` header and value lines of /proc/net/snmp, by name. */
export function parseUdpCounters(text: string): UdpCounters | undefined {
  const lines = text.split('\n').filter((line) => line.startsWith('Udp: '));
  if (lines.length < 2) return undefined;
  const names = (lines[0] as string).slice('Udp: '.length).trim().split(/\s+/);
  const values = (lines[1] as string).slice('Udp: '.length).trim().split(/\s+/).map(Number);
  const value = (name: string): number | undefined => {
    const index = names.indexOf(name);
    return index < 0 || !Number.isFinite(values[index]) ? undefined : (values[index] as number);
  };
  const receiveBufferErrors = value('RcvbufErrors');
  const noPorts = value('NoPorts');
  return receiveBufferErrors === undefined || noPorts === undefined ? undefined : { receiveBufferErrors, noPorts };
}

export async function readUdpCounters(): Promise<UdpCounters | undefined> {
  try {
    return parseUdpCounters(await readFile('/proc/net/snmp', 'utf8'));
  } catch {
    return undefined;
  }
}

/** The drops between two readings, or nothing when either is missing. */
export function udpDropsBetween(before: UdpCounters | undefined, after: UdpCounters | undefined): UdpCounters | undefined {
  if (before === undefined || after === undefined) return undefined;
  return { receiveBufferErrors: after.receiveBufferErrors - before.receiveBufferErrors, noPorts: after.noPorts - before.noPorts };
}

/** Two windows' drops added up (a registration run's probes); a window without a reading adds nothing. */
export function addDrops(sum: UdpCounters | undefined, window: UdpCounters | undefined): UdpCounters | undefined {
  if (window === undefined) return sum;
  if (sum === undefined) return window;
  return { receiveBufferErrors: sum.receiveBufferErrors + window.receiveBufferErrors, noPorts: sum.noPorts + window.noPorts };
}
