import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { BenchResult } from '@switchboard/bench';
import { parseExperimentConfig } from '../experiment/experiment-config.js';
import { experimentPoints, pointKey } from '../experiment/experiment-matrix.js';
import type { ExperimentPoint, ExperimentRecord } from '../experiment/experiment-record.js';
import { writeReport, type WrittenReport } from './write-report.js';
import type { ReportData } from './report-data.js';
import { verdict } from '../analysis/verdict.js';

const MACHINE = { cpu: 'Test CPU', cores: 2, memoryGiB: 24, node: 'v20.0.0', platform: 'linux test', cpusAllowed: '0-1', date: '2026-11-23T00:00:00.000Z' };

const config = parseExperimentConfig(
  {
    id: 'synthetic',
    title: 'A synthetic experiment',
    study: '002 Fig. 4',
    published: 'TCP rises to **66–78%** of UDP.',
    published_figures: [
      { label: 'TCP / UDP with the cache at 20 clients', value: 0.66, ours: { metric: 'operationsPerSecond', numerator: { transport: 'tcp', 'fd-cache': 8, clients: 20 }, denominator: { transport: 'udp', 'fd-cache': 0, clients: 20 } } },
      { label: 'no counterpart', value: 3 },
    ],
    matrix: { model: ['process-pool'], state: ['redis'], 'fd-cache': [0, 8], transport: ['udp', 'tcp'], clients: [10, 20] },
  },
  'synthetic.yaml',
);

/** ops/s of a point and repeat: distinct, so medians and ratios are checkable. */
function operationsPerSecond(point: ExperimentPoint, repeat: number): number {
  const base = (point.transport === 'udp' ? 1000 : 600) * (point.fdCache > 0 ? 1.5 : 1) * ((point.clients ?? 0) / 10);
  return base + [0, 50, -20][repeat]!;
}

function result(point: ExperimentPoint, repeat: number, saturated: boolean, stalled = false): BenchResult {
  const perSecond = operationsPerSecond(point, repeat);
  const total = perSecond * 2;
  return {
    schema: 'switchboard-bench/1',
    startedAt: MACHINE.date,
    settings: { proxy: '127.0.0.1:5060', domain: 'bench.test', transport: point.transport, clients: point.clients, pairs: point.clients ?? 1, callerConnection: 'persistent', calleeConnection: 'persistent', durationSeconds: 2, warmupSeconds: 0.5, holdMs: 0, timeoutMs: 5000, procs: 1 },
    machine: MACHINE,
    windowSeconds: 2,
    operations: { invite: total / 2, bye: total / 2, total, perSecond },
    calls: { attempted: total / 2, completed: total / 2, failed: 0, perSecond: perSecond / 2, successRatio: 1 },
    registrations: { attempted: 20, completed: 20, failed: 0 },
    failures: {},
    latencyMs: { 'invite-200': { count: 10, min: 1, mean: 2, p50: 2 + repeat, p90: 4, p99: 8, p999: 9, max: 10 } },
    generator: { processes: [{ pid: 1, role: 'generator', cpuPercent: saturated ? 97 : 40, cpuPercentMax: 97, rssBytesMax: 1e8 }], saturated, thresholdPercent: 90 },
    proxy: { processes: [{ pid: 2, role: 'main', cpuPercent: 100, cpuPercentMax: 100, rssBytesMax: 2 ** 27 }], cpuPercentTotal: 100 },
    proxyCounters: stalled ? { switchboard_worker_restarts_total: 0 } : { switchboard_requests_received_total: total * 2, switchboard_fd_requests_total: total / 10, switchboard_fd_cache_hits_total: point.fdCache > 0 ? 90 : 0, switchboard_fd_cache_misses_total: point.fdCache > 0 ? 10 : 0, switchboard_ipc_milliseconds_total: 100, switchboard_transaction_store_round_trips_total: total * 2, switchboard_hand_offs_sent_total: total / 4, switchboard_event_loop_stall_milliseconds_total: 100 * (repeat + 1), switchboard_gc_pause_milliseconds_total: 30 },
  };
}

