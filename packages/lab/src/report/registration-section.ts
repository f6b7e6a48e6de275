/**
 * The report's section for registration experiments (E5 connection scale, E6 registration
 * test), written from the raw records beside the generic tables: what was held and what it
 * cost, response time against the connections held, the REGISTER ladder with its knee, and
 * goodput under overload, each beside study 004's figures. The prose says how the runs were
 * spread and scaled from the settings they recorded. Empty for other experiments.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchResult } from '@switchboard/bench';
import type { ExperimentRecord } from '../experiment/experiment-record.js';
import { withInterval, type Block } from './report-document.js';
import { medianInterval } from '../analysis/confidence-interval.js';
import { readResultsFile } from '../experiment/results-file.js';
import { recordInvalidReasons } from './report-data.js';
import { overloadRatio } from './registration-metrics.js';
import { goodputOfServable, withSourceServedBest, type WithServedBest } from './served-best.js';
import type { ProxyRunTotals } from '../experiment/proxy-run-totals.js';

type Measured = ExperimentRecord & { result: BenchResult };

const STUDY_CLIENTS = 30_000;
/** Study 004's sustainable REGISTER rates at 100% success, by mode. */
export const PUBLISHED_REGISTER_RATES: Readonly<Record<string, number>> = { 'per-transaction': 2900, 'persistent-open': 3300, persistent: 4100, udp: 5300 };
const PUBLISHED_KNEE = 1600;

