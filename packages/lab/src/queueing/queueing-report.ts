/**
 * `switchboard model report`: E9's report from `points.jsonl`: the study's Table II in our terms
 * (λ, E[X], E[X²], ρ, α, modelled and measured W), service times per message type, where the
 * M/G/1 model stops holding, a chart of modelled and measured W against load, and each
 * architecture's saturation predicted as ρ → 1 beside its measured peak.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeMachine } from '@switchboard/sip/machine-facts';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { breakdown, fitRows, type FitRow } from './queueing-fit.js';
import { QueueingError } from './queueing-error.js';
import type { QueueingRecord } from './run-queueing.js';
import { efficiencyRows, modelsLadderRows, type SaturationRow } from './saturation.js';

export interface QueueingReportOptions {
  /** Committed runs the saturation table reads (default: experiments/efficiency/efficiency.json, experiments/models/models.json). */
  readonly efficiencyFile?: string;
  readonly modelsFile?: string;
  /** Words placed at the top of the closing note (how the run was shortened, the machine's state). */
  readonly note?: string;
}

const us = (seconds: number): string => (Number.isFinite(seconds) ? (seconds * 1e6).toFixed(1) : '∞');
const us2 = (seconds2: number): string => (Number.isFinite(seconds2) ? (seconds2 * 1e12).toFixed(0) : '–');

export async function loadQueueingRecords(dir: string): Promise<{ config: Record<string, unknown>; records: QueueingRecord[] }> {
  const configFile = join(dir, 'model.json');
  const pointsFile = join(dir, 'points.jsonl');
  if (!existsSync(configFile) || !existsSync(pointsFile)) throw new QueueingError('ERR_SWITCHBOARD_MODEL_NO_RESULTS', `${dir}: no model.json and points.jsonl (run switchboard model run first)`);
  const config = JSON.parse(await readFile(configFile, 'utf8')) as Record<string, unknown>;
  const records = (await readFile(pointsFile, 'utf8')).split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as QueueingRecord);
  return { config, records };
}

