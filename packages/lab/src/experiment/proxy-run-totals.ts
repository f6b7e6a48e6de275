/**
 * What overload control did over a proxy's whole run (an E6 overload step: warm-up, window and
 * the drain after it), from the counters the proxy logs when it stops (`serve`'s "stopped" line,
 * every worker's own). The window's counters come from /metrics scrapes, and a proxy past its
 * capacity answers those late, so a step often has none (e6-overload lost every TCP step's with
 * control on); the stop line is written once the load has ended, so it is there whenever the
 * proxy stopped in its grace period.
 */
export interface ProxyRunTotals {
  /** From the proxy's "ready" to its "stopped", in seconds. */
  readonly seconds: number;
  /** Requests that reached the proxy core (admitted, or arriving while it was not limiting). */
  readonly requestsReceived: number;
  readonly overloadShed: number;
  readonly overloadRejected: number;
  readonly overloadDropped: number;
  /** New requests over TCP or TLS whose connection was held instead of dropping them (counted each time). */
  readonly overloadReadsHeld: number;
  /** Time the workers spent limiting new work, summed over workers, in seconds. */
  readonly overloadSeconds: number;
  readonly overloadEntered: number;
}

const SUMMED = ['requestsReceived', 'overloadShed', 'overloadRejected', 'overloadDropped', 'overloadReadsHeld', 'overloadMilliseconds', 'overloadEntered'] as const;

/** The totals from a proxy's log (JSON lines), or undefined when it has no "ready" and "stopped" line. */
export function proxyRunTotals(log: string): ProxyRunTotals | undefined {
  let readyAt: number | undefined;
  let stopped: { time?: unknown; workers?: unknown } | undefined;
  for (const line of log.split('\n')) {
    if (!line.startsWith('{')) continue;
    let entry: { msg?: unknown; time?: unknown; workers?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    if (entry.msg === 'ready' && typeof entry.time === 'number') readyAt = entry.time;
    else if (entry.msg === 'stopped') stopped = entry;
  }
  if (readyAt === undefined || stopped === undefined || typeof stopped.time !== 'number' || !Array.isArray(stopped.workers)) return undefined;
  const sums: Record<(typeof SUMMED)[number], number> = { requestsReceived: 0, overloadShed: 0, overloadRejected: 0, overloadDropped: 0, overloadReadsHeld: 0, overloadMilliseconds: 0, overloadEntered: 0 };
  for (const worker of stopped.workers as Array<{ core?: Record<string, unknown> }>) {
    for (const name of SUMMED) {
      const value = worker.core?.[name];
      if (typeof value === 'number' && Number.isFinite(value)) sums[name] += value;
    }
  }
  return {
    seconds: Math.round(stopped.time - readyAt) / 1000,
    requestsReceived: sums.requestsReceived,
    overloadShed: sums.overloadShed,
    overloadRejected: sums.overloadRejected,
    overloadDropped: sums.overloadDropped,
    overloadReadsHeld: sums.overloadReadsHeld,
    overloadSeconds: Math.round(sums.overloadMilliseconds) / 1000,
    overloadEntered: sums.overloadEntered,
  };
}
