import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { AdmissionGate } from './admission-gate.js';
import { AdmissionRate } from './admission-rate.js';

/** When a worker counts as overloaded, and how often it looks (`--overload-*`). */
export interface OverloadThresholds {
  /** Event-loop utilization (0 to 1) over one interval at or above which the worker is overloaded. */
  readonly utilization: number;
  /** Event-loop lag (how late the interval's timer fired), in ms, at or above which it is overloaded. */
  readonly lagMs: number;
  /** How often utilization and lag are sampled, in ms. */
  readonly intervalMs: number;
}

export const DEFAULT_OVERLOAD_THRESHOLDS: OverloadThresholds = Object.freeze({ utilization: 0.9, lagMs: 100, intervalMs: 100 });

/** What the detector counts (kept in ProxyCounters). */
export interface OverloadDetectorCounters {
  overloadEntered: number;
  overloadLeft: number;
  overloadMilliseconds: number;
}

/** A sample counts as calm (room to admit more) below the thresholds by this margin: utilization
 * under `utilization - CALM_MARGIN` and lag under half of `lagMs`. In between, the rate holds. */
const CALM_MARGIN = 0.1;

/** Busy samples in a row (utilization or lag at or above its threshold) that make an overload. */
export const BUSY_SAMPLES = 3;

/**
 * One per worker (process or thread): samples its own event loop every `intervalMs`, the
 * utilization (performance.eventLoopUtilization: the share of the interval the loop was busy,
 * which reaches 1 when messages arrive faster than it handles them, whatever queue they wait in:
 * the socket's buffer, a framed TCP chunk, a hand-off port) and the lag (how late the sampling
 * timer fired: a loop held up by long turns). A sample at or above either threshold is busy;
 * BUSY_SAMPLES busy samples in a row are an overload. From the samples and the new work counted while limiting (`noteNewWork`) an
 * AdmissionRate keeps `reduction`, the fraction of new work to shed (RFC 7339's loss algorithm
 * on the server's side, and the `oc` value it announces). Reading `limiting` and `reduction` is a
 * field load: the per message check costs nothing while the worker is not limiting.
 */
export class OverloadDetector {
  readonly #thresholds: OverloadThresholds;
  readonly #counters: OverloadDetectorCounters;
  readonly #admission = new AdmissionRate();
  readonly #gate = new AdmissionGate();
  #offered = 0;
  #admitted = 0;
  /** Busy samples in a row so far. */
  #busyRun = 0;
  #timer: NodeJS.Timeout | undefined;
  #lastElu: EventLoopUtilization | undefined;
  #lastTick = 0;
  /** Set by a refusal, cleared by a sample once the gate can no longer hold one (see `screening`). */
  #holdsRefusals = false;

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
    this.update(utilization, Math.max(0, elapsed - this.#thresholds.intervalMs), elapsed);
  }

  /**
   * One sample: utilization (0 to 1) and lag (ms) over an interval of `elapsedMs`, with the new
   * work noted since the last sample. Public for tests.
   */
  update(utilization: number, lagMs: number, elapsedMs: number): void {
    const wasLimiting = this.#admission.limiting;
    const thresholds = this.#thresholds;
    // Busy for BUSY_SAMPLES samples in a row: one or two busy samples are a burst (or, under a
    // CPU quota, periods whose quota ran out), which the queue absorbs; a run of them is a load
    // the worker is not keeping up with.
    const busy = utilization >= thresholds.utilization || lagMs >= thresholds.lagMs;
    this.#busyRun = busy ? this.#busyRun + 1 : 0;
    const overloaded = this.#busyRun >= BUSY_SAMPLES;
    const calm = !overloaded && utilization < thresholds.utilization - CALM_MARGIN && lagMs < thresholds.lagMs / 2;
    this.#admission.update({ overloaded, calm, offered: this.#offered, admitted: this.#admitted, elapsedMs });
    this.#offered = 0;
    this.#admitted = 0;
    if (this.#holdsRefusals && !this.#gate.holdsRefusals(Date.now())) this.#holdsRefusals = false;
    if (wasLimiting) this.#counters.overloadMilliseconds += Math.round(elapsedMs);
    if (!wasLimiting && this.#admission.limiting) this.#counters.overloadEntered++;
    else if (wasLimiting && !this.#admission.limiting) this.#counters.overloadLeft++;
  }
}
