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

/** The kernel's ephemeral port range (`ip_local_port_range`), 32768–60999 when it cannot be read. */
function ephemeralPortRange(): readonly [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low !== undefined && high !== undefined && high > low) return [low, high];
  } catch {
    // not Linux
  }
  return [32768, 60999];
}

/** Local ports one address offers (`ip_local_port_range`), 28,232 when it cannot be read. */
export function localPortsPerAddress(): number {
  const [low, high] = ephemeralPortRange();
  return high - low + 1;
}

/** Held connections' explicit source ports start here: below lie the services most machines run (SIP's 5060, Redis' 6379). */
export const HELD_SOURCE_PORT_FLOOR = 10_000;

export interface SourcePorts {
  readonly first: number;
  readonly count: number;
}

/**
 * The ports the generator's TCP and TLS connections bind explicitly, below the kernel's ephemeral
 * range (10000–32767 on the lab machines), or undefined when fewer than 1,000 lie there. Why not
 * port 0: a port the
 * kernel picks for a bind() keeps its number from every connect() on the machine, whatever the
 * address (a connect skips ports that bind() holds), and keeps it in TIME_WAIT for 60 s after
 * the close. Held connections spread over addresses with port 0 took up to the whole ephemeral
 * range, so the runner's scrape of the proxy's /metrics could not connect ("fetch failed", E5 at
 * 19,000 held), and the 15,000 ports a point left in TIME_WAIT on 127.0.0.2 kept the next point
 * from opening more than 13,232 of its 19,000; a connection per REGISTER at E6's rates fills
 * the range within seconds the same way. Explicit ports leave the ephemeral range to everybody
 * else; a port in TIME_WAIT binds again (libuv sets SO_REUSEADDR), and on loopback Linux lets a
 * connect reuse a TIME_WAIT pair (tcp_tw_reuse's default, 2).
 */
export function generatorSourcePorts(): SourcePorts | undefined {
  const [low] = ephemeralPortRange();
  const count = low - HELD_SOURCE_PORT_FLOOR;
  return count >= 1000 ? { first: HELD_SOURCE_PORT_FLOOR, count } : undefined;
}

/**
 * The explicit source port of the whole generator's `globalIndex`-th held connection: the
 * connections of one address take its ports in turn, so as long as an address holds no more
 * than the block (spreadConnections sees to it) no two share an address and port, over
 * processes too, wherever the run's indices start. Undefined with no block: the kernel picks.
 */
export function heldSourcePort(globalIndex: number, addressCount: number, ports: SourcePorts | undefined): number | undefined {
  if (ports === undefined) return undefined;
  return ports.first + (Math.floor(globalIndex / addressCount) % ports.count);
}

/**
 * Generator process `index` of `processes`: its own share of the block, for the connections it
 * opens and closes per REGISTER (each address's taken in turn), so no two processes bind one
 * address and port.
 */
export function processShareOfPorts(ports: SourcePorts, index: number, processes: number): SourcePorts {
  const count = Math.floor(ports.count / processes);
  return { first: ports.first + index * count, count };
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
