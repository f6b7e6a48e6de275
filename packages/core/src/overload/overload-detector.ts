import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { AdmissionGate } from './admission-gate.js';
import { AdmissionRate } from './admission-rate.js';
import type { UdpKernelShedder } from './udp-kernel-shedder.js';
import type { QueueDelaySource } from './udp-queue-probe.js';

/** When a worker counts as overloaded, and how often it looks (`--overload-*`). */
export interface OverloadThresholds {
  /** Event-loop utilization (0 to 1) over one interval at or above which the worker is overloaded. */
  readonly utilization: number;
  /** Event-loop lag (how late the interval's timer fired), in ms, at or above which it is overloaded. */
  readonly lagMs: number;
  /** How often utilization and lag are sampled, in ms. */
  readonly intervalMs: number;
  /**
   * Queue delay of the UDP socket (UdpQueueProbe), in ms, at or above which the worker is busy;
   * where it is measured, it replaces utilization and lag for datagrams. 0 or absent: not measured.
   */
  readonly queueDelayMs?: number;
}

/**
 * The queue delay's default, 200 ms (50 ms until 2026-12-08): below T1 (500 ms), where phones
 * start retransmitting what waits, and above the waits a CPU quota alone can make (a worker whose
 * quota of a 100 ms period is spent waits out the rest of it: up to 85 ms on 0.15 core; that such
 * waits made the 50 ms samples busy is inferred, not traced). In interleaved rounds over UDP at
 * about 4x and 8x on 0.15 core, goodput was higher with 200 in 8 of 8 pairs (event-loop +5% to
 * +15%, process-pool +1% to +19%), about the same for the thread-pool and the event-loop over TCP,
 * and fewer samples were queued in 12 of 12 UDP pairs (10% to 50% fewer)
 * (experiments/e6-overload-pool-queue-2026-12-08/queue-delay-200/).
 */
export const DEFAULT_OVERLOAD_THRESHOLDS: OverloadThresholds = Object.freeze({ utilization: 0.9, lagMs: 100, intervalMs: 100, queueDelayMs: 200 });

/** What the detector counts (kept in ProxyCounters). */
export interface OverloadDetectorCounters {
  overloadEntered: number;
  overloadLeft: number;
  overloadMilliseconds: number;
  /** Samples whose UDP queue delay was at or above --overload-queue-delay. */
  overloadQueueDelayed: number;
  /** Samples in which a read of a trunk connection filled the read buffer (StreamTransport `onRead`). */
  overloadStreamBacklogged: number;
}

/** A sample counts as calm (room to admit more) below the thresholds by this margin: utilization
 * under `utilization - CALM_MARGIN` and lag under half of `lagMs`. In between, the rate holds. */
const CALM_MARGIN = 0.1;

/**
 * While limiting, a trunk is left unread this long after each read that did not fill the read
 * buffer (StreamTransport), so that the requests it sheds come dozens to a read instead of a few.
 * A worker that keeps up reads a trunk as often as messages come: at 8x over TCP on 0.15 core the
 * event-loop made 85–190 reads per 100 ms of about 4 messages each, and a read costs about as
 * much as shedding several requests (experiments/bench-overload-2026-12-07c).
 */
export const READ_COALESCE_MS = 5;

/** Busy samples in a row (utilization or lag at or above its threshold) that make an overload. */
export const BUSY_SAMPLES = 3;

/**
 * Samples in a row with no UDP probe read (and nothing else to judge) that keep a busy run as it
 * was; the next one breaks it. Where workers share one socket (the process-pool's) each reads
 * about half of the probes, so half of a worker's samples measure nothing: when such a sample broke
 * the run, a standing queue of 0.8–1.4 s never made three busy samples in a row, and the
 * process-pool's workers never limited at 4x over UDP (bench-overload-2026-12-06d, traced).
 */
export const NO_NEWS_SAMPLES = 3;

