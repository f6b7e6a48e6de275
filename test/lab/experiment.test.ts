import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ExperimentRecord, ReportData } from '@switchboard/lab';

/**
 * The lab end to end, as a user runs it: `switchboard experiment run configs/experiments/e1.yaml
 * --quick` starts a real redis-server and proxy per point and runs the generator, then
 * `switchboard report` writes the report; its numbers must be the raw results' medians. The run
 * is then resumed and must not run anything again.
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
      assert.ok(record.result!.operations.perSecond > 0, record.pointKey);
      assert.ok(record.result!.calls.successRatio >= 0.99, `${record.pointKey}: ${JSON.stringify(record.result!.failures)}`);
      assert.ok((record.result!.proxy?.processes.length ?? 0) >= 3, 'the supervisor and its two workers were measured');
      assert.ok(record.serveArgs.includes('--redis-url'), 'a redis-server was started for the process-pool');
      assert.ok((record.result!.proxyCounters?.switchboard_requests_received_total ?? 0) > 0, 'the workers\' counters were scraped');
    }

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
    }
    const udp = data.points.find((point) => point.point.transport === 'udp')!;
    for (const ratio of data.tcpUdp) {
      const tcp = data.points.find((point) => point.configuration === ratio.configuration)!;
      assert.equal(ratio.ratio, Math.round((tcp.operationsPerSecond / udp.operationsPerSecond) * 1000) / 1000);
    }
    assert.equal(data.tcpUdp.length, 3);
    const html = await readFile(join(out, 'report.html'), 'utf8');
    assert.match(html, /Quick run/);
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

test('a bad experiment config stops before anything runs, naming the file and key', async () => {
  const run = await switchboard(['experiment', 'run', 'package.json'], 30_000);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /ERR_SWITCHBOARD_EXPERIMENT_CONFIG: package\.json: /);
});
