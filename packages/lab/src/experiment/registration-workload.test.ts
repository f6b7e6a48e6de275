import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { ladderKnee } from '../report/registration-section.js';
import { parseExperimentConfig } from './experiment-config.js';
import { experimentPoints } from './experiment-matrix.js';
import type { ExperimentPoint } from './experiment-record.js';
import { capacityReason, proxyConnectionCapacity, registrationMode } from './registration-workload.js';

const CONFIGS = fileURLToPath(new URL('../../../../configs/experiments/', import.meta.url));
const load = async (id: string) => parseExperimentConfig(parseYaml(await readFile(`${CONFIGS}${id}.yaml`, 'utf8')), `${id}.yaml`);

test('e5.yaml: a scale workload over every model, TCP and TLS, up to 38,000 connections; supervisor-handles only on the process-pool', async () => {
  const config = await load('e5');
  assert.equal(config.workload?.kind, 'scale');
  assert.deepEqual(config.workload?.kind === 'scale' ? config.workload.probeRates : [], [83, 167, 833]);
  const points = experimentPoints(config);
  for (const point of points) {
    assert.equal(point.extra?.['supervisor-handles'] !== undefined, point.model === 'process-pool', JSON.stringify(point));
    assert.equal(point.connection, 'persistent');
  }
  assert.equal(points.filter((point) => point.model === 'event-loop').length, 10, '2 transports x 5 sizes, no supervisor-handles dimension');
  assert.equal(points.filter((point) => point.model === 'process-pool').length, 20);
  const runnable = points.filter((point) => capacityReason(config.workload, point) === undefined);
  assert.ok(runnable.some((point) => point.model === 'event-loop' && point.clients === 15000), 'at least 15,000 for the process-bound models');
  assert.ok(runnable.some((point) => point.model === 'process-pool' && point.extra?.['supervisor-handles'] === 'release' && point.clients === 38000), 'more with release');
  assert.ok(!runnable.some((point) => point.clients === 38000 && !(point.model === 'process-pool' && point.extra?.['supervisor-handles'] === 'release')));
  const quick = experimentPoints(config, true);
  assert.ok(quick.every((point) => point.clients === 300));
  assert.equal(config.quick.repeats, 1);
});

test('e6.yaml: four registration modes (UDP, and TCP per transaction, with open, persistent), a 100% success ladder on a whole core', async () => {
  const config = await load('e6');
  assert.equal(config.workload?.kind, 'registration');
  assert.equal(config.workload?.kind === 'registration' ? config.workload.overload : undefined, undefined, 'overload is e6-overload.yaml');
  assert.equal(config.peak?.success, 1);
  assert.equal(config.budget?.proxyQuota, 1);
  const points = experimentPoints(config).filter((point) => point.model === 'event-loop');
  assert.deepEqual([...new Set(points.map(registrationMode))].sort(), ['per-transaction', 'persistent', 'persistent-open', 'udp']);
  assert.equal(points.length, 4);
  assert.ok(config.quick.peak !== undefined && config.quick.peak.to <= 400, 'the smoke run has a short ladder');
});

test('e6-overload.yaml: UDP and persistent TCP, overload off and on, control on taking the capacity control off found', async () => {
  const config = await load('e6-overload');
  const overload = config.workload?.kind === 'registration' ? config.workload.overload : undefined;
  assert.deepEqual(overload, { factors: [2, 4, 8], durationSeconds: 10, warmupSeconds: 35, capacityOf: { overload: 'off' } });
  const points = experimentPoints(config).filter((point) => point.model === 'event-loop');
  assert.deepEqual(points.map((point) => `${registrationMode(point)} ${point.extra?.overload}`), ['udp off', 'udp on', 'persistent off', 'persistent on'], 'each control-off point runs before its twin');
  assert.ok(config.budget !== undefined && config.budget.proxyQuota !== undefined && config.budget.proxyQuota < 0.5, 'a quota one generator CPU can overload 8x');
});

test('a bad workload is refused with its key named; persistent-open only for registration', () => {
  const base = { id: 'x', title: 'x', matrix: { clients: [10] } };
  assert.throws(() => parseExperimentConfig({ ...base, workload: { kind: 'held' } }, 'x.yaml'), /workload\.kind: must be calls, scale or registration/);
  assert.throws(() => parseExperimentConfig({ ...base, workload: { kind: 'scale', 'probe-rates': [] } }, 'x.yaml'), /workload\.probe-rates/);
  assert.throws(() => parseExperimentConfig({ ...base, workload: { kind: 'registration', overload: { factors: [0.5] } } }, 'x.yaml'), /workload\.overload/);
  assert.throws(() => parseExperimentConfig({ ...base, workload: { kind: 'registration', overload: { factors: [2], 'capacity-of': { overload: 'off' } } } }, 'x.yaml'), /capacity-of: overload: off is not a value of the extra key/);
  assert.throws(() => parseExperimentConfig({ ...base, workload: { kind: 'registration', overload: { factors: [2], capacity: 3 } } }, 'x.yaml'), /workload\.overload\.capacity: unknown key/);
  assert.throws(() => parseExperimentConfig({ ...base, workload: { kind: 'scale', hold: 3 } }, 'x.yaml'), /workload\.hold: unknown key/);
  assert.throws(() => parseExperimentConfig({ ...base, matrix: { clients: [10], connection: ['persistent-open'] } }, 'x.yaml'), /matrix\.connection/);
  assert.equal(parseExperimentConfig({ ...base, workload: { kind: 'registration' }, matrix: { clients: [10], connection: ['persistent-open'] } }, 'x.yaml').matrix.connection[0], 'persistent-open');
});

test('what a proxy can hold with 20,000 files per process', () => {
  const point = (model: ExperimentPoint['model'], handles?: string): ExperimentPoint => ({ model, workers: 2, state: 'local', fdCache: 0, idleStrategy: 'heap', transport: 'tcp', connection: 'persistent', calleeConnection: 'persistent', clients: 1, ...(handles === undefined ? {} : { extra: { 'supervisor-handles': handles } }) });
  assert.equal(proxyConnectionCapacity(point('event-loop'), 20_000), 19_700);
  assert.equal(proxyConnectionCapacity(point('process-pool', 'keep'), 20_000), 19_700, 'the supervisor keeps every handle');
  assert.equal(proxyConnectionCapacity(point('process-pool', 'release'), 20_000), 39_400, 'the workers share them');
  const workload = { kind: 'scale' as const, probeRates: [83], openRate: 1000, closeRate: 1000, expiresSeconds: 3600, fileLimit: 20_000 };
  assert.match(capacityReason(workload, { ...point('thread-pool'), clients: 38_000 }) ?? '', /^machine: 38000 connections exceed what its one process can hold/);
  assert.equal(capacityReason(undefined, { ...point('thread-pool'), clients: 38_000 }), undefined, 'calls workloads are not checked');
});

test('the knee: the first rate whose p99 is over twice the lowest rate\'s', () => {
  assert.equal(ladderKnee([{ rate: 250, p99Ms: 2, outcome: 'pass' }, { rate: 500, p99Ms: 3, outcome: 'pass' }, { rate: 1000, p99Ms: 9, outcome: 'pass' }, { rate: 1500, p99Ms: 40, outcome: 'fail' }]), 1000);
  assert.equal(ladderKnee([{ rate: 250, p99Ms: 2, outcome: 'pass' }, { rate: 500, p99Ms: 3, outcome: 'pass' }]), undefined);
  assert.equal(ladderKnee([]), undefined);
});
