/**
 * `switchboard report results/<id>`: reads an experiment's results and writes `report.html`
 * (self-contained: inline CSS and SVG, no script to run), `report.md`, `charts/*.svg` and
 * `report.json` (the numbers both show) beside them, or into `outDir`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { reportCharts } from './report-charts.js';
import { loadReportData, type ReportData } from './report-data.js';
import { reportBlocks, toHtml, toMarkdown } from './report-document.js';
import { registrationSection } from './registration-section.js';

export interface WrittenReport {
  readonly html: string;
  readonly markdown: string;
  readonly json: string;
  readonly charts: readonly string[];
  readonly data: ReportData;
}

export async function writeReport(resultsDir: string, options: { outDir?: string } = {}): Promise<WrittenReport> {
  const outDir = options.outDir ?? resultsDir;
  const data = await loadReportData(resultsDir);
  const charts = await reportCharts(data);
  const blocks = [...reportBlocks(data, charts), ...(await registrationSection(resultsDir))];
  await mkdir(join(outDir, 'charts'), { recursive: true });
  const chartFiles: string[] = [];
  for (const chart of charts) {
    const file = join(outDir, 'charts', `${chart.name}.svg`);
    await writeFile(file, chart.svg);
    chartFiles.push(file);
  }
  const html = join(outDir, 'report.html');
  const markdown = join(outDir, 'report.md');
  const json = join(outDir, 'report.json');
  await writeFile(html, toHtml(blocks, `${data.experiment.id}: ${data.experiment.title}`, data));
  await writeFile(markdown, toMarkdown(blocks));
  await writeFile(json, `${JSON.stringify(data, null, 2)}\n`);
  return { html, markdown, json, charts: chartFiles, data };
}
