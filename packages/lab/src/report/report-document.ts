/**
 * The report as a list of blocks (headings, text, tables, charts, quotes of the published
 * result), written out as Markdown and as self-contained HTML, so both say the same thing.
 * Text is a small Markdown subset: paragraphs and **bold**.
 */
import { describeCpus } from '@switchboard/sip/machine-facts';
import { isWide, type Interval } from '../analysis/confidence-interval.js';
import { describeBudget } from '../experiment/cpu-budget.js';
import { defaultFloor } from '../experiment/peak-ladder.js';
import { T1_MS } from '../experiment/peak-within-bound.js';
import { describeCodeVersion, type CodeVersion } from '../experiment/code-version.js';
import type { Chart } from './report-charts.js';
import type { PointSummary, Ratio, ReportData } from './report-data.js';

export type Block =
  | { readonly kind: 'heading'; readonly level: 1 | 2 | 3; readonly text: string }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'list'; readonly items: readonly string[] }
  | { readonly kind: 'quote'; readonly title: string; readonly text: string }
  | { readonly kind: 'table'; readonly header: readonly string[]; readonly rows: ReadonlyArray<readonly string[]> }
  | { readonly kind: 'chart'; readonly chart: Chart };

const number = (value: number | undefined, digits = 0): string => (value === undefined || !Number.isFinite(value) ? '–' : value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const percent = (value: number | undefined, digits = 1): string => (value === undefined ? '–' : `${(value * 100).toFixed(digits)}%`);

/** A median with its 95% interval: `1,234 [1,200–1,260]`, marked ⚠ when wider than ±5%; `(1 run)` without one. */
export function withInterval(interval: Interval | undefined, digits = 0): string {
  if (interval === undefined) return '–';
  if (interval.low === undefined || interval.high === undefined) return `${number(interval.estimate, digits)} (${interval.n} run${interval.n === 1 ? '' : 's'}, no interval)`;
  return `${number(interval.estimate, digits)} [${number(interval.low, digits)}–${number(interval.high, digits)}]${isWide(interval) ? ' ⚠' : ''}`;
}

function ratioTable(ratios: readonly Ratio[], loadTitle: string, what: string): Block {
  return {
    kind: 'table',
    header: ['configuration', loadTitle, `${what} [95% interval]`, 'numerator ops/s', 'denominator ops/s'],
    rows: ratios.map((ratio) => [ratio.configuration, String(ratio.load), withInterval(ratio.interval, 3), number(ratio.numerator), number(ratio.denominator)]),
  };
}

/** A spread of the speed probes above which the report warns (a shared host's speed drifts by hours). */
const SPEED_SPREAD_WARNING = 0.1;

/** Percent of a core of other load on the proxy's CPUs above which the report warns. */
const FOREIGN_LOAD_WARNING = 5;

const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : word.endsWith('s') ? 'es' : 's'}`;

/** The setup in sentences, each written from what the records say was done. */
export function setupSentences(data: ReportData): string[] {
  const { setup, machine, generator } = data;
  const items: string[] = [];
  const cores = machine.cores;
  if (setup.budgets.length === 0) items.push(`CPU budget: none recorded: the proxy, its Redis and the generator shared the ${plural(cores, 'core')} allowed (${machine.cpusAllowed}).`);
  for (const budget of setup.budgets) items.push(`CPU budget: ${describeBudget(budget)}.`);
  if (setup.budgets.length > 0 && setup.runsWithoutBudget > 0) items.push(`${plural(setup.runsWithoutBudget, 'run')} recorded no budget.`);
  const windows = setup.windowSeconds.min === setup.windowSeconds.max ? `${setup.windowSeconds.min} s` : `${setup.windowSeconds.min}–${setup.windowSeconds.max} s`;
  const lengthened = setup.windowsLengthened > 0 ? `; ${plural(setup.windowsLengthened, 'window')} lengthened so that connection lifetimes churned within them` : '';
  const limit = setup.windowLimitSeconds === undefined ? '' : ` (limit ${setup.windowLimitSeconds} s)`;
  items.push(`Generator: ${plural(generator.procs, 'process')}; measured windows of ${windows}${lengthened}${limit}, after ${generator.warmupSeconds} s of warm-up; ${generator.timeoutMs / 1000} s transaction timeout.`);
  if (setup.peak !== undefined) {
    const p = setup.peak;
    items.push(`Throughput is each point's peak: an open-loop ladder of offered rates from ${setup.peakStarts === undefined ? p.from : setup.peakStarts.map((start) => `${start.from}`).join(' or ')} calls/s${setup.peakStarts === undefined ? '' : ` (${setup.peakStarts.map((start) => `${start.from} in ${plural(start.runs, 'run')}`).join(', ')}: the lowest rate was lowered between sittings for points that passed none)`} up by ×${p.factor} to ${p.to} (where the lowest failed, down by ×${p.factor} to ${p.floor ?? defaultFloor(p)}), then ${plural(p.refine, 'bisection')}, ${p.arrivals} arrivals, a fresh proxy per step; the peak is the highest offered rate whose calls succeeded at ≥ ${(p.success * 100).toFixed(1)}% with an achieved rate ≥ ${(p.achieved * 100).toFixed(0)}% of the offered one${p.p99Ms === undefined ? ' (no bound on latency: a peak may carry set-up times of seconds)' : ` and a 99th-percentile response time (call set-up; REGISTER in registration runs) ≤ ${p.p99Ms} ms`}. Latency and CPU are those of the run at the peak.`);
  } else if (data.loadKind === 'clients') {
    items.push('Load: closed loop, each caller calling again as soon as its call ends (no think time). Success is near 100% by construction and the figures are throughput at that concurrency, not a searched peak.');
  } else {
    items.push('Load: open loop at the offered rates shown (not a peak search).');
  }
  const repeats = Math.max(...data.points.map((point) => point.repeats));
  items.push(`Repeats: ${setup.repeatsConfigured} per point; ${plural(setup.runs, 'run')} measured, ${setup.invalidRuns} of them invalid (left out). Figures are medians of the valid runs (up to ${repeats} per point) with a 95% interval [low–high] (spanning a percentile bootstrap of the median and Student's t on the logarithms; for ratios, Welch's t on the logarithms); ⚠ marks an interval wider than ±5%.`);
  if (setup.completeness !== undefined && setup.completeness.finished < setup.completeness.expected) items.push(`⚠ Incomplete: ${setup.completeness.finished} of the ${setup.completeness.expected} runs the matrix and repeats ask for have finished.`);
  const { versions, unknown } = setup.code;
  if (versions.length > 0) items.push(`Code measured: ${versions.length === 1 ? `commit ${describeCodeVersion(versions[0] as CodeVersion)}` : `${versions.length} versions, ${versions.map(describeCodeVersion).join(', ')} ⚠`}${unknown > 0 ? `; ${plural(unknown, 'run')} recorded none` : ''}.`);
  if (setup.speed !== undefined) {
    const { min, max, spread, runs } = setup.speed;
    const warn = spread > SPEED_SPREAD_WARNING ? ` ⚠ The machine's speed moved by more than ${(SPEED_SPREAD_WARNING * 100).toFixed(0)}% while the set was measured: compare figures taken at different times with care; ratios of runs measured side by side hold better.` : '';
    items.push(`Machine speed: a fixed CPU workload on the proxy's CPUs, timed before each of ${plural(runs, 'run')}, took ${number(min, 1)}–${number(max, 1)} ms (the slowest ${(spread * 100).toFixed(0)}% above the fastest).${warn}`);
  }
  if (setup.foreignLoad !== undefined) {
    const f = setup.foreignLoad;
    const warn = f.maxPercent > FOREIGN_LOAD_WARNING ? ` ⚠ Above ${FOREIGN_LOAD_WARNING}% of a core in some runs: the proxy did not have its CPUs to itself there.` : '';
    items.push(`Other load on the proxy's CPUs (${f.proxyCpus}) during the measured windows, from the kernel's CPU accounting: beyond the proxy's processes and its Redis they were busy a median ${number(f.medianPercent, 1)}% of a core, at most ${number(f.maxPercent, 1)}%, over ${plural(f.runs, 'run')} (other processes, or kernel work no process is charged for, such as softirqs); the host stole at most ${number(f.maxStealPercent, 1)}% of any CPU.${warn}`);
  }
  for (const [from, count] of Object.entries(setup.reused ?? {})) items.push(`${plural(count, 'run')} taken from ${from.toUpperCase()}'s result set: the same points, repeats and settings, measured once for both.`);
  return items;
}

