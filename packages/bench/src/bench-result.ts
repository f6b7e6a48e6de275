/**
 * The JSON a `switchboard bench` run writes: what was asked, what happened, and what it cost
 * the proxy under test. Experiments append one of these per point and repeat
 * (see @switchboard/lab), and reports read them back, so the shape is versioned.
 */
import type { MachineFacts } from '@switchboard/sip/machine-facts';
import type { RegistrationFigures } from './registration/registration-result.js';
import type { CpuBusy } from './cpu-busy.js';
import type { UdpCounters } from './udp-drops.js';

export const BENCH_RESULT_SCHEMA = 'switchboard-bench/1';

export type BenchTransport = 'udp' | 'tcp' | 'tls';
export type Arrivals = 'exponential' | 'deterministic' | 'uniform' | 'pareto';

/**
 * How long a phone keeps a connection: the whole run, `per-ops:N` (closed and opened again after
 * N operations, i.e. INVITE or BYE transactions; study 002 used 50 and 500), or one connection
 * per transaction (study 004).
 */
export type ConnectionLifetime = 'persistent' | `per-ops:${number}` | 'per-transaction';

export interface BenchSettings {
  /** The proxy under test, HOST:PORT. */
  readonly proxy: string;
  readonly domain: string;
  readonly transport: BenchTransport;
  /** Closed loop: caller phones, each with its own callee; each caller calls again when its call ends. */
  readonly clients?: number;
  /** Open loop: calls per second started whatever the state of earlier calls. */
  readonly rate?: number;
  readonly arrivals?: Arrivals;
  /** Phone pairs in open loop (calls are spread over them). */
  readonly pairs: number;
  readonly callerConnection: ConnectionLifetime;
  readonly calleeConnection: ConnectionLifetime;
  /** The measured window; the run also stops after `calls` calls when given. */
  readonly durationSeconds: number;
  readonly calls?: number;
  /** Load before the measured window, not counted. */
  readonly warmupSeconds: number;
  /** How long a call stays up between ACK and BYE. */
  readonly holdMs: number;
  /** A transaction with no final response after this long counts as a `timeout` failure. */
  readonly timeoutMs: number;
  readonly procs: number;
  /** TLS only: offer the session of the last connection again (tickets or ids). */
  readonly tlsResume?: boolean;
  /** TLS only: present a client certificate. */
  readonly tlsClientCert?: boolean;
  /** The phones answered Digest challenges (a challenged INVITE or BYE counts as an operation too). */
  readonly auth?: boolean;
  /** RFC 5626 CRLF keep-alives: a connection a phone opened is pinged after this many idle seconds. */
  readonly keepaliveSeconds?: number;
}

/** What happened over the window to the connections the phones opened (TCP and TLS). */
export interface PhoneConnections {
  /** Connections opened: reconnections after the proxy closed one, or new ones under per-ops lifetimes. */
  readonly opened: number;
  /** REGISTERs sent: a persistent phone whose connection closed registers again on a new one. */
  readonly registrations: number;
  /**
   * With keep-alives: pings sent, pongs received, pings whose pong did not come within 10 s (each
   * closed its connection). A pong in the window may answer a ping sent just before it.
   */
  readonly keepalive?: { readonly pingsSent: number; readonly pongsReceived: number; readonly pongsMissing: number };
}

