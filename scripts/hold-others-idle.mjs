#!/usr/bin/env node
// `node scripts/hold-others-idle.mjs [CPUS] [--interval-ms N]`: keeps a reference run's CPUs its
// own on a machine where other work goes on (cgroup v1, as root).
//
// Every process outside the run is moved, once a second, into a cgroup `held-idle` that may use
// only CPUS (default: the last CPU, where the generator runs) and has `cpu.idle=1` (SCHED_IDLE:
// it gets only the time nobody else wants). The run is every process whose environment carries
// SWITCHBOARD_REFERENCE=1 (start the run, and this script, with it), and every process already
// in a cgroup of its own (the lab's `switchboard-lab-*` budgets). Kernel threads stay put.
// On SIGINT or SIGTERM every held process is moved back and the cgroups are removed.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';

const args = process.argv.slice(2);
const intervalIndex = args.indexOf('--interval-ms');
const intervalMs = intervalIndex >= 0 ? Number(args[intervalIndex + 1]) : 1000;
const positional = args.filter((arg, index) => !arg.startsWith('--') && (intervalIndex < 0 || index !== intervalIndex + 1));
const cpus = positional[0] ?? String(availableParallelism() - 1);
const MARK = 'SWITCHBOARD_REFERENCE=1';
const roots = { cpu: '/sys/fs/cgroup/cpu', cpuset: '/sys/fs/cgroup/cpuset' };
const held = { cpu: join(roots.cpu, 'held-idle'), cpuset: join(roots.cpuset, 'held-idle') };

function read(file) {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

mkdirSync(held.cpuset, { recursive: true });
writeFileSync(join(held.cpuset, 'cpuset.mems'), read(join(roots.cpuset, 'cpuset.mems')).trim());
writeFileSync(join(held.cpuset, 'cpuset.cpus'), cpus);
mkdirSync(held.cpu, { recursive: true });
writeFileSync(join(held.cpu, 'cpu.idle'), '1');

/** True when the process is in the root group of both controllers (so it is nobody's budget). */
function inRootGroups(pid) {
  const groups = read(`/proc/${pid}/cgroup`);
  if (groups === undefined) return false;
  const line = (controller) => groups.split('\n').find((entry) => entry.split(':')[1]?.split(',').includes(controller));
  return [line('cpu'), line('cpuset')].every((entry) => entry !== undefined && entry.endsWith(':/'));
}

function belongsToRun(pid) {
  const environ = read(`/proc/${pid}/environ`);
  return environ === undefined || environ.split('\0').includes(MARK);
}

function isKernelThread(pid) {
  // Kernel threads have an empty command line and no executable.
  return (read(`/proc/${pid}/cmdline`) ?? '') === '';
}

let moved = 0;
function sweep() {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === 1 || pid === process.pid || isKernelThread(pid) || !inRootGroups(pid) || belongsToRun(pid)) continue;
    try {
      writeFileSync(join(held.cpuset, 'cgroup.procs'), entry);
      writeFileSync(join(held.cpu, 'cgroup.procs'), entry);
      moved++;
    } catch {
      // It ended meanwhile, or cannot be moved (a kernel or real-time task): leave it.
    }
  }
}

function release() {
  clearInterval(timer);
  for (const controller of ['cpu', 'cpuset']) {
    for (let attempt = 0; attempt < 10 && existsSync(held[controller]); attempt++) {
      for (const pid of (read(join(held[controller], 'cgroup.procs')) ?? '').split('\n').filter(Boolean)) {
        try {
          writeFileSync(join(roots[controller], 'cgroup.procs'), pid);
        } catch {
          // Ended meanwhile.
        }
      }
      try {
        rmdirSync(held[controller]);
      } catch {
        // A process forked meanwhile: move it too on the next attempt.
      }
    }
  }
  console.error(`hold-others-idle: released (${moved} moves made)`);
  process.exit(0);
}

sweep();
const timer = setInterval(sweep, intervalMs);
process.on('SIGINT', release);
process.on('SIGTERM', release);
console.error(`hold-others-idle: every process outside the run held on CPU ${cpus} at SCHED_IDLE; stop with SIGINT or SIGTERM`);
