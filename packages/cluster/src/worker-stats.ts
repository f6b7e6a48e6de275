import type { MessageTimingSnapshot, OverloadControl, ProxyCounters, ProxyServer, TransportCounters } from '@switchboard/core';
import type { EventLoopHealthCounters } from './event-loop-health.js';
import { redisClientCounters, type RedisClientCounters } from './state/redis-client-counters.js';

/** Counters of the concurrency model itself, of this process's Redis clients (state/), and of its event loop's health. */
export interface ModelCounters extends RedisClientCounters, EventLoopHealthCounters {
  /** Handles asked of the supervisor for connections another worker owns (process-pool). */
  fdRequests: number;
  /** Of those, how many the supervisor no longer had (connection closed meanwhile). */
  fdRequestsMissed: number;
  /** Of those, how many the supervisor carried out itself on its own handle instead of passing it (fd-answer.ts). */
  fdRequestsWritten: number;
  fdCacheHits: number;
  fdCacheMisses: number;
  /** Messages handed to the worker that owns their transaction, and received that way. */
  handOffsSent: number;
  handOffsReceived: number;
  /** Writes passed to the thread owning a connection (thread-pool). */
  remoteWrites: number;
  /**
   * process-pool, TLS: writes on a connection another worker owns, relayed through the supervisor
   * (a TLS connection's fd is useless without its session keys, which stay in the owner).
   * Workers count those they asked for and those they carried out; the supervisor those it
   * passed on and those whose connection was gone.
   */
  tlsRelaysSent: number;
  tlsRelaysReceived: number;
  tlsRelaysMissed: number;
  /**
   * process-pool with --supervisor-handles release: writes on a TCP connection another worker
   * owns, relayed through the supervisor to the owner (nobody else holds its handle), counted as
   * the TLS relays are.
   */
  tcpRelaysSent: number;
  tcpRelaysReceived: number;
  tcpRelaysMissed: number;
  /** Connections refused at --max-connections or because no file could be opened (EMFILE, ENFILE). */
  connectionsRefused: number;
  /**
   * process-pool supervisor: connections of a worker that died handed to another worker (or kept
   * for its replacement) with the supervisor's own handle, so their clients see nothing.
   */
  connectionsHandedOver: number;
  /**
   * process-pool supervisor: connections closed because their worker died: TLS ones (the session
   * keys were in the dead worker), TCP ones with --supervisor-handles release (the supervisor holds
   * no handle), or opened ones whose handle had not reached the supervisor yet.
   */
  connectionsLostWithWorker: number;
  /**
   * process-pool supervisor: hand-offs to a worker that was not up (dead, or its replacement not
   * yet ready), given back to the worker that read the message to handle there.
   */
  handOffsReturned: number;
  /** process-pool with --fd-request-wait: messages a worker queued while one of its fd requests was outstanding. */
  fdRequestWaitQueued: number;
  /** process-pool with --fd-request-wait: fd requests a worker stopped waiting for after 2 s without an answer. */
  fdRequestWaitExpired: number;
  /**
   * Control messages that could not be decoded, were malformed or failed to send (process-pool),
   * or thread messages that failed to be handled (thread-pool); each is dropped, never fatal.
   */
  ipcErrors: number;
  /** Time spent in IPC code (encoding, sending, decoding, wrapping handles), in milliseconds. */
  ipcMilliseconds: number;
  /** io-dispatch, I/O process: messages sent to workers (hand-offs included). */
  ioMessagesDispatched: number;
  /** io-dispatch, I/O process: messages read with no worker up to take them (dropped; the client retransmits). */
  ioMessagesDropped: number;
  /** io-dispatch, I/O process: responses sent to the worker their branch names rather than the least loaded. */
  ioResponsesRoutedByBranch: number;
  /** io-dispatch, I/O process: messages sent to the worker holding their call's outstanding messages rather than the least loaded. */
  ioMessagesKeptWithCall: number;
  /** io-dispatch, workers: messages received from the I/O process (per worker: what it was dispatched). */
  ioMessagesReceived: number;
  /** io-dispatch, workers: writes returned to the I/O process; I/O process: writes it carried out. */
  ioWrites: number;
  /** io-dispatch, I/O process: bytes it wrote for the workers. */
  ioBytesWritten: number;
  /** io-dispatch, I/O process: writes for a connection that had closed (or with no transport), dropped. */
  ioWritesDropped: number;
}

