import { performance, type EventLoopUtilization } from 'node:perf_hooks';

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

/** Reduction added per interval found overloaded, and taken off per interval found not. */
const STEP_UP = 0.1;
const STEP_DOWN = 0.05;

/**
 * One per worker (process or thread): samples its own event loop every `intervalMs`, the
 * utilization (performance.eventLoopUtilization: the share of the interval the loop was busy,
 * which reaches 1 when messages arrive faster than it handles them, whatever queue they wait in:
 * the socket's buffer, a framed TCP chunk, a hand-off port) and the lag (how late the sampling
 * timer fired: a loop held up by one long turn). From them it keeps `reduction`, the fraction of
 * new work to shed (RFC 7339's loss algorithm on the server's side, and the `oc` value it
 * announces): up by STEP_UP each overloaded interval, down by STEP_DOWN each calm one, so it
 * settles where the admitted load just keeps the loop under the threshold, and after an overload
 * it is back to 0 within 2 s (20 calm intervals). Reading `reduction` is a field load: the per
 * message check costs nothing while it is 0.
 */
export class OverloadDetector {
  readonly #thresholds: OverloadThresholds;
  readonly #counters: OverloadDetectorCounters;
  #reduction = 0;
  #timer: NodeJS.Timeout | undefined;
  #lastElu: EventLoopUtilization | undefined;
  #lastTick = 0;

  constructor(thresholds: OverloadThresholds, counters: OverloadDetectorCounters) {
    this.#thresholds = thresholds;
    this.#counters = counters;
  }

  /** The fraction of new work to shed now, 0 to 1. */
  get reduction(): number {
    return this.#reduction;
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

  /** One sample: utilization (0 to 1) and lag (ms) over an interval of `elapsedMs`. Public for tests. */
  update(utilization: number, lagMs: number, elapsedMs: number): void {
    const before = this.#reduction;
    const overloaded = utilization >= this.#thresholds.utilization || lagMs >= this.#thresholds.lagMs;
    // Rounded to whole percents (what `oc` carries), so repeated steps land on 0 exactly.
    const next = overloaded ? Math.min(1, before + STEP_UP) : Math.max(0, before - STEP_DOWN);
    this.#reduction = Math.round(next * 100) / 100;
    if (before > 0) this.#counters.overloadMilliseconds += Math.round(elapsedMs);
    if (before === 0 && this.#reduction > 0) this.#counters.overloadEntered++;
    else if (before > 0 && this.#reduction === 0) this.#counters.overloadLeft++;
  }
}
