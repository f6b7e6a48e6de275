/**
 * How well one event loop (a process's, or a worker thread's) kept time, for the metrics: a timer
 * every HEALTH_SAMPLE_MS measures how late it fired, and a lateness of STALL_MS or more is a stall,
 * counted with its lateness; V8's garbage-collection pauses are counted from perf_hooks `gc`
 * entries. Always on, off the message path: a timer (20 wake-ups a second per loop) and an
 * observer called once per collection; their cost has not been measured apart from the rest. A
 * latency tail whose cause is a stalled loop (a long collection, a long turn, a process starved
 * of its CPU) then shows in the counters of the window it spoiled.
 */
import { PerformanceObserver, constants, performance, type PerformanceEntry } from 'node:perf_hooks';

export interface EventLoopHealthCounters {
  /** Samples whose timer fired STALL_MS or more late. */
  eventLoopStalls: number;
  /** Their lateness, summed, in milliseconds. */
  eventLoopStallMilliseconds: number;
  gcPauses: number;
  gcPauseMilliseconds: number;
  /** Collections that paused the loop for STALL_MS or more. */
  gcLongPauses: number;
  /**
   * Of gcPauseMilliseconds, the pauses of full (mark-compact) collections: the old generation's,
   * which a larger young generation makes rarer only if it keeps short-lived objects from being
   * promoted; the rest are scavenges, incremental marking steps and weak-callback processing.
   */
  gcMajorPauseMilliseconds: number;
}

export const HEALTH_SAMPLE_MS = 50;
export const STALL_MS = 50;

export class EventLoopHealth {
  readonly #counters: EventLoopHealthCounters;
  #timer: NodeJS.Timeout | undefined;
  #observer: PerformanceObserver | undefined;
  #lastTick = 0;

  constructor(counters: EventLoopHealthCounters) {
    this.#counters = counters;
  }

  /** Starts the sampling timer (unref'd: it never keeps the process alive) and the GC observer. */
  start(): this {
    if (this.#timer !== undefined) return this;
    this.#lastTick = performance.now();
    this.#timer = setInterval(() => {
      const now = performance.now();
      this.noteLateness(now - this.#lastTick - HEALTH_SAMPLE_MS);
      this.#lastTick = now;
    }, HEALTH_SAMPLE_MS);
    this.#timer.unref();
    this.#observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) this.noteGcPause(entry.duration, (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR);
    });
    this.#observer.observe({ entryTypes: ['gc'] });
    return this;
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#observer?.disconnect();
    this.#observer = undefined;
  }

  /** One sample: how late the timer fired, in ms. Public for tests. */
  noteLateness(milliseconds: number): void {
    if (milliseconds < STALL_MS) return;
    this.#counters.eventLoopStalls++;
    this.#counters.eventLoopStallMilliseconds += milliseconds;
  }

  /** One collection's pause, in ms, and whether it was a full (mark-compact) one. Public for tests. */
  noteGcPause(milliseconds: number, major = false): void {
    this.#counters.gcPauses++;
    this.#counters.gcPauseMilliseconds += milliseconds;
    if (major) this.#counters.gcMajorPauseMilliseconds += milliseconds;
    if (milliseconds >= STALL_MS) this.#counters.gcLongPauses++;
  }
}