/**
 * One per worker (process or thread): samples its own event loop every `intervalMs`, the
 * utilization (performance.eventLoopUtilization: the share of the interval the loop was busy)
 * and the lag (how late the sampling timer fired: a loop held up by long turns), and, where the
 * worker reads a UDP socket (`useQueueDelay`), the queue delay: how long a probe it sent itself
 * waited in the socket's receive queue (UdpQueueProbe). Where the queue delay is measured it
 * alone judges datagrams (a sample at or above `queueDelayMs` is busy). A trunk connection's
 * backlog (`noteStreamRead`) is seen in its reads: a sample in which at least half of the trunk
 * reads filled the read buffer is busy. Utilization and lag count wherever the queue delay is not measured, and where
 * it is, in intervals that carried reads of phones' connections (a message at a time); a sample
 * at or above either is busy then. BUSY_SAMPLES busy samples in a row are an overload; a sample that
 * measured nothing (no probe read and nothing else to judge by) neither extends nor breaks a run,
 * for up to NO_NEWS_SAMPLES in a row. From the
 * samples, the new work counted while limiting (`noteNewWork`) and the load carried before
 * (`noteArrival`) an AdmissionRate keeps `reduction`, the
 * fraction of new work to shed (RFC 7339's loss algorithm on the server's side, and the `oc`
 * value it announces). Reading `limiting` and `reduction` is a field load: the per message check
 * costs nothing while the worker is not limiting.
 */
export class OverloadDetector {
  readonly #thresholds: OverloadThresholds;
  readonly #counters: OverloadDetectorCounters;
  readonly #admission = new AdmissionRate();
  readonly #gate = new AdmissionGate();
  #offered = 0;
  #admitted = 0;
  /** New requests (a guess: mayBeNewWork) that arrived since the last sample while not limiting. */
  #arrived = 0;
  /** Busy samples in a row so far. */
  #busyRun = 0;
  /** Samples in a row that measured nothing while a busy run was kept (NO_NEWS_SAMPLES). */
  #noNewsRun = 0;
  #timer: NodeJS.Timeout | undefined;
  #lastElu: EventLoopUtilization | undefined;
  #lastTick = 0;
  /** Set by a refusal, cleared by a sample once the gate can no longer hold one (see `screening`). */
  #holdsRefusals = false;
  #queueDelay: QueueDelaySource | undefined;
  #kernelShedder: UdpKernelShedder | undefined;
  /** Reads since the last sample of connections that carry a message at a time (phones): the loop judges them. */
  #phoneReads = 0;
  /** Reads since the last sample that filled the read buffer: the kernel held at least a buffer's worth. */
  #fullReads = 0;
  /** Reads of trunk connections this sample (noteStreamRead). */
  #trunkReads = 0;

  constructor(thresholds: OverloadThresholds, counters: OverloadDetectorCounters) {
    this.#thresholds = thresholds;
    this.#counters = counters;
  }

  /** Whether new work is being limited now (then every new request must be noted). */
  get limiting(): boolean {
    return this.#admission.limiting;
  }

  /**
   * Whether each message must be looked at before the parse: while limiting, and after it for as
   * long as a refusal is remembered (its retransmissions are refused again). A field load.
   */
  get screening(): boolean {
    return this.#holdsRefusals || this.#admission.limiting;
  }

  /** Whether the request with these hashes was refused and that is remembered (after an overload). */
  refusedEarlier(callIdHash: number, cseqHash: number, nowMs: number): boolean {
    return this.#gate.refusedEarlier(callIdHash, cseqHash, nowMs);
  }

  /** The fraction of new work to shed now, 0 to 1. */
  get reduction(): number {
    return this.#admission.reduction;
  }

  /** The admitted rate (new requests per second) while limiting, once measured. */
  get admittedRate(): number | undefined {
    return this.#admission.rate;
  }

