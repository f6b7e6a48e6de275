/**
 * How a generator reaches past one source address's ports and one process's open-file limit:
 * connections are spread round robin over loopback source addresses (127.0.0.2, 127.0.0.3, …,
 * bound before connect; every address of 127.0.0.0/8 is loopback on Linux) and over several
 * generator processes, each holding a contiguous share.
 */
import { readFileSync } from 'node:fs';

/** The `index`-th source address: 127.0.0.2 upward, then 127.0.1.1 and on (never .0 or .255). */
export function sourceAddress(index: number): string {
  // Addresses x.y with y in 1..254, in order, skipping 127.0.0.1 (the proxy's).
  const n = index + 1;
  return `127.0.${Math.floor(n / 254)}.${(n % 254) + 1}`;
}

/** Local ports one address offers (`ip_local_port_range`), 28,232 when it cannot be read. */
export function localPortsPerAddress(): number {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low !== undefined && high !== undefined && high > low) return high - low + 1;
  } catch {
    // not Linux
  }
  return 60999 - 32768 + 1;
}

export interface SpreadOptions {
  /** Open files one generator process may use (RLIMIT_NOFILE); 20,000 on the lab machines. */
  readonly fileLimit: number;
  /** Files each process keeps for itself (IPC, stdio, the UDP socket, libraries). */
  readonly reservedFiles?: number;
  /** Ports one source address offers. */
  readonly portsPerAddress: number;
  /** Of those, the share used (TIME_WAIT and other users keep some). */
  readonly portShare?: number;
  /** Sockets opened over the run's life (connect-per-REGISTER modes open many more than they hold). */
  readonly socketsOverRun?: number;
  readonly minAddresses?: number;
  readonly minProcesses?: number;
}

export interface Spread {
  readonly addresses: readonly string[];
  /** Connections per generator process (their sum is the total). */
  readonly perProcess: readonly number[];
}

/** The addresses and processes `connections` held at once need. */
export function spreadConnections(connections: number, options: SpreadOptions): Spread {
  const reserved = options.reservedFiles ?? 256;
  const perProcessMax = Math.max(1, options.fileLimit - reserved);
  const processes = Math.max(options.minProcesses ?? 1, Math.ceil(connections / perProcessMax));
  const usablePorts = Math.max(1, Math.floor(options.portsPerAddress * (options.portShare ?? 0.85)));
  const sockets = Math.max(connections, options.socketsOverRun ?? 0);
  const addressCount = Math.min(254 * 250, Math.max(options.minAddresses ?? 1, Math.ceil(sockets / usablePorts)));
  const addresses = Array.from({ length: addressCount }, (_, index) => sourceAddress(index));
  const base = Math.floor(connections / processes);
  const perProcess = Array.from({ length: processes }, (_, index) => base + (index < connections % processes ? 1 : 0));
  return { addresses, perProcess };
}

/** The source address of a generator's `globalIndex`-th connection. */
export function addressOf(globalIndex: number, addresses: readonly string[]): string {
  return addresses[globalIndex % addresses.length] as string;
}
