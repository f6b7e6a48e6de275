/**
 * A point's peak under a tighter latency bound than its ladder's, read from the steps the ladder
 * made: the highest rate that passed with a p99 within the bound, and the lowest rate above it
 * that did not (it failed, or passed with a p99 beyond the bound). A ladder tuned to a loose bound
 * (E4's 2 s, for a proxy under a half-core quota) bisects near that bound, so the bracket at the
 * tighter one is as coarse as the steps that happen to lie there; it is a range, not a peak.
 *
 * Why: a saturated proxy can keep every call and let a queue stand in its socket buffers, TCP's
 * or the UDP socket's 4 MiB receive buffer (call set-up p50 of hundreds of ms at E4's event-loop
 * peaks over both), while a UAC over UDP retransmits after one T1 (500 ms). At a bound of one T1
 * both transports are held to the latency UDP's own timers allow.
 */
import type { LadderStep } from './peak-ladder.js';

/** RFC 3261's T1: a UDP request unanswered this long is retransmitted. */
export const T1_MS = 500;

export interface BoundedPeak {
  /** The highest rate that passed with its p99 within the bound (none when no step did). */
  readonly atLeast?: number;
  /** The lowest rate above it that failed or exceeded the bound (none when no step above it was made). */
  readonly below?: number;
}

export function peakWithinBound(steps: readonly LadderStep[], boundMs: number): BoundedPeak {
  const within = (step: LadderStep): boolean => step.outcome === 'pass' && step.p99Ms !== undefined && step.p99Ms <= boundMs;
  const passed = steps.filter(within).map((step) => step.rate);
  const atLeast = passed.length === 0 ? undefined : Math.max(...passed);
  const beyond = steps.filter((step) => (step.outcome === 'pass' || step.outcome === 'fail') && !within(step) && (atLeast === undefined || step.rate > atLeast)).map((step) => step.rate);
  const below = beyond.length === 0 ? undefined : Math.min(...beyond);
  return { ...(atLeast === undefined ? {} : { atLeast }), ...(below === undefined ? {} : { below }) };
}
