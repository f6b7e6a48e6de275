/**
 * The report as a list of blocks (headings, text, tables, charts, quotes of the published
 * result), written out as Markdown and as self-contained HTML, so both say the same thing.
 * Text is a small Markdown subset: paragraphs and **bold**.
 */
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

function ratioTable(ratios: readonly Ratio[], loadTitle: string, what: string): Block {
  return {
    kind: 'table',
    header: ['configuration', loadTitle, what, 'numerator ops/s', 'denominator ops/s'],
    rows: ratios.map((ratio) => [ratio.configuration, String(ratio.load), number(ratio.ratio, 2), number(ratio.numerator), number(ratio.denominator)]),
  };
}

export function reportBlocks(data: ReportData, charts: readonly Chart[]): Block[] {
  const { experiment } = data;
  const chart = (name: string): Block[] => charts.filter((candidate) => candidate.name === name).map((found) => ({ kind: 'chart', chart: found }));
  const loadTitle = data.loadKind === 'clients' ? 'clients' : 'calls/s offered';
  const blocks: Block[] = [
    { kind: 'heading', level: 1, text: `${experiment.id.toUpperCase()}: ${experiment.title}` },
    { kind: 'text', text: `Reproduces study ${experiment.study || '(none given)'}. ${data.points.length} points, ${Math.max(...data.points.map((point) => point.repeats))} repeat(s) each (medians shown), from ${data.records} records.` },
    {
      kind: 'list',
      items: [
        `Machine: ${data.machine.cpu}, ${data.machine.cores} cores, ${data.machine.memoryGiB} GiB, ${data.machine.platform}`,
        `Node ${data.machine.node}; CPUs allowed: ${data.machine.cpusAllowed}${experiment.pin === undefined ? ' (no pinning)' : `; pinned: proxy ${experiment.pin.proxy ?? 'any'}, generator ${experiment.pin.generator ?? 'any'}`}`,
        `Run: ${data.machine.date}`,
        `Generator: ${data.generator.procs} process(es), ${data.generator.durationSeconds} s windows after ${data.generator.warmupSeconds} s warm-up, ${data.generator.timeoutMs / 1000} s transaction timeout; it shares the machine with the proxy.`,
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
  blocks.push({
    kind: 'table',
    header: ['configuration', ...loads.map((load) => `${load} ${data.loadKind === 'clients' ? 'clients' : 'calls/s'}`)],
    rows: configurations.map((configuration) => [configuration, ...loads.map((load) => number(data.points.find((point) => point.configuration === configuration && point.load === load)?.operationsPerSecond))]),
  });

  if (data.published.length > 0) {
    blocks.push(
      { kind: 'heading', level: 2, text: 'Published vs ours' },
      {
        kind: 'table',
        header: ['figure', 'published', 'ours', 'same shape'],
        rows: data.published.map((row) => [row.label, number(row.published, 3), number(row.ours, 3), row.reproduces]),
      },
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
      text: 'Proxy CPU is percent of one core summed over its processes (200% = both cores of this machine). The fd requests, fd-cache hit rate and IPC share come from the proxy\'s own counters over the window (supervisor relays not counted twice); the IPC share is the milliseconds spent in IPC code over the proxy\'s CPU milliseconds. RSS is the peak summed over the proxy\'s processes; it includes garbage not yet collected and, over UDP, every transaction of the last 32 s, which RFC 3261 keeps for retransmissions (Timers D, J and K).',
    },
    ...chart('efficiency'),
    {
      kind: 'table',
      header: ['configuration', loadTitle, 'proxy CPU', 'ops per CPU-s', 'proxy RSS MB', 'generator CPU', 'fd req. / 1000 ops', 'fd-cache hits', 'IPC share', 'sweep visits'],
      rows: data.points.map((point) => [
        point.configuration,
        String(point.load),
        point.proxyCpuPercent === undefined ? '–' : `${number(point.proxyCpuPercent)}%`,
        point.proxyCpuPercent === undefined || point.proxyCpuPercent === 0 ? '–' : number(point.operationsPerSecond / (point.proxyCpuPercent / 100)),
        point.proxyRssMaxBytes === undefined ? '–' : number(point.proxyRssMaxBytes / 2 ** 20),
        `${number(point.generatorCpuPercent)}%${point.generatorSaturated ? ' (saturated)' : ''}`,
        number(point.fdRequestsPer1000Operations, 1),
        percent(point.fdCacheHitRate),
        percent(point.ipcShare),
        number(point.idleSweepVisitedPerSweep, 1),
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
