/**
 * The proxy's own counters over a window: its Prometheus text (`serve --metrics`) is read at the
 * start and at the end, and the difference of every `*_total` counter is kept, summed over the
 * workers. Samples of the process that runs a pool (`worker="supervisor"`, `worker="parent"`)
 * are left out: it counts again what it relays for the workers.
 */
const RELAYING_PROCESSES = new Set(['supervisor', 'parent']);

export function sumCounters(text: string): Map<string, number> {
  const sums = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.length === 0) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match === null) continue;
    const [, name, labels, value] = match as unknown as [string, string, string | undefined, string];
    if (!name.endsWith('_total')) continue;
    const worker = labels === undefined ? undefined : /worker="([^"]*)"/.exec(labels)?.[1];
    if (worker !== undefined && RELAYING_PROCESSES.has(worker)) continue;
    const number = Number(value);
    if (Number.isFinite(number)) sums.set(name, (sums.get(name) ?? 0) + number);
  }
  return sums;
}

export async function scrapeCounters(url: string): Promise<Map<string, number>> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return sumCounters(await response.text());
}

export function counterDeltas(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const deltas: Record<string, number> = {};
  for (const [name, value] of after) deltas[name] = Math.round((value - (before.get(name) ?? 0)) * 1000) / 1000;
  return deltas;
}
