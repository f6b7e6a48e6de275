/**
 * What one generator process counts: calls, operations, failures by kind and HDR latency
 * histograms per exchange. What counts is the calls started in the window (`measuring` when the
 * call started), all of whatever they do, even after the window ends: the generator waits for
 * them to end before its snapshot, so every call started in the window is completed or failed
 * and rates are those calls over the window. (Counting what happened inside the window instead
 * counted the warm-up's backlog: in one E7 run 2,185 calls completed in a window where 1,998
 * started, a rate 10% above the offered one.) A snapshot is plain data that crosses process IPC
 * and merges with the others'.
 */
import * as hdr from 'hdr-histogram-js';
import type { LatencyKind, LatencySummary } from './bench-result.js';

/** The longest a call can take: four exchanges to their timeouts (INVITE and BYE, each once more with credentials), its hold, and a second. */
export function windowCallsLimitMs(options: { readonly timeoutMs: number; readonly holdMs: number }): number {
  return 4 * options.timeoutMs + options.holdMs + 1000;
}

export const LATENCY_KINDS: readonly LatencyKind[] = ['register', 'invite-100', 'invite-180', 'invite-200', 'bye-200'];

function newHistogram(): hdr.Histogram {
  // Microseconds, from 1 µs to 10 minutes, 3 significant digits.
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
}

export interface LoadSnapshot {
  readonly callsAttempted: number;
  readonly callsCompleted: number;
  readonly callsFailed: number;
  readonly inviteOperations: number;
  readonly byeOperations: number;
  readonly registrationsAttempted: number;
  readonly registrationsCompleted: number;
  readonly registrationsFailed: number;
  readonly failures: Record<string, number>;
  /** HDR histograms, compressed base64, by kind. */
  readonly histograms: Partial<Record<LatencyKind, string>>;
}

export class LoadStats {
  measuring = false;
  callsAttempted = 0;
  callsCompleted = 0;
  callsFailed = 0;
  inviteOperations = 0;
  byeOperations = 0;
  registrationsAttempted = 0;
  registrationsCompleted = 0;
  registrationsFailed = 0;
  readonly failures = new Map<string, number>();
  #histograms = new Map<LatencyKind, hdr.Histogram>();

  /** Starts the window: every count so far (warm-up) is dropped. */
  startWindow(): void {
    this.callsAttempted = 0;
    this.callsCompleted = 0;
    this.callsFailed = 0;
    this.inviteOperations = 0;
    this.byeOperations = 0;
    this.failures.clear();
    for (const histogram of this.#histograms.values()) histogram.reset();
    this.measuring = true;
  }

  /** Records an exchange's latency; `counted`: its call started in the window (registrations always count). */
  latency(kind: LatencyKind, startedAt: number, counted = this.measuring): void {
    if (!counted && kind !== 'register') return;
    let histogram = this.#histograms.get(kind);
    if (histogram === undefined) {
      histogram = newHistogram();
      this.#histograms.set(kind, histogram);
    }
    histogram.recordValue(Math.max(1, Math.round((performance.now() - startedAt) * 1000)));
  }

  failure(kind: string, counted = this.measuring): void {
    if (!counted) return;
    this.failures.set(kind, (this.failures.get(kind) ?? 0) + 1);
  }

  snapshot(): LoadSnapshot {
    const histograms: Partial<Record<LatencyKind, string>> = {};
    for (const [kind, histogram] of this.#histograms) histograms[kind] = hdr.encodeIntoCompressedBase64(histogram);
    return {
      callsAttempted: this.callsAttempted,
      callsCompleted: this.callsCompleted,
      callsFailed: this.callsFailed,
      inviteOperations: this.inviteOperations,
      byeOperations: this.byeOperations,
      registrationsAttempted: this.registrationsAttempted,
      registrationsCompleted: this.registrationsCompleted,
      registrationsFailed: this.registrationsFailed,
      failures: Object.fromEntries(this.failures),
      histograms,
    };
  }
}

/** Sums snapshots of several processes: counts add, histograms merge. */
export function mergeSnapshots(snapshots: readonly LoadSnapshot[]): { totals: Omit<LoadSnapshot, 'histograms'>; latencyMs: Partial<Record<LatencyKind, LatencySummary>> } {
  const failures: Record<string, number> = {};
  const sum = (pick: (snapshot: LoadSnapshot) => number): number => snapshots.reduce((total, snapshot) => total + pick(snapshot), 0);
  for (const snapshot of snapshots) for (const [kind, count] of Object.entries(snapshot.failures)) failures[kind] = (failures[kind] ?? 0) + count;
  const latencyMs: Partial<Record<LatencyKind, LatencySummary>> = {};
  for (const kind of LATENCY_KINDS) {
    const parts = snapshots.map((snapshot) => snapshot.histograms[kind]).filter((part): part is string => part !== undefined);
    if (parts.length === 0) continue;
    const merged = newHistogram();
    for (const part of parts) {
      const decoded = hdr.decodeFromCompressedBase64(part);
      merged.add(decoded);
      decoded.destroy();
    }
    if (merged.totalCount > 0) latencyMs[kind] = summarize(merged);
    merged.destroy();
  }
  return {
    totals: {
      callsAttempted: sum((s) => s.callsAttempted),
      callsCompleted: sum((s) => s.callsCompleted),
      callsFailed: sum((s) => s.callsFailed),
      inviteOperations: sum((s) => s.inviteOperations),
      byeOperations: sum((s) => s.byeOperations),
      registrationsAttempted: sum((s) => s.registrationsAttempted),
      registrationsCompleted: sum((s) => s.registrationsCompleted),
      registrationsFailed: sum((s) => s.registrationsFailed),
      failures,
    },
    latencyMs,
  };
}

function summarize(histogram: hdr.Histogram): LatencySummary {
  const ms = (microseconds: number): number => Math.round(microseconds) / 1000;
  return {
    count: histogram.totalCount,
    min: ms(histogram.minNonZeroValue),
    mean: ms(histogram.mean),
    p50: ms(histogram.getValueAtPercentile(50)),
    p90: ms(histogram.getValueAtPercentile(90)),
    p99: ms(histogram.getValueAtPercentile(99)),
    p999: ms(histogram.getValueAtPercentile(99.9)),
    max: ms(histogram.maxValue),
  };
}