const VERDICT_RULES = (tolerance: number): string =>
  `**How a published figure is judged.** A ratio is **reproduced** when our whole 95% interval lies on the published side of 1 and inside the band of the published value (or range) divided and multiplied by ${tolerance} (a factor on the log scale); **direction only** when it lies on that side but not inside the band; **not reproduced** when it lies on the other side of 1; **inconclusive** when it spans 1 or there are fewer than two valid runs. A single magnitude is reproduced inside the band and not reproduced wholly outside it. Targets are our own goals, not a study's figures: **target met** or **target missed** when the interval lies wholly on one side. Only valid points with ≥ 99.9% call success are compared.`;

export function reportBlocks(data: ReportData, charts: readonly Chart[]): Block[] {
  const { experiment } = data;
  const chart = (name: string): Block[] => charts.filter((candidate) => candidate.name === name).map((found) => ({ kind: 'chart', chart: found }));
  const loadTitle = data.loadKind === 'clients' ? 'clients' : 'calls/s offered';
  const blocks: Block[] = [
    { kind: 'heading', level: 1, text: `${experiment.id.toUpperCase()}: ${experiment.title}` },
    { kind: 'text', text: `Reproduces study ${experiment.study || '(none given)'}. ${data.points.length} points from ${data.records} records.` },
    {
      kind: 'list',
      items: [
        `Machine: ${data.machine.cpu}, ${describeCpus(data.machine)}, ${data.machine.memoryGiB} GiB, ${data.machine.platform}`,
        `Node ${data.machine.node}`,
        `Run: ${data.machine.date}`,
        ...setupSentences(data),
      ],
    },
  ];
  if (data.quick) blocks.push({ kind: 'text', text: '**Quick run**: a smoke-sized experiment (`--quick`); its figures show that the pipeline works, not how the architectures compare.' });
  if (data.caveats.length > 0) blocks.push({ kind: 'heading', level: 2, text: 'Caveats' }, { kind: 'list', items: data.caveats });

  blocks.push({ kind: 'heading', level: 2, text: `Throughput vs ${loadTitle}` });
  if (experiment.published.trim() !== '') blocks.push({ kind: 'quote', title: `Published (study ${experiment.study})`, text: experiment.published.trim() });
  blocks.push(...chart('throughput'));
  const loads = [...new Set(data.points.map((point) => point.load))].sort((a, b) => a - b);
  const configurations = [...new Set(data.points.map((point) => point.configuration))];
  const cell = (point: PointSummary | undefined): string => (point === undefined ? '–' : `${withInterval(point.intervals.operationsPerSecond)}${point.valid ? '' : ' ✗ invalid'}${point.meetsSuccess ? '' : ' (< 99.9%)'}${point.overloadStep === undefined ? '' : ` (no ladder: its ${point.overloadStep}x overload step)`}`);
  blocks.push(
    { kind: 'text', text: 'Operations/s: median of the valid runs [95% interval]. ✗ marks a point with no valid run (figures from its invalid runs, never compared), ⚠ an interval wider than ±5%.' },
    {
      kind: 'table',
      header: ['configuration', ...loads.map((load) => `${load} ${data.loadKind === 'clients' ? 'clients' : 'calls/s'}`)],
      rows: configurations.map((configuration) => [configuration, ...loads.map((load) => cell(data.points.find((point) => point.configuration === configuration && point.load === load)))]),
    },
  );
  if (data.setup.peak !== undefined) {
    // A ladder that allowed a p99 beyond one T1: the bracket at one T1 beside its peak (peak-within-bound.ts).
    const atT1 = data.points.some((point) => point.peakAtT1 !== undefined);
    const bracket = (point: PointSummary): string => (point.peakAtT1 === undefined ? '–' : `${point.peakAtT1.atLeast === undefined ? 'none passed' : `≥ ${number(point.peakAtT1.atLeast, 0)}`}${point.peakAtT1.below === undefined ? '' : `, < ${number(point.peakAtT1.below, 0)}`}`);
    blocks.push(
      { kind: 'heading', level: 3, text: 'Peaks' },
      {
        kind: 'table',
        header: ['configuration', loadTitle, 'peak offered calls/s', ...(atT1 ? [`with p99 ≤ ${T1_MS} ms (one T1)`] : []), 'ops/s at the peak', 'ops per proxy CPU-s there', 'call setup p50 / p99 ms there', 'valid runs'],
        rows: data.points.map((point) => [point.configuration, String(point.load), withInterval(point.intervals.peakCallsPerSecond), ...(atT1 ? [bracket(point)] : []), withInterval(point.intervals.operationsPerSecond), withInterval(point.intervals.operationsPerProxyCpuSecond), `${number(point.callSetupMs?.p50, 1)} / ${number(point.callSetupMs?.p99, 1)}`, `${point.validRepeats} of ${point.runs}`]),
      },
    );
    if (atT1) {
      blocks.push({
        kind: 'text',
        text: `The ladder's latency bound (p99 ≤ ${number(data.setup.peak.p99Ms, 0)} ms) lets a saturated proxy keep a queue standing in its socket buffers (TCP's, or the UDP socket's receive buffer, 4 MiB by default), with call set-up times of hundreds of milliseconds, where a UAC over UDP starts retransmitting after one T1 (${T1_MS} ms). "With p99 ≤ ${T1_MS} ms" holds every transport to that: the highest rate of the ladder's steps that passed with a p99 within one T1, and the lowest above it that did not, medians over the runs. It is read from the steps the ladder made (they bisect near its own bound), so it is a range as coarse as those steps, not a peak searched for.`,
      });
    }
  }

  if (data.published.length > 0) {
    const kindWord = { published: 'published', target: 'our target', observation: 'ours only' } as const;
    blocks.push(
      { kind: 'heading', level: 2, text: 'Published vs ours' },
      ...chart('published'),
      {
        kind: 'table',
        header: ['figure', 'kind', 'value', `band (×/÷ ${data.setup.tolerance})`, 'ours [95% interval]', 'verdict'],
        rows: data.published.map((row) => [
          row.label,
          kindWord[row.kind],
          row.published === undefined ? '–' : row.range === undefined ? number(row.published, 3) : `${number(row.range[0], 3)}–${number(row.range[1], 3)}`,
          row.band === undefined ? '–' : `${number(row.band[0], 3)}–${number(row.band[1], 3)}`,
          `${withInterval(row.ours, 3)}${row.matched.numerator > 1 || (row.matched.denominator ?? 0) > 1 ? ` (best of ${row.matched.numerator}${row.matched.denominator === undefined ? '' : ` / ${row.matched.denominator}`} matching points)` : ''}`,
          row.verdict === 'no valid data' ? `no valid data (${row.matched.numerator}${row.matched.denominator === undefined ? '' : ` / ${row.matched.denominator}`} comparable point(s) matched)` : row.verdict,
        ]),
      },
      { kind: 'text', text: VERDICT_RULES(data.setup.tolerance) },
    );
  }
  if (data.tcpUdp.length > 0) {
    blocks.push({ kind: 'heading', level: 2, text: 'TCP / UDP' }, { kind: 'text', text: 'Operations/s over TCP divided by operations/s over UDP at the same model, workers, state, fd cache and load. Above 1, TCP is the faster transport.' }, ...chart('tcp-udp'), ratioTable(data.tcpUdp, loadTitle, 'TCP / UDP'));
  }
  if (data.fdCache.length > 0) blocks.push({ kind: 'heading', level: 2, text: 'fd cache' }, ...chart('fd-cache'), ratioTable(data.fdCache, loadTitle, 'with / without'));
  if (data.heapScan.length > 0) blocks.push({ kind: 'heading', level: 2, text: 'Idle connections: heap vs scan' }, ...chart('heap-scan'), ratioTable(data.heapScan, loadTitle, 'heap / scan'));
  if (data.workerSweep.length > 0) {
    blocks.push(
      { kind: 'heading', level: 2, text: 'Worker count' },
      ...chart('workers'),
      { kind: 'table', header: ['configuration', 'best worker count', 'operations/s there'], rows: data.bestWorkers.map((row) => [row.configuration, String(row.workers), number(row.operationsPerSecond)]) },
    );
  }

  const detail = (point: PointSummary): string[] => [
    point.configuration,
    String(point.load),
    number(point.operationsPerSecond),
    number(point.callsPerSecond),
    percent(point.successRatio, 2),
    `${number(point.callSetupMs?.p50, 1)} / ${number(point.callSetupMs?.p90, 1)} / ${number(point.callSetupMs?.p99, 1)}`,
    `${number(point.byeMs?.p50, 1)} / ${number(point.byeMs?.p90, 1)} / ${number(point.byeMs?.p99, 1)}`,
  ];
  blocks.push(
    { kind: 'heading', level: 2, text: 'Latency' },
    { kind: 'text', text: 'Measured at the caller, in ms (p50 / p90 / p99), from HDR histograms merged over the generator processes.' },
    ...chart('latency'),
    { kind: 'table', header: ['configuration', loadTitle, 'ops/s', 'calls/s', 'success', 'call setup ms', 'BYE ms'], rows: data.points.map(detail) },
  );

  blocks.push(
    { kind: 'heading', level: 2, text: 'Cost: CPU, memory and the proxy\'s counters' },
    {
      kind: 'text',
      text: `Efficiency is first-class: operations per CPU-second of the proxy and the proxy's CPU milliseconds per call hold up where raw throughput depends on the budget. CPU is percent of one core summed over the processes (100% = one core; ${data.machine.cpusOnline === undefined ? '' : `this machine has ${data.machine.cpusOnline}; `}${data.setup.budgets.length === 0 ? 'no budget was recorded' : data.setup.budgets.map((budget) => `budget: ${describeBudget(budget)}`).join('; ')}). The generator's CPU is summed over its processes; Redis' is its one process. The fd requests, fd-cache hit rate and IPC share come from the proxy's own counters over the window (supervisor relays not counted twice); the IPC share is the milliseconds the workers spent in IPC code over the proxy's CPU milliseconds (a lower bound in the process-pool, whose supervisor does not time its own); store round trips (\`--transactions shared\`) and hand-offs to another worker are per completed call; loop stalls and GC are milliseconds per second of the window, summed over the proxy's processes and worker threads: how late their 50 ms timers fired when 50 ms or more late, and their garbage-collection pauses (– for runs made before the proxy counted them); both are wall-clock time${data.setup.budgets.some((budget) => budget.proxy.quotaCores !== undefined && budget.proxy.quotaCores < 1) ? ', so under a CPU quota below one core they include the time the proxy was throttled (a quota of half a core stops it for half of every period once its share is spent: stalls grow toward the window\'s length near the peak, and a pause that spans a throttled period counts it)' : ''}. RSS is the peak summed over the proxy's processes; it includes garbage not yet collected and, over UDP, every transaction of the last 32 s, which RFC 3261 keeps for retransmissions (Timers D, J and K).`,
    },
    ...chart('efficiency'),
    {
      kind: 'table',
      header: ['configuration', loadTitle, 'proxy CPU', 'ops per proxy CPU-s [95%]', 'proxy CPU ms per call [95%]', 'proxy RSS MB', 'Redis CPU', 'generator CPU (summed)', 'fd req. / 1000 ops', 'fd-cache hits', 'IPC share', 'store round trips / call', 'hand-offs / call', 'sweep visits', 'loop stalls ms/s', 'GC ms/s'],
      rows: data.points.map((point) => [
        point.configuration,
        String(point.load),
        point.proxyCpuPercent === undefined ? '–' : `${number(point.proxyCpuPercent)}%`,
        withInterval(point.intervals.operationsPerProxyCpuSecond),
        withInterval(point.intervals.proxyCpuMsPerCall, 3),
        point.proxyRssMaxBytes === undefined ? '–' : number(point.proxyRssMaxBytes / 2 ** 20),
        point.redisCpuPercent === undefined ? '–' : `${number(point.redisCpuPercent)}%`,
        `${number(point.generatorCpuPercent)}%${point.generatorSaturated ? ' (out of budget)' : ''}`,
        number(point.fdRequestsPer1000Operations, 1),
        percent(point.fdCacheHitRate),
        percent(point.ipcShare),
        number(point.storeRoundTripsPerCall, 2),
        number(point.handOffsPerCall, 2),
        number(point.idleSweepVisitedPerSweep, 1),
        number(point.eventLoopStallMsPerSecond, 1),
        number(point.gcPauseMsPerSecond, 1),
      ]),
    },
  );
  return blocks;
}