const fmt = (value: number | undefined, digits = 0): string => (value === undefined || !Number.isFinite(value) ? '–' : value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const kb = (bytes: number | undefined): string => (bytes === undefined ? '–' : `${fmt(bytes / 1024, 1)} KB`);
/** Kernel memory is a difference of machine-wide slab counts: other work can shrink them meanwhile. */
const kernelKb = (bytes: number | undefined): string => (bytes !== undefined && bytes < 0 ? 'below noise (slabs shrank meanwhile)' : kb(bytes));

function configuration(record: ExperimentRecord): string {
  const { point } = record;
  const extra = Object.entries(point.extra ?? {}).map(([key, value]) => `${key} ${value}`);
  const mode = record.result?.registration?.mode;
  return [point.model, point.model === 'event-loop' ? '' : `${point.workers} workers`, point.transport, mode !== undefined && point.transport !== 'udp' ? mode : '', ...extra].filter(Boolean).join(', ');
}


/** The settings of the point a capacity came from that differ from this record's (e.g. `overload off`). */
function capacitySource(record: ExperimentRecord): string {
  const own = new Set(pointKeyParts(record.pointKey));
  return pointKeyParts(record.capacity?.of ?? '').filter((part) => !own.has(part)).map((part) => part.replace('=', ' ')).join(', ');
}
const pointKeyParts = (key: string): string[] => key.split(';').filter(Boolean);

/** The lowest rate whose p99 is more than twice the p99 at the lowest rate measured (study 004: "gaps grow sharply"). */
export function ladderKnee(steps: ReadonlyArray<{ rate: number; p99Ms?: number; outcome: string }>): number | undefined {
  const measured = steps.filter((step) => step.p99Ms !== undefined && step.outcome !== 'skipped' && step.outcome !== 'invalid').sort((a, b) => a.rate - b.rate);
  const base = measured[0]?.p99Ms;
  if (base === undefined) return undefined;
  return measured.find((step) => (step.p99Ms as number) > 2 * Math.max(base, 0.5))?.rate;
}

function scaleBlocks(records: readonly ExperimentRecord[], fileLimit: number): Block[] {
  const measured = records.filter((record): record is Measured => record.result?.registration?.workload === 'scale');
  const notRun = records.filter((record) => record.result === undefined && (record.invalid ?? []).some((reason) => reason.startsWith('machine:')));
  const errors = records.filter((record) => record.error !== undefined);
  if (measured.length === 0 && notRun.length === 0) return [];
  const blocks: Block[] = [{ kind: 'heading', level: 2, text: 'Connection scale beside study 004' }];
  const spread = [...new Set(measured.map((record) => record.result.registration?.spreadNote ?? ''))].filter(Boolean);
  const probeRates = [...new Set(measured.flatMap((record) => record.result.registration?.probes?.map((probe) => probe.rate) ?? []))].sort((a, b) => a - b);
  blocks.push({
    kind: 'text',
    text: `Study 004 held **420,000–520,000** TCP connections on one server (32-bit kernel), **2.3 KB of kernel memory** each (300,000 ≈ 690 MB), with REGISTER response time unchanged by the number held; its target is 300,000 subscribers, 83 REGISTER/s and 167–833 requests/s. Here each point's generator opened its connections, REGISTERed on each and held them, then probed REGISTER response time over the held connections at ${probeRates.map((rate) => `${rate}`).join(', ') || '–'} REGISTER/s. Spread: ${spread.join('; ') || '–'}. The runs assumed ${fmt(fileLimit)} open files per process (workload.file-limit; the lab machines' hard limit is 20,000), so a model whose connections all live in one process holds fewer than that: the study's 420,000 cannot be reached here with one process; points asking for more than a model can hold were not run (listed below). Kernel memory per socket is the growth of the socket slab caches (TCP, sock_inode_cache, filp, dentry, epoll) and of the TCP buffer pages, divided by both ends of each loopback connection.`,
  });
  blocks.push({
    kind: 'table',
    header: ['configuration', 'asked', 'held', 'held after probes', 'proxy RSS / conn', 'proxy PSS / conn', 'kernel / socket (published 2.3 KB)', 'open /s (proxy µs each)', 'close /s (proxy µs each)', ...probeRates.map((rate) => `p50 / p99 ms at ${rate}/s`)],
    rows: measured.map((record) => {
      const figures = record.result.registration!;
      return [
        configuration(record),
        fmt(record.point.clients),
        fmt(figures.held),
        `${fmt(figures.heldAtEnd)}${(figures.reconnected ?? 0) > 0 ? ` (${fmt(figures.reconnected)} lost and reopened)` : ''}`,
        kb(figures.perConnection?.proxyRssBytes),
        kb(figures.perConnection?.proxyPssBytes),
        kernelKb(figures.perConnection?.kernelBytesPerSocket),
        `${fmt(figures.open?.perSecond)} (${fmt(figures.open?.proxyCpuMicrosPerConnection)})`,
        `${fmt(figures.close?.perSecond)} (${fmt(figures.close?.proxyCpuMicrosPerConnection)})`,
        ...probeRates.map((rate) => {
          const probe = figures.probes?.find((candidate) => candidate.rate === rate);
          return probe === undefined ? '–' : `${fmt(probe.latency.p50, 2)} / ${fmt(probe.latency.p99, 2)}${probe.completed < probe.attempted ? ` (${probe.attempted - probe.completed} failed)` : ''}`;
        }),
      ];
    }),
  });
  // Response time against N: each configuration's p99 at each N, as a multiple of its p99 at the smallest N.
  const groups = new Map<string, Measured[]>();
  for (const record of measured) groups.set(configuration(record), [...(groups.get(configuration(record)) ?? []), record]);
  const rows: string[][] = [];
  for (const [name, group] of groups) {
    const sorted = [...group].sort((a, b) => (a.point.clients ?? 0) - (b.point.clients ?? 0));
    const base = sorted[0]?.result.registration?.probes;
    for (const record of sorted.slice(1)) {
      const cells = probeRates.map((rate) => {
        const p99 = record.result.registration?.probes?.find((probe) => probe.rate === rate)?.latency.p99;
        const reference = base?.find((probe) => probe.rate === rate)?.latency.p99;
        return p99 === undefined || reference === undefined || reference <= 0 ? '–' : `${fmt(p99 / reference, 2)}x`;
      });
      rows.push([name, `${fmt(record.point.clients)} vs ${fmt(sorted[0]?.point.clients)}`, ...cells]);
    }
  }
  if (rows.length > 0) {
    blocks.push({ kind: 'text', text: 'REGISTER p99 with N held as a multiple of its p99 with the fewest held (study 004: no change; our target: at most 1.2x).' }, { kind: 'table', header: ['configuration', 'N', ...probeRates.map((rate) => `${rate}/s`)], rows });
  }
  if (notRun.length > 0) blocks.push({ kind: 'text', text: 'Not run on this machine:' }, { kind: 'list', items: notRun.map((record) => `${configuration(record)}, ${fmt(record.point.clients)} connections: ${(record.invalid ?? []).join('; ').replace(/^machine: /, '')}`) });
  if (errors.length > 0) blocks.push({ kind: 'text', text: 'Failed:' }, { kind: 'list', items: errors.map((record) => `${configuration(record)}, ${fmt(record.point.clients)}: ${record.error?.message.slice(0, 300)}`) });
  return blocks;
}

function registrationBlocks(records: readonly ExperimentRecord[]): Block[] {
  const measured = withSourceServedBest(records).filter((record): record is WithServedBest<Measured> => record.result?.registration?.workload === 'registration');
  if (measured.length === 0) return [];
  const blocks: Block[] = [{ kind: 'heading', level: 2, text: 'Registration test beside study 004' }];
  const clients = [...new Set(measured.map((record) => record.result.registration?.clients ?? 0))];
  const spread = [...new Set(measured.map((record) => record.result.registration?.spreadNote ?? ''))].filter(Boolean);
  const scaled = clients.some((count) => count < STUDY_CLIENTS);
  const p99Bounds = [...new Set(measured.map((record) => record.peak?.search.p99Ms).filter((bound): bound is number => bound !== undefined))];
  blocks.push({
    kind: 'text',
    text: `Study 004 registered **30,000 clients**; sustainable rates at 100% success were **2,900** (connection per transaction), **3,300** (persistent TCP with open), **4,100** (persistent TCP) and **5,300** (UDP) REGISTER/s, response-time gaps grew sharply above **1,600/s**, and without overload control TCP overload dropped 83% of requests against 10–28% for UDP. Here: ${clients.map((count) => fmt(count)).join(', ')} clients${scaled ? ` (scaled down from the study's 30,000: each client's connection is a file in the proxy, and one proxy process may hold under 20,000 on this machine)` : ''}; ${spread.join('; ')}. Each rate of the ladder ran on a fresh proxy; a rate passes at 100% success (no REGISTER failed or timed out within bench.timeout) and ≥ 95% of the offered rate achieved${p99Bounds.length > 0 ? `, with REGISTER p99 within ${p99Bounds.map((bound) => fmt(bound)).join(' or ')} ms` : ''}. Response time is from the REGISTER's first byte (for a connection per transaction, from connect) to its 2xx.`,
  });
  blocks.push({
    kind: 'table',
    header: ['configuration', 'repeat', 'peak REGISTER/s (published)', 'p50 / p99 ms at the peak', 'proxy CPU % there', 'proxy RSS there', 'knee (p99 > 2x its lowest; published 1,600/s)'],
    rows: measured.map((record) => {
      const mode = record.result.registration?.mode ?? '';
      const steps = record.peak?.steps ?? [];
      const rss = record.result.proxy?.processes.reduce((sum, usage) => sum + usage.rssBytesMax, 0);
      const peak = record.capacity === undefined ? fmt(record.peak?.rate) : `no ladder: ${fmt(record.capacity.rate)} of ${capacitySource(record)}, figures at ${fmt(record.overload?.[0]?.factor)}x`;
      const invalid = (record.invalid?.length ?? 0) > 0 ? ` — invalid, left out of the verdicts: ${record.invalid?.join('; ')}` : '';
      // A seeded ladder starts near an earlier peak: its lowest step is no baseline for a knee.
      const seeded = record.peak !== undefined && steps.length > 0 && Math.min(...steps.map((step) => step.rate)) > record.peak.search.from;
      return [configuration(record), String(record.repeat), `${peak} (${fmt(PUBLISHED_REGISTER_RATES[mode])})${invalid}`, `${fmt(record.result.latencyMs.register?.p50, 2)} / ${fmt(record.result.latencyMs.register?.p99, 2)}`, fmt(record.result.proxy?.cpuPercentTotal, 1), rss === undefined ? '–' : `${fmt(rss / 1048576, 1)} MiB`, seeded ? '– (seeded ladder)' : fmt(ladderKnee(steps))];
    }),
  });
  const ladderRows = measured.flatMap((record) => (record.peak?.steps ?? []).map((step) => [configuration(record), fmt(step.rate), step.outcome, step.successRatio === undefined ? '–' : `${fmt(step.successRatio * 100, 2)}%`, fmt(step.achievedCallsPerSecond), fmt(step.p99Ms, 2), fmt(step.proxyCpuPercent, 1), step.proxyRssBytes === undefined ? '–' : fmt(step.proxyRssBytes / 1048576, 1)]));
  if (ladderRows.length > 0) blocks.push({ kind: 'heading', level: 3, text: 'Response time, CPU and memory against the offered rate' }, { kind: 'table', header: ['configuration', 'offered /s', 'outcome', 'success', 'achieved /s', 'p99 ms', 'proxy CPU %', 'proxy RSS MiB'], rows: ladderRows });
  const overloadRows = measured.flatMap((record) => (record.overload ?? []).map((step) => [configuration(record), `${step.factor}x`, fmt(step.offeredRate), fmt(step.goodputPerSecond), fmt(step.goodputRatio, 3), fmt(goodputOfServable(step.factor)(record), 3), `${fmt(step.successRatio * 100, 1)}%`, fmt(step.registerP99Ms, 1), controlOverRun(step.proxyRun), step.error ?? [...Object.entries(step.failures).map(([kind, count]) => `${kind} ${count}`), ...(step.invalid ?? []).map((reason) => `invalid: ${reason}`)].join(', ')]));
  if (overloadRows.length > 0) {
    blocks.push(
      { kind: 'heading', level: 3, text: 'Goodput under overload' },
      { kind: 'text', text: 'Offered load at multiples of each configuration\'s peak (or, for a configuration that ran no ladder, of the peak its capacity source found in the same repeat: workload.overload.capacity-of), on a fresh proxy each; a step marked invalid did not measure the proxy (its generator could not offer the load). Goodput counts REGISTERs whose 2xx arrived within bench.timeout (the RFC\'s Timer F when 32 s). Target (issue 17): goodput ≥ 0.9 of capacity at 2x, 4x and 8x with overload control on. Published (study 004): without control TCP dropped 83% of requests, UDP 10–28%.' },
      { kind: 'text', text: 'Goodput is divided twice. By capacity, the ladder\'s peak: on a small CPU budget its latency bound can hold it far below what the proxy serves, and then a ratio above 1 says the load offered was not that multiple of what the proxy could do. And by what could be served: the lesser of the step\'s offered rate and the most its capacity source served in the same repeat (its passing ladder steps\' achieved rates and its valid overload steps\' goodput; for a run with control on, its control-off twin\'s). What control loses against the proxy\'s best shows there, whatever the ladder found (served-best.ts).' },
      { kind: 'text', text: 'The proxy over the step (its whole run: warm-up, window and drain, from the counters it logged when it stopped; "–" where it did not, or ran before they were kept): requests that reached its core per second, and new requests per second answered 503, dropped, and held (over TCP, a connection not read for the Retry-After past the 503 budget; counted each time).' },
      { kind: 'table', header: ['configuration', 'factor', 'offered /s', 'goodput /s', 'goodput / capacity', 'goodput / servable', 'success', 'p99 ms', 'proxy /s: core · 503 · dropped · held', 'failures'], rows: overloadRows },
      ...goodputSummary(measured),
    );
  }
  return blocks;
}

/**
 * Goodput / capacity, and goodput / what could be served (served-best.ts), per configuration and
 * factor over the repeats: the median of the valid runs' valid steps (as the verdicts judge runs
 * and steps) with its 95% interval (the curves the issue's target and study 004 speak of).
 */
function goodputSummary(measured: ReadonlyArray<WithServedBest<Measured>>): Block[] {
  const valid = measured.filter((record) => recordInvalidReasons(record).length === 0 && record.error === undefined);
  const factors = [...new Set(valid.flatMap((record) => (record.overload ?? []).map((step) => step.factor)))].sort((a, b) => a - b);
  const configurations = [...new Set(valid.filter((record) => (record.overload?.length ?? 0) > 0).map(configuration))];
  if (factors.length === 0 || configurations.length === 0) return [];
  const table = (ratioAt: (factor: number) => (record: WithServedBest<Measured>) => number | undefined): Block => {
    const cell = (name: string, factor: number): string => {
      const ratios = valid.filter((record) => configuration(record) === name).map(ratioAt(factor)).filter((ratio): ratio is number => ratio !== undefined);
      return ratios.length === 0 ? '–' : withInterval(medianInterval(ratios), 2);
    };
    return { kind: 'table', header: ['configuration', ...factors.map((factor) => `${factor}x`)], rows: configurations.map((name) => [name, ...factors.map((factor) => cell(name, factor))]) };
  };
  return [
    { kind: 'text', text: 'Goodput / capacity over the repeats: median of the valid steps [95% interval], per configuration and offered multiple of capacity.' },
    table(overloadRatio),
    { kind: 'text', text: 'Goodput / what could be served (the lesser of the offered rate and the most the capacity source, for control on its control-off twin, served in the same repeat), over the repeats: median of the valid steps [95% interval].' },
    table(goodputOfServable),
  ];
}

/** The registration section of `resultsDir`'s report (no blocks for other experiments). */
export async function registrationSection(resultsDir: string): Promise<Block[]> {
  const records = await readResultsFile(join(resultsDir, 'results.jsonl'));
  let fileLimit = 20_000;
  try {
    const config = JSON.parse(await readFile(join(resultsDir, 'experiment.json'), 'utf8')) as { workload?: { fileLimit?: number } };
    fileLimit = config.workload?.fileLimit ?? fileLimit;
  } catch {
    // an older results directory: the lab machines' limit
  }
  return [...scaleBlocks(records, fileLimit), ...registrationBlocks(records)];
}

/** What overload control did over a step's proxy run, per second (`–` without its totals). */
function controlOverRun(run: ProxyRunTotals | undefined): string {
  if (run === undefined || !(run.seconds > 0)) return '–';
  return [run.requestsReceived, run.overloadRejected, run.overloadDropped, run.overloadReadsHeld].map((count) => fmt(count / run.seconds)).join(' · ');
}