let dir: string;
let report: WrittenReport;
let records: ExperimentRecord[];
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'report-'));
  records = [];
  const points = experimentPoints(config);
  for (let repeat = 0; repeat < 3; repeat++) {
    for (const point of points) {
      const base = { schema: 'switchboard-experiment/2' as const, experiment: 'synthetic', pointKey: pointKey(point), point, repeat, quick: false, machine: MACHINE, serveArgs: ['serve'], speedProbeMs: 100 + repeat * 30 };
      const failing = point.transport === 'tcp' && point.fdCache === 0 && point.clients === 10 && repeat === 2;
      records.push(failing ? { ...base, error: { code: 'ERR_SWITCHBOARD_BENCH_PROCESS', message: 'generator died' } } : { ...base, result: result(point, repeat, point.transport === 'udp' && point.clients === 20 && repeat === 1, point.transport === 'tcp' && point.fdCache === 8 && point.clients === 10 && repeat === 0) });
    }
  }
  await writeFile(join(dir, 'experiment.json'), JSON.stringify(config));
  await writeFile(join(dir, 'results.jsonl'), `${records.map((record) => JSON.stringify(record)).join('\n')}\n`);
  report = await writeReport(dir);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The median over the valid runs (the saturated generator's run is not one). */
function expectedMedian(filter: (point: ExperimentPoint) => boolean): number {
  return medianOf(records.filter((record) => record.result !== undefined && !record.result.generator.saturated && filter(record.point)).map((record) => record.result!.operations.perSecond));
}

test('the report files are written and the HTML is self-contained', async () => {
  for (const file of [report.html, report.markdown, report.json, ...report.charts]) assert.ok(existsSync(file), file);
  const html = await readFile(report.html, 'utf8');
  assert.doesNotMatch(html, /<script[^>]*\ssrc=/i);
  assert.doesNotMatch(html, /<link[^>]*href=/i);
  const external = [...html.matchAll(/https?:\/\/[^\s"'<>)]+/g)].map((match) => match[0]).filter((url) => !url.startsWith('http://www.w3.org/'));
  assert.deepEqual(external, [], 'no external references but SVG namespaces');
  for (const chart of report.charts) {
    const svg = await readFile(chart, 'utf8');
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(svg, /<\/svg>$/);
    assert.ok(html.includes(svg), `${chart} is inlined`);
  }
});

test('the embedded numbers are report.json and the medians of the raw records', async () => {
  const html = await readFile(report.html, 'utf8');
  const embedded = JSON.parse(/<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html)![1]!) as ReportData;
  const file = JSON.parse(await readFile(report.json, 'utf8')) as ReportData;
  assert.deepEqual(embedded, file);
  assert.equal(file.points.length, 8);
  for (const summary of file.points) {
    const expected = expectedMedian((point) => pointKey(point) === summary.key);
    assert.equal(summary.operationsPerSecond, expected, summary.key);
  }
  const tcpFailed = file.points.find((summary) => summary.point.transport === 'tcp' && summary.point.fdCache === 0 && summary.point.clients === 10);
  assert.equal(tcpFailed?.repeats, 2, 'the failed run is left out of the median');
  const saturated = file.points.find((summary) => summary.point.transport === 'udp' && summary.point.fdCache === 0 && summary.point.clients === 20)!;
  assert.equal(saturated.validRepeats, 2, 'the run whose generator ran out of CPU is left out');
  assert.ok(saturated.valid);
  for (const summary of file.points) {
    const interval = summary.intervals.operationsPerSecond!;
    assert.equal(interval.estimate, summary.operationsPerSecond, summary.key);
    assert.ok(interval.low! <= interval.estimate && interval.high! >= interval.estimate, summary.key);
  }
});

test('event-loop stalls and GC pauses are medians per second of the window, and shown in the cost table', async () => {
  const point = report.data.points.find((summary) => summary.point.transport === 'tcp' && summary.point.fdCache === 8 && summary.point.clients === 20)!;
  assert.equal(point.validRepeats, 3);
  // 100, 200 and 300 ms of stalls in 2 s windows; 30 ms of GC in each.
  assert.equal(point.eventLoopStallMsPerSecond, 100);
  assert.equal(point.gcPauseMsPerSecond, 15);
  const markdown = await readFile(report.markdown, 'utf8');
  assert.match(markdown, /\| loop stalls ms\/s \| GC ms\/s \|/);
});

test('TCP/UDP and fd-cache ratios divide the right medians', () => {
  const { tcpUdp, fdCache } = report.data;
  assert.equal(tcpUdp.length, 4);
  for (const ratio of tcpUdp) {
    const point = report.data.points.find((summary) => summary.configuration === ratio.configuration && summary.load === ratio.load)!.point;
    const tcp = expectedMedian((p) => p.transport === 'tcp' && p.fdCache === point.fdCache && p.clients === point.clients);
    const udp = expectedMedian((p) => p.transport === 'udp' && p.fdCache === point.fdCache && p.clients === point.clients);
    assert.equal(ratio.ratio, Math.round((tcp / udp) * 1000) / 1000);
  }
  assert.equal(fdCache.length, 4);
  for (const ratio of fdCache) assert.ok(Math.abs(ratio.ratio - 1.5) < 0.1, `${ratio.configuration}: ${ratio.ratio}`);
  const withCache = report.data.points.find((summary) => summary.point.fdCache === 8)!;
  assert.equal(withCache.fdCacheHitRate, 0.9);
  assert.equal(withCache.fdRequestsPer1000Operations, 100);
  assert.equal(withCache.storeRoundTripsPerCall, 4, 'round trips per completed call');
  assert.equal(withCache.handOffsPerCall, 0.5);
});

test('sections that do not apply are left out; caveats and published figures are there', async () => {
  const markdown = await readFile(report.markdown, 'utf8');
  assert.match(markdown, /## TCP \/ UDP/);
  assert.match(markdown, /## fd cache/);
  assert.doesNotMatch(markdown, /heap vs scan/);
  assert.doesNotMatch(markdown, /## Worker count/);
  assert.match(markdown, /Run failed \(ERR_SWITCHBOARD_BENCH_PROCESS\)/);
  assert.match(markdown, /Invalid runs left out: UDP, no fd-cache at 20, 1 of 3 run\(s\): generator: a process at 97% of a core/);
  assert.match(markdown, /No per-worker counters in the proxy's metrics: TCP, fd-cache 8 at 10 /);
  assert.equal((markdown.match(/No per-worker counters/g) ?? []).length, 1);
  assert.doesNotMatch(markdown, /predates the lab's rules/);
  assert.match(markdown, /CPU budget: none recorded: the proxy, its Redis and the generator shared the 2 cores allowed \(0-1\)\./, 'the setup is written from the records');
  assert.doesNotMatch(markdown, /both cores/);
  assert.match(markdown, /Machine speed: a fixed CPU workload on the proxy's CPUs, timed before each of \d+ runs, took 100\.0–160\.0 ms \(the slowest 60% above the fastest\)\. ⚠/, 'the speed probes\' spread, with a warning past 10%');
  assert.match(markdown, /> \*\*Published \(study 002 Fig\. 4\)\.\*\* TCP rises to \*\*66–78%\*\* of UDP\./);
  const [withOurs, without] = report.data.published;
  const expected = Math.round((expectedMedian((p) => p.transport === 'tcp' && p.fdCache === 8 && p.clients === 20) / expectedMedian((p) => p.transport === 'udp' && p.fdCache === 0 && p.clients === 20)) * 10000) / 10000;
  assert.equal(withOurs?.ours?.estimate, expected);
  assert.equal(withOurs?.verdict, verdict({ value: 0.66, shape: 'ratio' }, withOurs?.ours));
  assert.deepEqual(withOurs?.band, [0.44, 0.99]);
  assert.equal(without?.ours, undefined);
  assert.equal(without?.verdict, 'no valid data');
  assert.match(markdown, /\*\*How a published figure is judged\.\*\*.*divided and multiplied by 1\.5/);
  const html = await readFile(report.html, 'utf8');
  assert.match(html, /<strong>66–78%<\/strong>/);
});

test('a result set of schema 1 (before the rules) is still read, and the report says it predates them', async () => {
  const legacy = await mkdtemp(join(tmpdir(), 'report-legacy-'));
  try {
    await writeFile(join(legacy, 'experiment.json'), JSON.stringify(config));
    await writeFile(join(legacy, 'results.jsonl'), `${records.map((record) => JSON.stringify({ ...record, schema: 'switchboard-experiment/1' })).join('\n')}\n`);
    const written = await writeReport(legacy);
    assert.ok(written.data.setup.legacy);
    assert.match(await readFile(written.markdown, 'utf8'), /This result set predates the lab's rules/);
  } finally {
    await rm(legacy, { recursive: true, force: true });
  }
});

test('an unfinished set says how many runs are missing; runs of different code are named', async () => {
  const partial = await mkdtemp(join(tmpdir(), 'report-partial-'));
  try {
    const first = { commit: '1'.repeat(40), modified: false };
    const second = { commit: '2'.repeat(40), modified: false };
    // The first repeat of every point and one run of the second, from two commits; the failed run is not finished.
    const chosen = records.filter((record) => record.repeat === 0 || (record.repeat === 1 && record === records.find((other) => other.repeat === 1)));
    const coded = chosen.map((record) => ({ ...record, code: record.repeat === 0 ? first : second }));
    await writeFile(join(partial, 'experiment.json'), JSON.stringify({ ...config, repeats: 3 }));
    await writeFile(join(partial, 'results.jsonl'), `${coded.map((record) => JSON.stringify(record)).join('\n')}\n`);
    const written = await writeReport(partial);
    assert.deepEqual(written.data.setup.completeness, { finished: 9, expected: 24 });
    assert.deepEqual(written.data.setup.code, { versions: [first, second], unknown: 0 });
    const markdown = await readFile(written.markdown, 'utf8');
    assert.match(markdown, /Incomplete result set:\*\* 9 of 24 runs finished/);
    assert.match(markdown, /recorded with 2 code versions \(1111111, 2222222\)/);
    assert.match(markdown, /Code measured: 2 versions, 1111111, 2222222 ⚠/);
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
});

test('configuration labels name an extra key only where the point has it (keys `implies:` sets for other points)', async () => {
  const implied = await mkdtemp(join(tmpdir(), 'report-implied-'));
  try {
    // At 20 clients the transactions are shared, which implies fd-request-wait; at 10 they are owned.
    const withExtra = records.map((record) => {
      const extra: Record<string, string> = record.point.clients === 20 ? { transactions: 'shared', 'fd-request-wait': 'true' } : { transactions: 'owned' };
      const point = { ...record.point, extra };
      return { ...record, point, pointKey: pointKey(point) };
    });
    await writeFile(join(implied, 'experiment.json'), JSON.stringify(config));
    await writeFile(join(implied, 'results.jsonl'), `${withExtra.map((record) => JSON.stringify(record)).join('\n')}\n`);
    const written = await writeReport(implied);
    const labels = new Set(written.data.points.map((summary) => summary.configuration.replace(/^.*?(transactions)/, '$1')));
    assert.deepEqual([...labels].sort(), ['transactions owned', 'transactions shared, fd-request-wait true']);
  } finally {
    await rm(implied, { recursive: true, force: true });
  }
});

test('a finished set of one commit has no completeness or code caveat', async () => {
  const whole = await mkdtemp(join(tmpdir(), 'report-whole-'));
  try {
    const code = { commit: 'a'.repeat(40), modified: false };
    const finished = records.map((record) => (record.result === undefined ? { ...record, error: undefined, invalid: ['generator: out of its budget'] } : record));
    await writeFile(join(whole, 'experiment.json'), JSON.stringify(config));
    await writeFile(join(whole, 'results.jsonl'), `${finished.map((record) => JSON.stringify({ ...record, code })).join('\n')}\n`);
    const written = await writeReport(whole);
    assert.deepEqual(written.data.setup.completeness, { finished: 24, expected: 24 });
    const markdown = await readFile(written.markdown, 'utf8');
    assert.doesNotMatch(markdown, /Incomplete|code versions|Modified code/);
    assert.match(markdown, /Code measured: commit aaaaaaa\./);
  } finally {
    await rm(whole, { recursive: true, force: true });
  }
});

test('a run whose proxy CPUs carried other load is left out, even when recorded before the runner judged it', async () => {
  const foreign = await mkdtemp(join(tmpdir(), 'report-foreign-'));
  try {
    const budget = { method: 'cgroup', proxy: { cpus: '0', quotaCores: 1 }, generator: { cpus: '1' }, generatorCores: 1 };
    const isTarget = (record: ExperimentRecord): boolean => record.point.transport === 'udp' && record.point.fdCache === 8 && record.point.clients === 10;
    // The proxy used 60% of CPU 0, which was 95% busy: 35% of a core was someone else's.
    const judged = (quick: boolean) => records.map((record) => (record.result === undefined ? record : { ...record, quick, budget, result: { ...record.result, cpus: { busyPercent: { 0: isTarget(record) && record.repeat === 1 ? 95 : 61, 1: 40 }, stealPercent: {} }, proxy: { ...record.result.proxy!, cpuPercentTotal: 60 } } }));
    await writeFile(join(foreign, 'experiment.json'), JSON.stringify(config));
    await writeFile(join(foreign, 'results.jsonl'), `${judged(false).map((record) => JSON.stringify(record)).join('\n')}\n`);
    const written = await writeReport(foreign);
    const target = written.data.points.find((summary) => summary.point.transport === 'udp' && summary.point.fdCache === 8 && summary.point.clients === 10)!;
    assert.equal(target.validRepeats, 2);
    assert.match(target.invalidReasons.join(), /^foreign load: the proxy's CPUs \(0\) were 35% of a core busy/);
    assert.ok(written.data.points.every((summary) => summary.key === target.key || !summary.invalidReasons.join().includes('foreign load')), 'CPU 0 at 61% beside a proxy at 60% is no foreign load');
    await writeFile(join(foreign, 'results.jsonl'), `${judged(true).map((record) => JSON.stringify(record)).join('\n')}\n`);
    const quick = await writeReport(foreign);
    assert.deepEqual(quick.data.points.find((summary) => summary.key === target.key)!.invalidReasons, [], 'a quick smoke run shares its CPUs by design');
  } finally {
    await rm(foreign, { recursive: true, force: true });
  }
});

test('charts: numeric load axes, error bars, a published chart', async () => {
  const throughput = await readFile(report.charts.find((file) => file.endsWith('throughput.svg'))!, 'utf8');
  const ticks = [...throughput.matchAll(/<text[^>]*>(\d+)<\/text>/g)].map((match) => Number(match[1]));
  assert.ok(ticks.includes(10) && ticks.includes(20));
  assert.ok(report.charts.some((file) => file.endsWith('published.svg')), 'the published figure is drawn beside ours');
});

test('no results: a coded error, for an empty results.jsonl and for a missing directory', async () => {
  const empty = await mkdtemp(join(tmpdir(), 'report-empty-'));
  try {
    await writeFile(join(empty, 'experiment.json'), JSON.stringify(config));
    await writeFile(join(empty, 'results.jsonl'), '');
    await assert.rejects(writeReport(empty), { code: 'ERR_SWITCHBOARD_REPORT_NO_RESULTS' });
    await assert.rejects(writeReport(join(empty, 'missing')), { code: 'ERR_SWITCHBOARD_REPORT_NO_RESULTS' });
    await mkdir(join(empty, 'only-config'));
    await writeFile(join(empty, 'only-config', 'experiment.json'), JSON.stringify(config));
    await assert.rejects(writeReport(join(empty, 'only-config')), { code: 'ERR_SWITCHBOARD_REPORT_NO_RESULTS' });
  } finally {
    await rm(empty, { recursive: true, force: true });
  }
});

test('a set recorded before the CPUs online were says how many /proc/stat listed, not only those its recorder was allowed', async () => {
  const { machineOfSet } = await import('./report-data.js');
  const record = records.find((candidate) => candidate.result !== undefined) as ExperimentRecord & { result: BenchResult };
  const withCpus = { ...record, result: { ...record.result, cpus: { busyPercent: { '0': 90, '1': 20 }, stealPercent: { '0': 0, '1': 0 } } } };
  assert.equal(machineOfSet([record]).cpusOnline, undefined, 'nothing to tell it from');
  assert.equal(machineOfSet([record, withCpus]).cpusOnline, 2);
  const recorded = { ...withCpus, machine: { ...MACHINE, cpusOnline: 4 } };
  assert.equal(machineOfSet([recorded]).cpusOnline, 4, 'a recorded count is kept');
});

test('a ladder run to a bound beyond one T1: the Peaks table brackets each point at p99 <= 500 ms from its steps, medians over runs', async () => {
  const laddered = await mkdtemp(join(tmpdir(), 'report-t1-'));
  try {
    const search = { from: 100, to: 9000, factor: 1.5, refine: 3, success: 0.999, achieved: 0.95, arrivals: 'deterministic' as const, seed: true, p99Ms: 2000 };
    const step = (rate: number, p99Ms: number, outcome: 'pass' | 'fail' = 'pass') => ({ rate, outcome, p99Ms });
    // TCP: a standing queue past 761 calls/s (p99 over one T1 from 1142 on); UDP keeps the bound to its peak.
    const withLadders = records.map((record) => {
      const tcp = record.point.transport === 'tcp';
      const steps = tcp ? [step(507, 12), step(761, 78 + record.repeat), step(1142, 762), step(1713, 2515, 'fail'), step(1628, 1321)] : [step(507, 5), step(761, 6), step(981, 38 + record.repeat), step(1142, 4968, 'fail')];
      return { ...record, peak: { search, rate: tcp ? 1628 : 981, steps } };
    });
    await writeFile(join(laddered, 'experiment.json'), JSON.stringify({ ...config, peak: search }));
    await writeFile(join(laddered, 'results.jsonl'), `${withLadders.map((r) => JSON.stringify(r)).join('\n')}\n`);
    const written = await writeReport(laddered);
    const tcp = written.data.points.find((summary) => summary.point.transport === 'tcp' && summary.point.clients === 20);
    const udp = written.data.points.find((summary) => summary.point.transport === 'udp' && summary.point.clients === 20);
    assert.deepEqual(tcp?.peakAtT1, { atLeast: 761, below: 1142 });
    assert.deepEqual(udp?.peakAtT1, { atLeast: 981, below: 1142 });
    const markdown = await readFile(written.markdown, 'utf8');
    assert.match(markdown, /\| with p99 ≤ 500 ms \(one T1\) \|/);
    assert.match(markdown, /\| ≥ 761, < 1,142 \|/);
    assert.match(markdown, /lets a saturated proxy keep a queue standing in its socket buffers \(TCP's, or the UDP socket's receive buffer/);
    assert.equal(written.data.setup.peakStarts, undefined, 'one lowest rate: said once');
    assert.match(markdown, /offered rates from 100 calls\/s up by ×1\.5 to 9000 \(where the lowest failed, down by ×1\.5 to 29\.6\)/);
    // The lowest rate lowered between sittings for the points that passed none: both said, with their runs.
    const lowered = withLadders.map((record, index) => (index < 3 ? { ...record, peak: { ...record.peak, search: { ...search, from: 25 } } } : record));
    await writeFile(join(laddered, 'results.jsonl'), `${lowered.map((r) => JSON.stringify(r)).join('\n')}\n`);
    const mixed = await writeReport(laddered);
    assert.deepEqual(mixed.data.setup.peakStarts, [{ from: 100, runs: withLadders.filter((r) => r.result !== undefined).length - 3 }, { from: 25, runs: 3 }]);
    assert.match(await readFile(mixed.markdown, 'utf8'), /offered rates from 100 or 25 calls\/s \(100 in \d+ runs, 25 in 3 runs: the lowest rate was lowered between sittings/);
  } finally {
    await rm(laddered, { recursive: true, force: true });
  }
});

test('a ladder bound of one T1 or less: no bracket column', async () => {
  assert.equal(report.data.points.every((summary) => summary.peakAtT1 === undefined), true);
  assert.doesNotMatch(await readFile(report.markdown, 'utf8'), /one T1\)/);
});

test('a point that ran no ladder (overloaded at its source\'s capacity) is marked, and its success past capacity keeps it from no comparison', async () => {
  const overloaded = await mkdtemp(join(tmpdir(), 'report-overloaded-'));
  try {
    const withCapacity = records.map((record) => {
      if (record.point.transport !== 'tcp' || record.result === undefined) return record;
      const calls = { ...record.result.calls, successRatio: 0.7 };
      const step = { factor: 2, offeredRate: 2000, attempted: 10, completed: 7, goodputPerSecond: 700, goodputRatio: 0.7, successRatio: 0.7, failures: { 'status:503': 3 } };
      return { ...record, result: { ...record.result, calls }, capacity: { rate: 1000, of: 'elsewhere' }, overload: [step] };
    });
    await writeFile(join(overloaded, 'experiment.json'), JSON.stringify(config));
    await writeFile(join(overloaded, 'results.jsonl'), `${withCapacity.map((record) => JSON.stringify(record)).join('\n')}\n`);
    const written = await writeReport(overloaded);
    for (const summary of written.data.points) {
      assert.equal(summary.overloadStep, summary.point.transport === 'tcp' ? 2 : undefined, summary.configuration);
      assert.equal(summary.meetsSuccess, true, summary.configuration);
    }
    assert.ok(!written.data.caveats.some((caveat) => caveat.includes('never compared')), written.data.caveats.join('\n'));
    assert.match(await readFile(join(overloaded, 'report.md'), 'utf8'), /\(no ladder: its 2x overload step\)/);
  } finally {
    await rm(overloaded, { recursive: true, force: true });
  }
});

test('a registration run whose first scrape was answered far into its window has no counters (recorded before the bench refused them)', async () => {
  const late = await mkdtemp(join(tmpdir(), 'report-late-'));
  try {
    const withOverhang = records.map((record) => {
      if (record.result === undefined) return record;
      const beforeWindow = record.point.transport === 'udp' ? 1500 : 40; // of a 2 s window
      return { ...record, result: { ...record.result, registration: { workload: 'registration', mode: record.point.transport, clients: record.point.clients }, proxyCountersOverhangMs: { beforeWindow, afterWindow: 0 } } };
    });
    await writeFile(join(late, 'experiment.json'), JSON.stringify(config));
    await writeFile(join(late, 'results.jsonl'), `${withOverhang.map((record) => JSON.stringify(record)).join('\n')}\n`);
    const written = await writeReport(late);
    // One TCP point's counters were missing already (a stalled scrape in the shared records).
    const missingBefore = new Set(report.data.points.filter((summary) => summary.countersMissing).map((summary) => summary.key));
    for (const summary of written.data.points) assert.equal(summary.countersMissing, summary.point.transport === 'udp' || missingBefore.has(summary.key), summary.configuration);
    assert.ok(written.data.points.some((summary) => summary.point.transport === 'tcp' && !summary.countersMissing), 'an answer 40 ms into the window keeps its counters');
    assert.ok(written.data.caveats.some((caveat) => caveat.includes('answered too far into the window')));
  } finally {
    await rm(late, { recursive: true, force: true });
  }
});
