/**
 * The report's charts: vega-lite specifications compiled and rendered to SVG in Node (no
 * browser, no canvas), so the SVG can be inlined in the HTML and linked from the Markdown.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { Interval } from '../analysis/confidence-interval.js';
import type { ReportData } from './report-data.js';

export interface Chart {
  /** File name under charts/, without extension. */
  readonly name: string;
  readonly title: string;
  readonly svg: string;
}

const WIDTH = 560;
const HEIGHT = 300;

async function render(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

function loadAxisTitle(data: ReportData): string {
  return data.loadKind === 'clients' ? 'clients' : 'offered load (calls/s)';
}

const LEGEND = { orient: 'bottom', columns: 2, labelLimit: 280 } as const;

interface ValueWithInterval {
  readonly load: number;
  readonly configuration: string;
  readonly value: number;
  readonly low: number;
  readonly high: number;
}

/** A value and its interval bounds (the value itself when there is no interval). */
function withBounds(load: number, configuration: string, interval: Interval | undefined, fallback: number): ValueWithInterval {
  const value = interval?.estimate ?? fallback;
  return { load, configuration, value, low: interval?.low ?? value, high: interval?.high ?? value };
}

/** A y domain from 0 that holds every bar, error bar and marker, with a little room above. */
function domainTo(...maxima: number[]): [number, number] {
  const top = Math.max(0, ...maxima.filter(Number.isFinite));
  return [0, top > 0 ? top * 1.08 : 1];
}

/**
 * One value per point and configuration with its 95% interval as an error bar: lines over the
 * load levels (a numeric axis, so 100, 500, 1000 stand in that order and at their distances) when
 * there are several, bars by configuration when there is one.
 */
function byLoadSpec(values: readonly ValueWithInterval[], many: boolean, loadTitle: string, valueTitle: string): TopLevelSpec {
  const domain = domainTo(...values.map((value) => value.high));
  if (many) {
    return {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      width: WIDTH,
      height: HEIGHT,
      data: { values: [...values] },
      encoding: {
        x: { field: 'load', type: 'quantitative', title: loadTitle, scale: { zero: false, nice: false, padding: 12 }, axis: { values: [...new Set(values.map((value) => value.load))].sort((a, b) => a - b) } },
        color: { field: 'configuration', type: 'nominal', title: 'configuration', legend: LEGEND },
      },
      layer: [
        { mark: { type: 'line', point: true }, encoding: { y: { field: 'value', type: 'quantitative', title: valueTitle, scale: { domain } } } },
        { mark: { type: 'rule', strokeWidth: 1.5 }, encoding: { y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' } } },
      ],
    } as TopLevelSpec;
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: WIDTH,
    height: Math.max(HEIGHT / 2, values.length * 22),
    data: { values: [...values] },
    encoding: { y: { field: 'configuration', type: 'nominal', title: null, axis: { labelLimit: 300 } } },
    layer: [
      { mark: { type: 'bar', color: '#7aa6da' }, encoding: { x: { field: 'value', type: 'quantitative', title: valueTitle, scale: { domain } } } },
      { mark: { type: 'rule', color: '#222', strokeWidth: 1.5 }, encoding: { x: { field: 'low', type: 'quantitative' }, x2: { field: 'high' } } },
    ],
  } as TopLevelSpec;
}

export async function reportCharts(data: ReportData): Promise<Chart[]> {
  const charts: Chart[] = [];
  const loadTitle = loadAxisTitle(data);
  const many = new Set(data.points.map((point) => point.load)).size > 1;

  charts.push({
    name: 'throughput',
    title: `Throughput (operations/s${data.setup.peak === undefined ? '' : ' at the peak'}) vs ${loadTitle}, with 95% intervals`,
    svg: await render(byLoadSpec(data.points.map((point) => withBounds(point.load, point.configuration, point.intervals.operationsPerSecond, point.operationsPerSecond)), many, loadTitle, 'operations/s (INVITE + BYE)')),
  });

  const ratioChart = async (name: string, title: string, axis: string, values: ReportData['tcpUdp']): Promise<void> => {
    if (values.length === 0) return;
    const rows = values.map((ratio) => ({ ...withBounds(ratio.load, ratio.configuration, ratio.interval, ratio.ratio), loadText: String(ratio.load) }));
    const order = [...new Set(values.map((ratio) => ratio.load))].sort((a, b) => a - b).map(String);
    const domain = domainTo(1, ...rows.map((row) => row.high));
    const shared = {
      x: { field: 'loadText', type: 'ordinal', title: loadTitle, sort: order },
      xOffset: { field: 'configuration', type: 'nominal' },
      color: { field: 'configuration', type: 'nominal', title: 'configuration', legend: LEGEND },
    };
    charts.push({
      name,
      title: `${title}, with 95% intervals`,
      svg: await render({
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        width: WIDTH,
        height: HEIGHT,
        data: { values: rows },
        layer: [
          { mark: { type: 'bar' }, encoding: { ...shared, y: { field: 'value', type: 'quantitative', title: axis, scale: { domain } } } },
          { mark: { type: 'rule', color: '#222', strokeWidth: 1.5 }, encoding: { ...shared, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' } } },
          { mark: { type: 'rule', strokeDash: [4, 4], color: '#555' }, encoding: { y: { datum: 1 } } },
        ],
      } as unknown as TopLevelSpec),
    });
  };
  await ratioChart('tcp-udp', 'TCP / UDP operations/s at equal settings', 'TCP / UDP', data.tcpUdp);
  await ratioChart('fd-cache', 'fd cache: with / without', 'with cache / without', data.fdCache);
  await ratioChart('heap-scan', 'Idle connections: heap / scan', 'heap / scan', data.heapScan);

  // Published vs ours: our interval (point and bar) beside the published value (diamond) and the
  // band a reproduction must lie in, on a log scale with 1 marked.
  const judged = data.published.filter((row) => (row.ours !== undefined && row.ours.estimate > 0) || (row.published !== undefined && row.published > 0));
  if (judged.length > 0) {
    const rows = judged.map((row) => {
      const ours = row.ours !== undefined && row.ours.estimate > 0 ? row.ours : undefined;
      return {
        figure: `${row.label} (${row.verdict})`,
        ...(ours === undefined ? {} : { ours: ours.estimate, low: ours.low ?? ours.estimate, high: ours.high ?? ours.estimate }),
        ...(row.published === undefined ? {} : { published: row.published }),
        ...(row.range === undefined ? {} : { rangeLow: row.range[0], rangeHigh: row.range[1] }),
        ...(row.band === undefined ? {} : { bandLow: row.band[0], bandHigh: row.band[1] }),
        verdict: row.verdict,
      };
    });
    const all = rows.flatMap((row) => [row.low, row.high, row.published, row.bandLow, row.bandHigh, 1].filter((value): value is number => value !== undefined && value > 0));
    const domain = [Math.min(...all) / 1.15, Math.max(...all) * 1.15];
    const figure = { field: 'figure', type: 'nominal', title: null, sort: null, axis: { labelLimit: 330 } };
    charts.push({
      name: 'published',
      title: 'Published (◆, with the band of ×/÷ tolerance) vs ours (● with its 95% interval), log scale',
      svg: await render({
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        width: WIDTH,
        height: Math.max(120, rows.length * 34),
        data: { values: rows },
        layer: [
          { mark: { type: 'bar', color: '#e3ecd9', height: 18 }, encoding: { y: figure, x: { field: 'bandLow', type: 'quantitative', scale: { type: 'log', domain }, title: 'value (log scale)' }, x2: { field: 'bandHigh' } } },
          { mark: { type: 'bar', color: '#b9d3a0', height: 18 }, encoding: { y: figure, x: { field: 'rangeLow', type: 'quantitative' }, x2: { field: 'rangeHigh' } } },
          { mark: { type: 'rule', color: '#666', strokeDash: [4, 4] }, encoding: { x: { datum: 1 } } },
          { mark: { type: 'rule', color: '#222', strokeWidth: 2 }, encoding: { y: figure, x: { field: 'low', type: 'quantitative' }, x2: { field: 'high' } } },
          { mark: { type: 'point', filled: true, color: '#222', size: 50 }, encoding: { y: figure, x: { field: 'ours', type: 'quantitative' } } },
          { mark: { type: 'point', shape: 'diamond', filled: true, color: '#c2410c', size: 90 }, encoding: { y: figure, x: { field: 'published', type: 'quantitative' } } },
        ],
      } as unknown as TopLevelSpec),
    });
  }

  if (data.workerSweep.length > 0) {
    const workers = [...new Set(data.workerSweep.map((row) => row.workers))].sort((a, b) => a - b);
    charts.push({
      name: 'workers',
      title: 'Best operations/s by worker count',
      svg: await render({
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        width: WIDTH,
        height: HEIGHT,
        data: { values: data.workerSweep.map((row) => ({ ...row })) },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'workers', type: 'quantitative', title: 'workers', axis: { values: workers, format: 'd' }, scale: { zero: false, padding: 12 } },
          y: { field: 'operationsPerSecond', type: 'quantitative', title: 'operations/s', scale: { domain: domainTo(...data.workerSweep.map((row) => row.operationsPerSecond)) } },
          color: { field: 'configuration', type: 'nominal', title: 'configuration', legend: LEGEND },
        },
      } as TopLevelSpec),
    });
  }

  const latency = data.points.filter((point) => point.callSetupMs !== undefined);
  if (latency.length > 0) {
    charts.push({
      name: 'latency',
      title: `Call setup time (INVITE to 200 at the caller${data.setup.peak === undefined ? '' : ', at the peak'}), p50 and p99`,
      svg: await render({
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        width: WIDTH,
        height: HEIGHT,
        data: {
          values: latency.flatMap((point) => [
            { load: point.load, configuration: point.configuration, percentile: 'p50', ms: point.callSetupMs?.p50 },
            { load: point.load, configuration: point.configuration, percentile: 'p99', ms: point.callSetupMs?.p99 },
          ]),
        },
        mark: { type: many ? 'line' : 'point', point: true },
        encoding: {
          x: many ? { field: 'load', type: 'quantitative', title: loadTitle, scale: { zero: false, padding: 12 }, axis: { values: [...new Set(latency.map((point) => point.load))].sort((a, b) => a - b) } } : { field: 'configuration', type: 'nominal', title: null, axis: { labelLimit: 160, labelAngle: -30 } },
          y: { field: 'ms', type: 'quantitative', title: 'ms', scale: { type: 'symlog' } },
          color: { field: 'configuration', type: 'nominal', title: 'configuration', legend: LEGEND },
          ...(many ? { strokeDash: { field: 'percentile', type: 'nominal', title: 'percentile' } } : { shape: { field: 'percentile', type: 'nominal', title: 'percentile' } }),
        },
      } as TopLevelSpec),
    });
  }

  const cpu = data.points.filter((point) => point.intervals.operationsPerProxyCpuSecond !== undefined);
  if (cpu.length > 0) {
    charts.push({
      name: 'efficiency',
      title: 'Operations per CPU-second of the proxy, with 95% intervals',
      svg: await render(byLoadSpec(cpu.map((point) => withBounds(point.load, point.configuration, point.intervals.operationsPerProxyCpuSecond, 0)), many, loadTitle, 'operations per proxy CPU-second')),
    });
  }
  return charts;
}
