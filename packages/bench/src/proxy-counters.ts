/**
 * The proxy's own counters over a window: its Prometheus text (`serve --metrics`) is read at the
 * start and at the end, and the difference of every `*_total` counter is kept, summed over the
 * processes. The process that runs a pool (`worker="supervisor"`, `worker="parent"`) counts again
 * some of what it relays for the workers (the fd requests, hand-offs and TLS/TCP relays it passes
 * on, which the workers count as they ask); those of its samples are left out. What it alone
 * counts is kept: the fd requests it carried out itself, connections it refused or handed over,
 * the io-dispatch I/O process's reads and writes, the thread-pool parent's overload answers.
 * The counters each process keeps of itself alone (its event loop's stalls, its collections) are
 * kept per process as well (`name{worker="1"}`, `name{worker="supervisor"}`), so a record says
 * which process stalled or collected.
 */
const RELAYING_PROCESSES = new Set(['supervisor', 'parent']);
const RELAYED_COUNTERS = new Set(['switchboard_fd_requests_total', 'switchboard_hand_offs_sent_total', 'switchboard_tls_relays_sent_total', 'switchboard_tcp_relays_sent_total']);
const OWN_PROCESS_COUNTERS = /^switchboard_(event_loop_|gc_)/;

export function sumCounters(text: string): Map<string, number> {
  const sums = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.length === 0) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match === null) continue;
    const [, name, labels, value] = match as unknown as [string, string, string | undefined, string];
    if (!name.endsWith('_total')) continue;
    const worker = labels === undefined ? undefined : /worker="([^"]*)"/.exec(labels)?.[1];
    const ownProcess = OWN_PROCESS_COUNTERS.test(name);
    if (worker !== undefined && RELAYING_PROCESSES.has(worker) && RELAYED_COUNTERS.has(name)) continue;
    const number = Number(value);
    if (!Number.isFinite(number)) continue;
    sums.set(name, (sums.get(name) ?? 0) + number);
    if (ownProcess && worker !== undefined) sums.set(`${name}{worker="${worker}"}`, number);
  }
  return sums;
}

/**
 * How long a scrape may take. A proxy past saturation answers /metrics late (its event loop holds
 * a backlog: the event-loop model at 2,000 closed-loop TCP clients took over 5 s at the window's
 * start), and a late scrape costs nothing but a later window.
 */
export const SCRAPE_TIMEOUT_MS = 20_000;

export async function scrapeCounters(url: string, timeoutMs = SCRAPE_TIMEOUT_MS): Promise<Map<string, number>> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return sumCounters(await response.text());
}

/**
 * A scrape that never fails a run: the counters, or the reason there are none (kept in the result
 * as `proxyCountersError`). A run's calls are measured by the generator; the proxy's counters only
 * explain them, so a proxy too busy to answer /metrics must not throw the run away.
 */
export async function scrapeCountersOrReason(url: string | undefined, timeoutMs = SCRAPE_TIMEOUT_MS): Promise<Map<string, number> | string | undefined> {
  if (url === undefined) return undefined;
  try {
    return await scrapeCounters(url, timeoutMs);
  } catch (error) {
    return `${url}: ${(error as Error).message}`;
  }
}

/** A scrape (scrapeCountersOrReason) and when its answer came: the proxy read its counters before then. */
export async function timedScrape(url: string | undefined): Promise<{ counters: Awaited<ReturnType<typeof scrapeCountersOrReason>>; answered: number }> {
  const counters = await scrapeCountersOrReason(url);
  return { counters, answered: performance.now() };
}

/** How far into a window the first counters reading may be answered and still stand for the whole window. */
export const COUNTERS_LATE_SHARE = 0.1;

/**
 * Why counters whose first reading was answered `lateMs` into a window of `windowMs` cannot
 * stand for it, or undefined when they can. A busy proxy answers /metrics late; an answer that
 * came after the window had begun may hold a reading from inside it (at worst after it: E6 once
 * had both readings answered together after the window, all deltas 0).
 */
export function lateCountersReason(lateMs: number, windowMs: number): string | undefined {
  if (!(lateMs > COUNTERS_LATE_SHARE * windowMs)) return undefined;
  return `the proxy answered the scrape before the window ${Math.round(lateMs)} ms into the ${Math.round(windowMs)} ms window (busy): its counters would miss part of it`;
}

/** The result fields of a before and an after scrape (scrapeCountersOrReason). */
export function countersOfWindow(before: Map<string, number> | string | undefined, after: Map<string, number> | string | undefined): { proxyCounters?: Record<string, number>; proxyCountersError?: string } {
  if (typeof before === 'string') return { proxyCountersError: before };
  if (typeof after === 'string') return { proxyCountersError: after };
  if (before === undefined || after === undefined) return {};
  return { proxyCounters: counterDeltas(before, after) };
}

/** The counters of several windows added up (a registration run's probes), or the first window's reason for having none. */
export function addedWindows(windows: ReadonlyArray<ReturnType<typeof countersOfWindow>>): ReturnType<typeof countersOfWindow> {
  const failed = windows.find((window) => window.proxyCountersError !== undefined);
  if (failed !== undefined) return { proxyCountersError: failed.proxyCountersError as string };
  if (windows.length === 0 || windows.some((window) => window.proxyCounters === undefined)) return {};
  const sums: Record<string, number> = {};
  for (const { proxyCounters } of windows) {
    for (const [name, value] of Object.entries(proxyCounters ?? {})) sums[name] = Math.round(((sums[name] ?? 0) + value) * 1000) / 1000;
  }
  return { proxyCounters: sums };
}

export function counterDeltas(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const deltas: Record<string, number> = {};
  for (const [name, value] of after) deltas[name] = Math.round((value - (before.get(name) ?? 0)) * 1000) / 1000;
  return deltas;
}