function markdownInline(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function toMarkdown(blocks: readonly Block[]): string {
  const out: string[] = [];
  for (const block of blocks) {
    switch (block.kind) {
      case 'heading':
        out.push(`${'#'.repeat(block.level)} ${block.text}`);
        break;
      case 'text':
        out.push(block.text);
        break;
      case 'list':
        out.push(block.items.map((item) => `- ${item}`).join('\n'));
        break;
      case 'quote':
        out.push(`> **${block.title}.** ${block.text.split('\n').join('\n> ')}`);
        break;
      case 'table':
        out.push([`| ${block.header.map(markdownInline).join(' | ')} |`, `| ${block.header.map((_, index) => (index === 0 ? '---' : '---:')).join(' | ')} |`, ...block.rows.map((row) => `| ${row.map(markdownInline).join(' | ')} |`)].join('\n'));
        break;
      case 'chart':
        out.push(`![${block.chart.title}](charts/${block.chart.name}.svg)`);
        break;
    }
  }
  return `${out.join('\n\n')}\n`;
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function htmlInline(text: string): string {
  return escapeHtml(text)
    .replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>')
    .replace(/`([^`]+)`/g, '<code>$1</code>');
}

const STYLE = `body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ddd}table{border-collapse:collapse;margin:1em 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 8px}td:not(:first-child),th:not(:first-child){text-align:right}th{background:#f4f4f4}
blockquote{background:#f7f9fc;border-left:4px solid #4a78c2;margin:1em 0;padding:.5em 1em}figure{margin:1em 0}figcaption{font-weight:600;margin-bottom:.3em}
code{background:#f4f4f4;padding:0 3px}`;

export function toHtml(blocks: readonly Block[], title: string, data: unknown): string {
  const body: string[] = [];
  for (const block of blocks) {
    switch (block.kind) {
      case 'heading':
        body.push(`<h${block.level}>${escapeHtml(block.text)}</h${block.level}>`);
        break;
      case 'text':
        body.push(...block.text.split(/\n\s*\n/).map((paragraph) => `<p>${htmlInline(paragraph)}</p>`));
        break;
      case 'list':
        body.push(`<ul>${block.items.map((item) => `<li>${htmlInline(item)}</li>`).join('')}</ul>`);
        break;
      case 'quote':
        body.push(`<blockquote><strong>${escapeHtml(block.title)}.</strong> ${block.text.split(/\n\s*\n/).map(htmlInline).join('</p><p>')}</blockquote>`);
        break;
      case 'table':
        body.push(`<table><thead><tr>${block.header.map((cell) => `<th>${escapeHtml(cell)}</th>`).join('')}</tr></thead><tbody>${block.rows.map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`).join('')}</tbody></table>`);
        break;
      case 'chart':
        body.push(`<figure><figcaption>${escapeHtml(block.chart.title)}</figcaption>${block.chart.svg}</figure>`);
        break;
    }
  }
  // The numbers for scripts and tests; `<` escaped so the JSON cannot end the script element.
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
${body.join('\n')}
<script type="application/json" id="report-data">${json}</script>
</body></html>
`;
}