async function render(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Modelled W (lines) and measured W with 95% batch-means intervals (points and rules) against λ. */
export function waitingChartSpec(rows: readonly FitRow[]): TopLevelSpec {
  const finite = rows.filter((row) => Number.isFinite(row.modelled) && Number.isFinite(row.measured.mean));
  // A log axis (modelled and measured may lie orders of magnitude apart); values below 0.1 µs sit at 0.1.
  const floor = (seconds: number): number => Math.max(0.1, seconds * 1e6);
  const values = finite.flatMap((row) => [
    { lambda: row.lambda, series: `modelled (${row.arrivals})`, w: floor(row.modelled), low: floor(row.modelled), high: floor(row.modelled) },
    { lambda: row.lambda, series: `measured (${row.arrivals})`, w: floor(row.measured.mean), low: floor(Number.isFinite(row.measured.low) ? row.measured.low : row.measured.mean), high: floor(Number.isFinite(row.measured.high) ? row.measured.high : row.measured.mean) },
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 560,
    height: 300,
    data: { values },
    encoding: {
      x: { field: 'lambda', type: 'quantitative', title: 'λ: messages arriving at the proxy per second' },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', columns: 2 } },
    },
    layer: [
      { mark: { type: 'line', point: true }, encoding: { y: { field: 'w', type: 'quantitative', title: 'mean waiting time W (µs, log scale)', scale: { type: 'log' } } } },
      { mark: { type: 'rule', strokeWidth: 1.5 }, encoding: { y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' } } },
    ],
  } as TopLevelSpec;
}

function tableII(rows: readonly FitRow[]): string[] {
  const lines = [
    '| arrivals | offered calls/s | achieved | success | λ (msg/s) | E[X] (µs) | E[X²] (µs²) | ρ | α | W model (µs) | W measured (µs) [95% CI] | model / measured | holds |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |',
  ];
  for (const row of rows) {
    const ci = Number.isFinite(row.measured.low) ? ` [${us(row.measured.low)}, ${us(row.measured.high)}]` : '';
    lines.push(`| ${row.arrivals} | ${row.offeredCallsPerSecond} | ${row.achievedCallsPerSecond.toFixed(0)} | ${(row.successRatio * 100).toFixed(2)}% | ${row.lambda.toFixed(0)} | ${us(row.meanService)} | ${us2(row.meanSquareService)} | ${row.rho.toFixed(3)} | ${row.alpha.toFixed(2)} | ${us(row.modelled)} | ${us(row.measured.mean)}${ci} | ${Number.isFinite(row.ratio) ? row.ratio.toFixed(2) : '–'} | ${row.holds ? 'yes' : 'no'} |`);
  }
  return lines;
}

function kindTable(records: readonly QueueingRecord[]): string[] {
  const kinds = ['INVITE', '100', '180', '200', 'ACK', 'BYE', '200-BYE', 'other'];
  const lines = [`| arrivals | offered calls/s | ${kinds.map((kind) => `${kind} E[X] (µs)`).join(' | ')} |`, `| --- | ---: | ${kinds.map(() => '---:').join(' | ')} |`];
  for (const record of records) {
    const m = record.measurement;
    if (m === undefined) continue;
    lines.push(`| ${m.arrivals} | ${m.offeredCallsPerSecond} | ${kinds.map((kind) => { const k = m.service.byKind[kind]; return k === undefined ? '–' : `${us(k.mean)} (n=${k.count})`; }).join(' | ')} |`);
  }
  return lines;
}

function saturationTable(rows: readonly SaturationRow[]): string[] {
  const lines = ['| architecture | service time from | µs per call | cores | predicted saturation (calls/s, ρ = 1) | measured peak (calls/s) | predicted / measured |', '| --- | --- | ---: | ---: | ---: | ---: | ---: |'];
  for (const row of rows) {
    lines.push(`| ${row.architecture} | ${row.source} | ${row.serviceMicrosPerCall.toFixed(0)} | ${row.cores} | ${row.predictedCallsPerSecond.toFixed(0)} | ${row.measuredPeak === undefined ? '–' : row.measuredPeak.toFixed(0)} | ${row.measuredPeak === undefined ? '–' : (row.predictedCallsPerSecond / row.measuredPeak).toFixed(2)} |`);
  }
  return lines;
}

/** The message types of one call that reach the proxy (the 100 only when the callee sends one). */
const CALL_KINDS = ['INVITE', '100', '180', '200', 'ACK', 'BYE', '200-BYE'];

/**
 * The event-loop's saturation predicted from E9's own service times, per arrival process: a call
 * costs Σ E[X] over the message types of a call (each once; retransmissions are load, not
 * demand), at the lightest load and at the heaviest load where the model still held.
 */
function e9SaturationRows(records: readonly QueueingRecord[], rows: readonly FitRow[]): SaturationRow[] {
  const out: SaturationRow[] = [];
  for (const arrivals of new Set(rows.map((row) => row.arrivals))) {
    const points = records.map((record) => record.measurement).filter((m): m is NonNullable<QueueingRecord['measurement']> => m !== undefined && m.arrivals === arrivals).sort((a, b) => a.offeredCallsPerSecond - b.offeredCallsPerSecond);
    const lightest = points[0];
    if (lightest === undefined) continue;
    const lastHolding = rows.filter((row) => row.arrivals === arrivals && row.holds).at(-1);
    const heaviest = lastHolding === undefined ? undefined : points.find((m) => m.offeredCallsPerSecond === lastHolding.offeredCallsPerSecond);
    const passing = points.filter((m) => m.successRatio >= 0.999 && m.achievedCallsPerSecond > 0).map((m) => m.achievedCallsPerSecond);
    for (const m of heaviest === undefined || heaviest === lightest ? [lightest] : [lightest, heaviest]) {
      const kinds = CALL_KINDS.filter((kind) => (m.service.byKind[kind]?.count ?? 0) > 0);
      const perCall = kinds.reduce((sum, kind) => sum + (m.service.byKind[kind]?.mean ?? 0), 0);
      if (!(perCall > 0)) continue;
      out.push({
        architecture: 'event-loop',
        source: `E9 --timing, ${arrivals}, Σ E[X] of ${kinds.join(', ')} at ${m.offeredCallsPerSecond} calls/s`,
        serviceMicrosPerCall: perCall * 1e6,
        cores: 1,
        predictedCallsPerSecond: 1 / perCall,
        ...(passing.length === 0 ? {} : { measuredPeak: Math.max(...passing), measuredSource: 'E9: highest achieved rate at ≥ 99.9% success' }),
      });
    }
  }
  return out;
}

export async function writeQueueingReport(dir: string, options: QueueingReportOptions = {}): Promise<{ markdown: string; chart: string; rows: FitRow[] }> {
  const { config, records } = await loadQueueingRecords(dir);
  const measured = records.filter((record) => record.measurement !== undefined);
  if (measured.length === 0) throw new QueueingError('ERR_SWITCHBOARD_MODEL_NO_RESULTS', `${dir}: every point failed (${records.map((record) => record.error?.message).filter(Boolean).join('; ').slice(0, 400)})`);
  const rows = fitRows(measured.map((record) => record.measurement!));
  await mkdir(join(dir, 'charts'), { recursive: true });
  const chart = join(dir, 'charts', 'waiting.svg');
  await writeFile(chart, await render(waitingChartSpec(rows)));
  const models = modelsLadderRows(options.modelsFile ?? join('experiments', 'models', 'models.json'));
  const peaks = new Map(models.filter((row) => row.measuredPeak !== undefined).map((row) => [row.architecture, row.measuredPeak as number]));
  const saturation = [...e9SaturationRows(measured, rows), ...models, ...efficiencyRows(options.efficiencyFile ?? join('experiments', 'efficiency', 'efficiency.json'), peaks)];
  const first = measured[0]!;
  const machine = first.machine;
  const arrivalsList = [...new Set(rows.map((row) => row.arrivals))];
  const breaks = arrivalsList.map((arrivals) => {
    const row = breakdown(rows, arrivals);
    const holding = rows.filter((r) => r.arrivals === arrivals && r.holds);
    return `- ${arrivals}: ${row === undefined ? `the model holds at every load measured (up to ρ = ${Math.max(...rows.filter((r) => r.arrivals === arrivals).map((r) => r.rho)).toFixed(2)})` : `the model holds${holding.length === 0 ? ' at no load' : ` up to ρ = ${Math.max(...holding.map((r) => r.rho)).toFixed(2)}`} and first fails at ${row.offeredCallsPerSecond} calls/s (λ = ${row.lambda.toFixed(0)}/s, ρ = ${row.rho.toFixed(2)}: modelled ${us(row.modelled)} µs, measured ${us(row.measured.mean)} µs)`}.`;
  });
  const lines = [
    `# E9: ${String(config.title)}`,
    '',
    `Study ${String(config.study)}.`,
    '',
    String(config.published).trim(),
    '',
    `Machine: ${describeMachine(machine)}.`,
    `Setup: one event-loop proxy over UDP with \`--timing\` (trace of ${String(config.traceSample)} of the calls, by Call-ID), ${first.budget === undefined ? 'no CPU budget' : `proxy CPUs ${first.budget.proxy.cpus ?? 'any'}${first.budget.proxy.quotaCores === undefined ? '' : `, quota ${first.budget.proxy.quotaCores} core`} (${first.budget.method}), generator and tcpdump on CPU ${first.budget.generator.cpus ?? 'any'}`}; open-loop calls from ${String(config.pairs)} phone pairs, ${first.windowSeconds} s windows${first.quick ? ' (quick run)' : ''}; tcpdump on \`lo\` for arrivals and departures.`,
    '',
    ...(options.note === undefined ? [] : [options.note.trim(), '']),
    '## Table II: modelled and measured waiting time',
    '',
    'λ counts every datagram arriving at the proxy\'s port in the window (retransmissions included). E[X] and E[X²] are the traced messages\' service times (read to the end of their sends), mixed by their share of the arrivals. ρ = λE[X]. α = E[X] at this load / E[X] at the lightest load of the same arrival process (our estimate of the study\'s load-dependent inflation; the study inflated only the socket-queue part). W model = λE[X²] / (2(1 − ρ)). W measured = mean of residence (capture: arrival to first departure of the same message) − service (trace), over the traced messages that left, with a 95% batch-means interval (20 batches in arrival order). "holds": the model inside the interval or within 25% of the measured mean.',
    '',
    ...tableII(rows),
    '',
    '![modelled and measured waiting time against load](charts/waiting.svg)',
    '',
    '## Service time per message type',
    '',
    ...kindTable(measured),
    '',
    '## Where the model holds',
    '',
    ...breaks,
    '',
    '## Saturation predicted as ρ → 1, beside measured peaks',
    '',
    ...saturationTable(saturation),
    '',
    'The E9 rows use the proxy\'s own timing (the JavaScript work of each message; kernel time outside the callbacks is not in it); the other rows use the CPU time of the proxy\'s process tree per call (kernel, GC and idle overhead included) from committed runs on other days, so they are a second, cruder service-time estimate. The measured peaks of the models ladder ran unpinned on 2 cores with SIPp beside the proxy.',
    '',
    '## Points',
    '',
    '| point | messages captured | matched & traced | unmatched | retransmitted arrivals | kernel drops | generator saturated | proxy CPU % | error |',
    '| --- | ---: | ---: | ---: | ---: | ---: | :---: | ---: | --- |',
    ...records.map((record) => `| ${record.key} | ${record.capture?.messages ?? '–'} | ${record.measurement?.matched ?? '–'} | ${record.capture?.unmatched ?? '–'} | ${record.capture?.repeats ?? '–'} | ${record.capture?.dropped ?? '–'} | ${record.generator === undefined ? '–' : record.generator.saturated ? 'yes' : 'no'} | ${record.proxyCpuPercent === undefined ? '–' : record.proxyCpuPercent.toFixed(0)} | ${record.error === undefined ? '' : `${record.error.code}: ${record.error.message.slice(0, 160)}`} |`),
    '',
  ];
  const markdown = join(dir, 'report.md');
  await writeFile(markdown, `${lines.join('\n')}\n`);
  await writeFile(join(dir, 'fit.json'), `${JSON.stringify({ rows, saturation }, null, 2)}\n`);
  return { markdown, chart, rows };
}
