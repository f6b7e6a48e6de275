/**
 * The report's charts: vega-lite specifications compiled and rendered to SVG in Node (no
 * browser, no canvas), so the SVG can be inlined in the HTML and linked from the Markdown.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
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

/**
 * One value per point and configuration: lines over the load levels when there are several, bars
 * by configuration when there is one.
 */
function byLoadSpec(values: ReadonlyArray<{ load: number; configuration: string; value: number }>, many: boolean, loadTitle: string, valueTitle: string): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: WIDTH,
    height: HEIGHT,
    data: { values: [...values] },
    mark: many ? { type: 'line', point: true } : { type: 'bar' },
    encoding: many
      ? {
          x: { field: 'load', type: 'ordinal', title: loadTitle },
          y: { field: 'value', type: 'quantitative', title: valueTitle },
          color: { field: 'configuration', type: 'nominal', title: 'configuration', legend: { orient: 'bottom', columns: 2, labelLimit: 280 } },
        }
      : {
          y: { field: 'configuration', type: 'nominal', title: null, axis: { labelLimit: 300 } },
          x: { field: 'value', type: 'quantitative', title: valueTitle },
        },
  } as TopLevelSpec;
}

export async function reportCharts(data: ReportData): Promise<Chart[]> {
  const charts: Chart[] = [];
  const loadTitle = loadAxisTitle(data);
  const many = new Set(data.points.map((point) => point.load)).size > 1;

  charts.push({
    name: 'throughput',
    title: `Throughput (operations/s) vs ${loadTitle}`,
    svg: await render(byLoadSpec(data.points.map((point) => ({ load: point.load, configuration: point.configuration, value: point.operationsPerSecond })), many, loadTitle, 'operations/s (INVITE + BYE)')),
  });

  const ratioChart = async (name: string, title: string, axis: string, values: ReportData['tcpUdp']): Promise<void> => {
    if (values.length === 0) return;
    charts.push({
      name,
      title,
      svg: await render({
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        width: WIDTH,
        height: HEIGHT,
        data: { values: values.map((ratio) => ({ load: String(ratio.load), ratio: ratio.ratio, configuration: ratio.configuration })) },
        layer: [
          {
            mark: { type: 'bar' },
            encoding: {
              x: { field: 'load', type: 'ordinal', title: loadTitle },
              xOffset: { field: 'configuration' },
              y: { field: 'ratio', type: 'quantitative', title: axis },
              color: { field: 'configuration', type: 'nominal', title: 'configuration', legend: { orient: 'bottom', columns: 2, labelLimit: 280 } },
            },
          },
          { mark: { type: 'rule', strokeDash: [4, 4] }, encoding: { y: { datum: 1 } } },
        ],
      } as TopLevelSpec),
    });
  };
  await ratioChart('tcp-udp', 'TCP / UDP operations/s at equal settings', 'TCP / UDP', data.tcpUdp);
  await ratioChart('fd-cache', 'fd cache: with / without', 'with cache / without', data.fdCache);
  await ratioChart('heap-scan', 'Idle connections: heap / scan', 'heap / scan', data.heapScan);

  if (data.workerSweep.length > 0) {
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
          x: { field: 'workers', type: 'ordinal', title: 'workers' },
          y: { field: 'operationsPerSecond', type: 'quantitative', title: 'operations/s' },
          color: { field: 'configuration', type: 'nominal', title: 'configuration', legend: { orient: 'bottom', columns: 2, labelLimit: 280 } },
        },
      } as TopLevelSpec),
    });
  }

  const latency = data.points.filter((point) => point.callSetupMs !== undefined);
  if (latency.length > 0) {
    charts.push({
      name: 'latency',
      title: 'Call setup time (INVITE to 200 at the caller), p50 and p99',
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
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'load', type: 'ordinal', title: loadTitle },
          y: { field: 'ms', type: 'quantitative', title: 'ms', scale: { type: 'symlog' } },
          color: { field: 'configuration', type: 'nominal', title: 'configuration', legend: { orient: 'bottom', columns: 2, labelLimit: 280 } },
          strokeDash: { field: 'percentile', type: 'nominal', title: 'percentile' },
        },
      } as TopLevelSpec),
    });
  }

  const cpu = data.points.filter((point) => point.proxyCpuPercent !== undefined && point.proxyCpuPercent > 0);
  if (cpu.length > 0) {
    charts.push({
      name: 'efficiency',
      title: 'Operations per CPU-second of the proxy',
      svg: await render(byLoadSpec(cpu.map((point) => ({ load: point.load, configuration: point.configuration, value: Math.round(point.operationsPerSecond / ((point.proxyCpuPercent as number) / 100)) })), many, loadTitle, 'operations per proxy CPU-second')),
    });
  }
  return charts;
}