/** Latency of one kind of exchange, in milliseconds, from an HDR histogram (1 µs resolution). */
export interface LatencySummary {
  readonly count: number;
  readonly min: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

/**
 * Which exchanges are timed: `register` (REGISTER → 200), `invite-100`, `invite-180`,
 * `invite-200` (INVITE → that response at the caller; `invite-200` is call setup), `bye-200`.
 */
export type LatencyKind = 'register' | 'invite-100' | 'invite-180' | 'invite-200' | 'bye-200';

export interface ProcessUsage {
  readonly pid: number;
  /** What the process is: `generator`, or for the proxy `main`, `worker` and so on when known. */
  readonly role: string;
  /** Mean CPU over the window, percent of one core (200 = two cores busy). */
  readonly cpuPercent: number;
  readonly cpuPercentMax: number;
  readonly rssBytesMax: number;
}

export interface BenchResult {
  readonly schema: typeof BENCH_RESULT_SCHEMA;
  readonly startedAt: string;
  readonly settings: BenchSettings;
  readonly machine: MachineFacts;
  /** Length of the measured window actually run, seconds. */
  readonly windowSeconds: number;
  /** Operations (INVITE and BYE transactions completed with a final response), the studies' unit. */
  readonly operations: { readonly invite: number; readonly bye: number; readonly total: number; readonly perSecond: number };
  readonly calls: {
    readonly attempted: number;
    readonly completed: number;
    readonly failed: number;
    readonly perSecond: number;
    /** completed / (completed + failed) over calls that ended in the window; 1 when none ended. */
    readonly successRatio: number;
  };
  /** The registration phase before the load (not in the window). */
  readonly registrations: { readonly attempted: number; readonly completed: number; readonly failed: number };
  /**
   * Failures by kind: `timeout:<method>`, `status:<code>` (a final response other than 2xx),
   * `connect` (a connection could not be opened), `closed` (a connection closed under a
   * transaction), `unexpected` (a message the phone could not match).
   */
  readonly failures: Readonly<Record<string, number>>;
  readonly latencyMs: Readonly<Partial<Record<LatencyKind, LatencySummary>>>;
  readonly generator: {
    readonly processes: readonly ProcessUsage[];
    /**
     * True when some generator process was busier than `thresholdPercent` of a core, or all of
     * them together busier than `thresholdPercent` of their budget (`budgetCores`): the figures
     * then measure the generator.
     */
    readonly saturated: boolean;
    readonly thresholdPercent: number;
    /** CPU of every generator process summed, percent of one core (absent in results before it was recorded). */
    readonly cpuPercentTotal?: number;
    /** Cores the generator could use: its --generator-cpus list, or every CPU allowed. */
    readonly budgetCores?: number;
  };
  /** CPU and memory of the proxy's processes when their pid was given. */
  readonly proxy?: { readonly processes: readonly ProcessUsage[]; readonly cpuPercentTotal: number };
  /** Differences over the window of the proxy's Prometheus counters, summed over workers, when a metrics URL was given. */
  readonly proxyCounters?: Readonly<Record<string, number>>;
  /** Why there are no proxyCounters although a metrics URL was given (the proxy did not answer a scrape in time). */
  readonly proxyCountersError?: string;
  /**
   * How far the counters' interval can be from the window at each end, in ms: the proxy read its
   * counters at some moment between a scrape's request and its answer, so its first reading lies
   * within `beforeWindow` of the window's start and its last within `afterWindow` of its end
   * (summed over a registration run's probe windows). Calls set up in these edges may be counted
   * by one side and not the other (absent in older results).
   */
  readonly proxyCountersOverhangMs?: { readonly beforeWindow: number; readonly afterWindow: number };
  /** CPU and memory of other processes the run was told to watch (the proxy's Redis), by role. */
  readonly observed?: readonly ProcessUsage[];
  /** How busy every CPU of the machine was over the window, and how much the host stole (cpu-busy.ts; Linux). */
  readonly cpus?: CpuBusy;
  /** Datagrams the kernel dropped over the window (summed over a registration run's probe windows), machine-wide: at full receive buffers, and to closed ports (udp-drops.ts; Linux). */
  readonly udpDrops?: UdpCounters;
  /** Stream transports: the phones' reconnections, re-registrations and keep-alives over the window. */
  readonly phoneConnections?: PhoneConnections;
  /** A registration run (E5 connection scale, E6 registration test): `calls` then counts REGISTERs. */
  readonly registration?: RegistrationFigures;
}