  /**
   * Measure the queue delay of the UDP socket this worker reads (UdpQueueProbe): from then on
   * datagrams are judged by it instead of the loop's utilization (see `update`).
   */
  useQueueDelay(source: QueueDelaySource): void {
    if ((this.#thresholds.queueDelayMs ?? 0) > 0) this.#queueDelay = source;
  }

  /** Steer the kernel's share of REGISTERs over UDP (UdpKernelShedder) once a sample. */
  useKernelShedder(shedder: UdpKernelShedder): void {
    this.#kernelShedder = shedder;
  }

  /**
   * One read from a TCP or TLS connection (StreamTransport `onRead`; a field increment or two):
   * `trunk` when that connection's reads carry several messages at once, `full` when the read
   * filled the read buffer. Returns how long the trunk is left unread before its next read
   * (READ_COALESCE_MS while limiting, else 0).
   */
  noteStreamRead(full: boolean, trunk: boolean): number {
    if (!trunk) {
      this.#phoneReads++;
      return 0;
    }
    this.#trunkReads++;
    if (full) this.#fullReads++;
    return this.#admission.limiting ? READ_COALESCE_MS : 0;
  }

  /** Whether the last `admit` met a remembered decision (a retransmission of a request decided earlier). */
  get lastDecisionRemembered(): boolean {
    return this.#gate.lastRemembered;
  }

  /**
   * A message that may be new work (mayBeNewWork) arrived while not limiting (a field increment):
   * the load carried, where limiting will start from.
   */
  noteArrival(): void {
    this.#arrived++;
  }

  /** An arrival noted here that another worker counts (OverloadControl.handedOn). */
  retractArrival(): void {
    if (this.#arrived > 0) this.#arrived--;
  }

  /** One new request seen while limiting, admitted or shed. */
  noteNewWork(admitted: boolean): void {
    this.#offered++;
    if (admitted) this.#admitted++;
  }

  /**
   * While limiting: whether the new request with these Call-ID and CSeq hashes goes on (and it is
   * noted); `remember` (datagrams) keeps the decision for its retransmissions.
   */
  admit(callIdHash: number, cseqHash: number, nowMs: number, remember = true): boolean {
    const admitted = this.#gate.admit(callIdHash, cseqHash, this.#admission.rate, this.#admission.reduction, nowMs, remember);
    if (!admitted && remember) this.#holdsRefusals = true;
    this.noteNewWork(admitted);
    return admitted;
  }

  /** Starts sampling (an unref'd timer: it never keeps the process alive). */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#lastElu = performance.eventLoopUtilization();
    this.#lastTick = performance.now();
    this.#timer = setInterval(() => this.#sample(), this.#thresholds.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #sample(): void {
    const now = performance.now();
    const elu = performance.eventLoopUtilization();
    const utilization = this.#lastElu === undefined ? 0 : performance.eventLoopUtilization(elu, this.#lastElu).utilization;
    const elapsed = now - this.#lastTick;
    this.#lastElu = elu;
    this.#lastTick = now;
    this.update(utilization, Math.max(0, elapsed - this.#thresholds.intervalMs), elapsed, this.#queueDelay?.sampleDelayMs());
  }

  /**
   * One sample: utilization (0 to 1), lag (ms) and, where it is measured, the UDP socket's queue
   * delay (ms; `null`: not measured this time) over an interval of `elapsedMs`, with the new work
   * noted since the last sample. Public for tests.
   *
   * A read of a trunk that filled the read buffer makes a sample busy, wherever it happens.
   * Where the queue delay is measured it judges the datagrams and the trunks, and utilization and
   * lag count only in an interval that carried phones' reads (a backlog spread over many
   * connections, out of the probe's and the reads' sight); without it they count always.
   * Utilization alone cannot tell a backlog from a loop that is busy but keeping up: under a CPU
   * quota, and where the cost of a message falls as messages come in batches, a worker is busy
   * all the time at loads it carries (see UdpQueueProbe).
   */
  update(utilization: number, lagMs: number, elapsedMs: number, queueDelayMs?: number | null): void {
    const wasLimiting = this.#admission.limiting;
    const thresholds = this.#thresholds;
    const target = thresholds.queueDelayMs ?? 0;
    const probed = queueDelayMs !== undefined && target > 0;
    const queued = probed && queueDelayMs !== null && queueDelayMs >= target;
    if (queued) this.#counters.overloadQueueDelayed++;
    // Busy for BUSY_SAMPLES samples in a row: one or two busy samples are a burst (or, under a
    // CPU quota, periods whose quota ran out), which the queue absorbs; a run of them is a load
    // the worker is not keeping up with.
    // Where the queue delay is measured, the loop's lag does not count for datagrams either: a
    // probe waits for the loop as for the queue, and under a CPU quota the lag is mostly the time
    // the quota ran out, which a worker keeping up absorbs within the next period.
    // A trunk connection (one whose reads carry several messages: SIPp's one connection per side,
    // an SBC) has its backlog in the kernel, where a read that fills the buffer sees it. Where the
    // queue delay is measured, the loop does not judge a trunk either (busy all the time under a
    // quota at loads it carries; a loop really behind, with work handed to it too, delays the
    // probe). A thread-pool thread that reads a trunk and keeps up hands half its calls to another
    // thread, whose queue no read shows: its queue delay is that of its inbox (PeerQueueProbe in
    // the cluster package); without any probe (a pool of one thread) the loop still judges (with
    // trunks judged by full reads alone, the thread-pool stalled for 10 s at 2x over TCP,
    // bench-overload-2026-12-06). Phones' connections (a message at a time) spread a backlog over
    // many sockets, which only the loop's lag and utilization show.
    const byLoop = !probed || this.#phoneReads > 0;
    // Most of the trunk reads filled the buffer: one among many is a burst of the peer's, or what
    // a pause of #coalesceReads let pile up (while limiting, a trunk is read every few ms).
    const backlogged = this.#fullReads > 0 && this.#fullReads * 2 >= this.#trunkReads;
    if (backlogged) this.#counters.overloadStreamBacklogged++;
    this.#phoneReads = 0;
    this.#trunkReads = 0;
    this.#fullReads = 0;
    const busy = queued || backlogged || (byLoop && (utilization >= thresholds.utilization || lagMs >= thresholds.lagMs));
    // Nothing measured (no probe read, no full read, no phones' reads to judge the loop by) is no
    // news: the busy run is kept for up to NO_NEWS_SAMPLES such samples, and the rate holds.
    const noNews = probed && queueDelayMs === null && !backlogged && !byLoop && this.#busyRun > 0 && this.#noNewsRun < NO_NEWS_SAMPLES;
    if (noNews) {
      this.#noNewsRun++;
    } else {
      this.#noNewsRun = 0;
      this.#busyRun = busy ? this.#busyRun + 1 : 0;
    }
    const overloaded = !noNews && this.#busyRun >= BUSY_SAMPLES;
    const queueCalm = !probed || (queueDelayMs !== null && queueDelayMs < target / 2);
    const loopCalm = !byLoop || (utilization < thresholds.utilization - CALM_MARGIN && lagMs < thresholds.lagMs / 2);
    const calm = !overloaded && !backlogged && queueCalm && loopCalm;
    const droppedInKernel = this.#kernelShedder?.droppedSinceSample() ?? 0;
    this.#admission.update({ overloaded, calm, offered: this.#offered + droppedInKernel, admitted: this.#admitted, elapsedMs, arrived: this.#arrived });
    this.#kernelShedder?.steer(this.#admission.limiting, this.#admission.rate, elapsedMs, this.#arrived);
    this.#offered = 0;
    this.#admitted = 0;
    this.#arrived = 0;
    if (this.#holdsRefusals && !this.#gate.holdsRefusals(Date.now())) this.#holdsRefusals = false;
    if (wasLimiting) this.#counters.overloadMilliseconds += Math.round(elapsedMs);
    if (!wasLimiting && this.#admission.limiting) this.#counters.overloadEntered++;
    else if (wasLimiting && !this.#admission.limiting) this.#counters.overloadLeft++;
  }
}
