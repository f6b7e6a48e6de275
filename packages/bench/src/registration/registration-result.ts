/**
 * What a registration run adds to its BenchResult (`result.registration`): for connection scale
 * (E5) the connections held, the memory they cost the proxy and the kernel, the open and close
 * phases and the probe's REGISTER response times while they are held; for the registration test
 * (E6) the mode and the spread. In both, `result.calls` counts the window's REGISTERs (a
 * "call" is one REGISTER transaction), so the peak ladder and the report read them unchanged.
 */
import type { LatencySummary } from '../bench-result.js';
import type { MemorySnapshot } from './memory-readers.js';
import type { RegistrationMode, RetryAfterBehaviour } from './registering-clients.js';

export type RegistrationWorkload = 'scale' | 'registration';

export interface PhaseCost {
  /** Connections opened (and REGISTERed) or closed in the phase. */
  readonly connections: number;
  readonly seconds: number;
  readonly perSecond: number;
  /** CPU the proxy's processes used over the phase, seconds. */
  readonly proxyCpuSeconds?: number;
  /** Proxy CPU per connection, microseconds. */
  readonly proxyCpuMicrosPerConnection?: number;
}

export interface ProbeResult {
  /** Offered REGISTERs per second. */
  readonly rate: number;
  /** Connections held while it ran. */
  readonly held: number;
  readonly attempted: number;
  readonly completed: number;
  readonly failures: Readonly<Record<string, number>>;
  readonly latency: LatencySummary;
  readonly proxyCpuPercent?: number;
}

export interface MemoryPerConnection {
  readonly proxyRssBytes?: number;
  readonly proxyPssBytes?: number;
  /** `/proc/net/sockstat` TCP mem pages × page size, per socket held (both ends are on this machine). */
  readonly tcpBufferBytesPerSocket?: number;
  /** Growth of the socket slab caches (TCP, sock_inode_cache, filp, dentry, eventpoll…), per socket. */
  readonly slabBytesPerSocket?: number;
  /** The two above: the kernel's memory per socket, beside study 004's 2.3 KB. */
  readonly kernelBytesPerSocket?: number;
  /** Sockets the kernel figures are divided by: two per loopback connection (generator and proxy ends). */
  readonly socketsCounted: number;
}

export interface RegistrationFigures {
  readonly workload: RegistrationWorkload;
  readonly mode: RegistrationMode;
  readonly clients: number;
  readonly generatorProcesses: number;
  readonly sourceAddresses: number;
  /** Why the spread is what it is (file limit, ports per address), for the report's prose. */
  readonly spreadNote: string;
  readonly expiresSeconds: number;
  readonly timeoutMs: number;
  /** registration: what the phones did with a failure's Retry-After (absent in runs before it was a setting: ignore). */
  readonly retryAfter?: RetryAfterBehaviour;
  /** E5: connections actually open and registered once all were opened, and at the end of the hold. */
  readonly held?: number;
  readonly heldAtEnd?: number;
  /** Held connections found closed during the hold and opened again by a probe or refresh (0 when the proxy kept them all). */
  readonly reconnected?: number;
  readonly openFailures?: Readonly<Record<string, number>>;
  readonly open?: PhaseCost;
  readonly close?: PhaseCost;
  readonly memoryBefore?: MemorySnapshot;
  readonly memoryHeld?: MemorySnapshot;
  readonly perConnection?: MemoryPerConnection;
  readonly probes?: readonly ProbeResult[];
  /** E6: the offered REGISTER rate of the window. */
  readonly rate?: number;
}