export function newModelCounters(): ModelCounters {
  return {
    fdRequests: 0,
    fdRequestsMissed: 0,
    fdRequestsWritten: 0,
    fdCacheHits: 0,
    fdCacheMisses: 0,
    handOffsSent: 0,
    handOffsReceived: 0,
    remoteWrites: 0,
    tlsRelaysSent: 0,
    tlsRelaysReceived: 0,
    tlsRelaysMissed: 0,
    tcpRelaysSent: 0,
    tcpRelaysReceived: 0,
    tcpRelaysMissed: 0,
    connectionsRefused: 0,
    connectionsHandedOver: 0,
    connectionsLostWithWorker: 0,
    handOffsReturned: 0,
    fdRequestWaitQueued: 0,
    fdRequestWaitExpired: 0,
    ipcErrors: 0,
    ipcMilliseconds: 0,
    ioMessagesDispatched: 0,
    ioMessagesDropped: 0,
    ioResponsesRoutedByBranch: 0,
    ioMessagesKeptWithCall: 0,
    ioMessagesReceived: 0,
    ioWrites: 0,
    ioBytesWritten: 0,
    ioWritesDropped: 0,
    eventLoopStalls: 0,
    eventLoopStallMilliseconds: 0,
    gcPauses: 0,
    gcPauseMilliseconds: 0,
    gcLongPauses: 0,
    gcMajorPauseMilliseconds: 0,
    redisCommandFailures: 0,
    redisClusterSlotRefreshes: 0,
    redisClusterNodeErrors: 0,
    redisClusterNodesLost: 0,
    redisClusterFailovers: 0,
  };
}

/** Bucket counts of a latency histogram, in milliseconds (Prometheus-style upper bounds). */
export interface HistogramSnapshot {
  readonly bounds: readonly number[];
  /** counts[i]: observations <= bounds[i] and > bounds[i - 1]; the last entry is +Inf. */
  readonly counts: readonly number[];
  readonly sum: number;
  readonly count: number;
}

const BOUNDS_MS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 1000];

/** A fixed-bucket latency histogram, cheap to observe and to ship between workers. */
export class LatencyHistogram {
  readonly #counts = new Array<number>(BOUNDS_MS.length + 1).fill(0);
  #sum = 0;
  #count = 0;

  observe(milliseconds: number): void {
    let i = 0;
    while (i < BOUNDS_MS.length && milliseconds > (BOUNDS_MS[i] as number)) i++;
    this.#counts[i] = (this.#counts[i] ?? 0) + 1;
    this.#sum += milliseconds;
    this.#count++;
  }

  snapshot(): HistogramSnapshot {
    return { bounds: BOUNDS_MS, counts: [...this.#counts], sum: this.#sum, count: this.#count };
  }
}

/** One worker's view, as the supervisor (or the thread pool's parent) collects it. */
export interface WorkerStats {
  /** `0`, `1` ... for workers; `supervisor` for the process-pool's supervisor. */
  readonly worker: string;
  readonly pid: number;
  readonly core: ProxyCounters | undefined;
  readonly transport: TransportCounters | undefined;
  readonly model: ModelCounters;
  readonly transactions: number;
  /** Of those, the ones still waiting for a final response (what a graceful stop waits for). */
  readonly pendingTransactions?: number;
  readonly tcpConnections: number;
  readonly tlsConnections: number;
  readonly ipcRoundTrip: HistogramSnapshot;
  readonly storeLatency: HistogramSnapshot;
  /** Service time per message type, with `--timing`. */
  readonly messageTiming?: MessageTimingSnapshot;
  /**
   * Gauges only the supervisor has: IPC sends not yet flushed (io-dispatch: messages sent to
   * workers not yet handled), connections in its table.
   */
  readonly supervisorQueueDepth?: number;
  /** io-dispatch: messages the I/O process has sent this worker that it has not yet handled. */
  readonly ioQueueDepth?: number;
  readonly supervisorConnections?: number;
  readonly workerRestarts?: number;
  /** `--overload on`: the share of new requests shed now (0 to 1; RFC 7339's `oc` value over 100). */
  readonly overloadReduction?: number;
  /** `--overload on`, while limiting: the new requests a second admitted, once measured. */
  readonly overloadAdmittedRate?: number;
  /** `--overload-kernel-filter on`, a UDP socket of the worker's own: the share of REGISTERs the kernel keeps. */
  readonly overloadKernelRegisterPass?: number;
}

/** A worker's stats from its proxy server and the model's own counters and histograms. */
export function workerStats(slot: number, server: ProxyServer | undefined, model: ModelCounters, ipcRoundTrip: LatencyHistogram, storeLatency: LatencyHistogram): WorkerStats {
  return {
    worker: String(slot),
    pid: process.pid,
    core: server?.core.counters,
    transport: server?.transportCounters,
    model: { ...model, ...redisClientCounters },
    transactions: server?.core.transactionCount ?? 0,
    pendingTransactions: server?.core.pendingTransactionCount ?? 0,
    tcpConnections: server?.tcpConnections ?? 0,
    tlsConnections: server?.tlsConnections ?? 0,
    ipcRoundTrip: ipcRoundTrip.snapshot(),
    storeLatency: storeLatency.snapshot(),
    ...overloadGauges(server?.core.overload),
  };
}

/** The gauges of a worker's overload control (none without `--overload on`). */
export function overloadGauges(overload: OverloadControl | undefined): Pick<WorkerStats, 'overloadReduction' | 'overloadAdmittedRate' | 'overloadKernelRegisterPass'> {
  if (overload === undefined) return {};
  const admittedRate = overload.admittedRate;
  const pass = overload.kernelRegisterPass;
  return {
    overloadReduction: overload.reduction,
    ...(admittedRate === undefined ? {} : { overloadAdmittedRate: admittedRate }),
    ...(pass === undefined ? {} : { overloadKernelRegisterPass: pass }),
  };
}
