import assert from 'node:assert/strict';
import { availableParallelism, cpus } from 'node:os';
import { test } from 'node:test';
import { describeCpus, describeMachine, machineFacts } from './machine-facts.js';

const facts = { cpu: 'AMD EPYC', cores: 1, memoryGiB: 24, node: 'v20.20.2', platform: 'linux 6.18 x64', cpusAllowed: '1', date: '2026-12-04T00:00:00.000Z' };

test('the machine\'s CPUs and the recording process\'s share are told apart', () => {
  const recorded = machineFacts();
  assert.equal(recorded.cpusOnline, cpus().length);
  assert.equal(recorded.cores, availableParallelism());
  assert.equal(describeCpus({ ...facts, cpusOnline: 2 }), '2 CPUs, the recording process allowed 1 (CPU 1)');
  assert.equal(describeCpus({ ...facts, cores: 2, cpusAllowed: '0-1', cpusOnline: 2 }), '2 CPUs, the recording process allowed 2 (CPUs 0-1)');
});

test('facts recorded before cpusOnline say only what the process was allowed', () => {
  assert.equal(describeMachine(facts), 'AMD EPYC, the recording process allowed 1 (CPU 1), 24 GiB, Node v20.20.2, linux 6.18 x64; 2026-12-04T00:00:00.000Z');
});
