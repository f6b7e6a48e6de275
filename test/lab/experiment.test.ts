import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ExperimentRecord, ReportData } from '@switchboard/lab';

/**
 * The lab end to end, as a user runs it: `switchboard experiment run configs/experiments/e1.yaml
 * --quick` starts a real redis-server and proxy per point under the config's CPU budget and runs
 * the generator on its own CPU, then `switchboard report` writes the report; its numbers must be
 * the raw results' medians, and a connection lifetime the window cannot contain must be marked
 * invalid. The run is then resumed and must not run anything again. A second test runs a small
 * peak ladder with repeats.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(ROOT, 'packages/cli/bin/switchboard.js');

function switchboard(args: string[], timeoutMs: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`switchboard ${args.join(' ')} took over ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

test('experiment run --quick, then report: the report shows the raw results\' numbers', { timeout: 180_000 }, async () => {
  const out = await mkdtemp(join(tmpdir(), 'experiment-e1-'));
  try {
    const run = await switchboard(['experiment', 'run', 'configs/experiments/e1.yaml', '--quick', '--out', out], 150_000);
    assert.equal(run.code, 0, run.stderr);
    const records = (await readFile(join(out, 'results.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as ExperimentRecord);
    assert.equal(records.length, 4, 'UDP, and TCP persistent, every 500 and every 50 operations');
    for (const record of records) {
      assert.equal(record.error, undefined, JSON.stringify(record.error));
      assert.ok(record.quick);
      assert.ok(record.budget !== undefined, 'the budget applied is recorded');
      assert.ok(record.result!.generator.cpuPercentTotal !== undefined && record.result!.generator.budgetCores !== undefined);
      assert.ok(record.result!.observed?.some((usage) => usage.role === 'redis'), 'Redis\' CPU was sampled');
      assert.ok(record.result!.operations.perSecond > 0, record.pointKey);
      assert.ok(record.result!.calls.successRatio >= 0.99, `${record.pointKey}: ${JSON.stringify(record.result!.failures)}`);
      assert.ok((record.result!.proxy?.processes.length ?? 0) >= 3, 'the supervisor and its two workers were measured');
      assert.ok(record.serveArgs.includes('--redis-url'), 'a redis-server was started for the process-pool');
      assert.ok((record.result!.proxyCounters?.switchboard_requests_received_total ?? 0) > 0, 'the workers\' counters were scraped');
    }

    const every500 = records.find((record) => record.point.connection === 'per-ops:500')!;
    assert.match(every500.invalid?.join(' ') ?? '', /^window: caller per-ops:500 over 20 phones needs 50 reconnections/, 'a 1.5 s window cannot imply 50 reconnections of 500 operations each');

    const report = await switchboard(['report', out], 60_000);
    assert.equal(report.code, 0, report.stderr);
    const data = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as ReportData;
    assert.equal(data.points.length, 4);
    for (const record of records) {
      const summary = data.points.find((point) => point.key === record.pointKey);
      assert.ok(summary !== undefined, record.pointKey);
      assert.equal(summary.operationsPerSecond, record.result!.operations.perSecond);
      assert.equal(summary.callsPerSecond, record.result!.calls.perSecond);
      assert.equal(summary.callSetupMs?.p99, record.result!.latencyMs['invite-200']?.p99);
      assert.equal(summary.valid, (record.invalid ?? []).length === 0, record.pointKey);
    }
    const udp = data.points.find((point) => point.point.transport === 'udp')!;
    for (const ratio of data.tcpUdp) {
      const tcp = data.points.find((point) => point.configuration === ratio.configuration)!;
      assert.ok(tcp.valid, 'invalid points are never in a ratio');
      assert.equal(ratio.ratio, Math.round((tcp.operationsPerSecond / udp.operationsPerSecond) * 1000) / 1000);
    }
    assert.ok(!data.tcpUdp.some((ratio) => ratio.configuration.includes('per-ops:500')));
    const html = await readFile(join(out, 'report.html'), 'utf8');
    assert.match(html, /Quick run/);
    assert.match(html, /CPU budget: the proxy and its Redis on CPU 0/);
    assert.match(html, /Machine speed: a fixed CPU workload on the proxy&#39;s CPUs|Machine speed: a fixed CPU workload on the proxy's CPUs/, 'every run records a speed probe');
    assert.match(html, /<svg /);
    const markdown = await readFile(join(out, 'report.md'), 'utf8');
    for (const point of data.points) assert.ok(markdown.includes(point.configuration), point.configuration);

    const resumed = await switchboard(['experiment', 'run', 'configs/experiments/e1.yaml', '--quick', '--out', out], 60_000);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /"alreadyRecorded":4/);
    assert.doesNotMatch(resumed.stderr, /"msg":"running"/);
    assert.equal((await readFile(join(out, 'results.jsonl'), 'utf8')).trim().split('\n').length, 4);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('a peak experiment: an open-loop ladder per point and repeat, under a budget, with intervals in the report', { timeout: 180_000 }, async () => {
  const out = await mkdtemp(join(tmpdir(), 'experiment-peak-'));
  try {
    const config = join(out, 'peak.yaml');
    await writeFile(
      config,
      [
        'id: peak-smoke',
        'title: A small peak ladder',
        'published_figures:',
        '  - { label: "calls/s at the peak", kind: observation, ours: { metric: peakCallsPerSecond, numerator: { transport: udp } } }',
        'repeats: 2',
        'budget: { proxy-cpus: "0", generator-cpus: "1" }',
        'peak: { from: 20, to: 40, factor: 2, refine: 0 }',
        'bench: { duration: 1, warmup: 0.5, procs: 1, timeout: 3 }',
        'matrix: { model: [event-loop], transport: [udp], clients: [10] }',
        '',
      ].join('\n'),
    );
    const run = await switchboard(['experiment', 'run', config, '--out', out], 150_000);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /"msg":"ladder step"/);
    const records = (await readFile(join(out, 'results.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as ExperimentRecord);
    assert.equal(records.length, 2, 'one record per point and repeat');
    for (const record of records) {
      assert.equal(record.error, undefined, JSON.stringify(record.error));
      assert.ok((record.peak?.steps.length ?? 0) >= 1);
      assert.deepEqual(record.peak?.steps.map((step) => step.rate).slice(0, 2), [20, 40].slice(0, record.peak?.steps.length));
      assert.ok(record.result !== undefined);
      assert.ok(record.budget !== undefined);
    }
    const report = await switchboard(['report', out], 60_000);
    assert.equal(report.code, 0, report.stderr);
    const data = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as ReportData;
    assert.equal(data.points.length, 1);
    assert.ok(data.setup.peak !== undefined);
    const markdown = await readFile(join(out, 'report.md'), 'utf8');
    assert.match(markdown, /Throughput is each point's peak: an open-loop ladder of offered rates from 20 calls\/s/);
    assert.match(markdown, /### Peaks/);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('a bad experiment config stops before anything runs, naming the file and key', async () => {
  const run = await switchboard(['experiment', 'run', 'package.json'], 30_000);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /ERR_SWITCHBOARD_EXPERIMENT_CONFIG: package\.json: /);
});
