import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CpuBudget, describeBudget } from './cpu-budget.js';

test('no budget asked: none, with the generator\'s cores all of the machine\'s', () => {
  const budget = CpuBudget.create(undefined, 'none', 4);
  assert.deepEqual(budget.applied, { method: 'none', proxy: {}, generator: {}, generatorCores: 4 });
  assert.match(describeBudget(budget.applied), /^no CPU budget: the proxy, its Redis and the generator shared every CPU/);
});

test('the words of a budget say what was applied', () => {
  assert.equal(describeBudget({ method: 'cgroup', proxy: { cpus: '0', quotaCores: 1 }, generator: { cpus: '1' }, generatorCores: 1 }), 'the proxy and its Redis on CPU 0 with a quota of 1 core (a cgroup v1 cpuset/cpu group), the generator on CPU 1');
  assert.equal(describeBudget({ method: 'taskset', proxy: { cpus: '0' }, generator: { cpus: '1' }, generatorCores: 1, note: 'cgroup v1 not writable here' }), 'the proxy and its Redis on CPU 0 (taskset affinity), the generator on CPU 1 (cgroup v1 not writable here)');
});

test('a cgroup budget holds a process and is removed after it', async (t) => {
  const budget = CpuBudget.create({ proxyCpus: '0', proxyQuota: 0.5, generatorCpus: '0' }, 'unit-test', 1);
  if (budget.applied.method !== 'cgroup') {
    t.skip(`cgroup v1 not writable here (${budget.applied.method})`);
    return;
  }
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    await budget.enter(child.pid!);
    const cgroups = readFileSync(`/proc/${child.pid}/cgroup`, 'utf8');
    assert.match(cgroups, new RegExp(`cpuset:/switchboard-lab-${process.pid}-unit-test`));
    assert.match(cgroups, new RegExp(`cpu(,cpuacct)?:/switchboard-lab-${process.pid}-unit-test`));
    assert.equal(readFileSync(`/sys/fs/cgroup/cpu/switchboard-lab-${process.pid}-unit-test/cpu.cfs_quota_us`, 'utf8').trim(), '50000');
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    await budget.release();
  }
  assert.ok(!existsSync(`/sys/fs/cgroup/cpuset/switchboard-lab-${process.pid}-unit-test`));
  assert.ok(!existsSync(`/sys/fs/cgroup/cpu/switchboard-lab-${process.pid}-unit-test`));
});
