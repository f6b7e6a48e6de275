/**
 * The CPU budget of an experiment point: the proxy (with its Redis) on CPUs of its own, apart
 * from the generator, so that a point measures the proxy and not the two fighting over cores.
 *
 * - Where cgroup v1 `cpu` and `cpuset` are writable (as root), the proxy and Redis go into a
 *   cgroup of their own: `cpuset.cpus` = the proxy's CPUs and, when a quota is given,
 *   `cpu.cfs_quota_us` = quota × period (a budget in cores, possibly fractional).
 * - Otherwise their affinity is set with `taskset` (no quota).
 * - The generator's processes run under `taskset -c` on the generator's CPUs.
 * Processes forked later (workers, replacements) inherit both. The budget that was really applied
 * is recorded in each result (`AppliedBudget`), and reports say it in words.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpuCount, descendants } from '@switchboard/bench';
import { CPU_ROOT, CPUSET_ROOT, GROUP_PREFIX, removeStaleBudgetGroups } from './stale-budget-groups.js';

export interface BudgetConfig {
  /** CPU list of the proxy and its Redis (taskset syntax: "0", "0-1", "0,2"). */
  readonly proxyCpus?: string;
  /** A CPU quota for the proxy and Redis in cores (cgroup cpu.cfs_quota_us); needs cgroup v1 cpu. */
  readonly proxyQuota?: number;
  /** CPU list of the generator processes. */
  readonly generatorCpus?: string;
}

export interface AppliedBudget {
  /** How the proxy's budget was enforced: cgroup (cpuset and, with a quota, cpu), taskset, or none. */
  readonly method: 'cgroup' | 'taskset' | 'none';
  readonly proxy: { readonly cpus?: string; readonly quotaCores?: number };
  readonly generator: { readonly cpus?: string };
  /** Cores the generator may use (its CPU list, or every CPU allowed), the limit its summed CPU is held against. */
  readonly generatorCores: number;
  /** Why a wanted part of the budget could not be applied. */
  readonly note?: string;
}

/** Whether this process has swept the cgroups that ended lab processes left (once per process). */
let staleGroupsSwept = false;

/** A budget in force for one point: processes are added to it, and `release` removes the cgroups. */
export class CpuBudget {
  readonly applied: AppliedBudget;
  readonly #groups: string[];

  private constructor(applied: AppliedBudget, groups: string[]) {
    this.applied = applied;
    this.#groups = groups;
  }

  /**
   * Prepares the budget: makes the cgroups when it can (named after this process and `tag`), or
   * falls back to taskset. `allowedCores` is the machine's CPU count.
   */
  static create(config: BudgetConfig | undefined, tag: string, allowedCores: number): CpuBudget {
    const generatorCpus = config?.generatorCpus;
    const generatorCores = generatorCpus === undefined ? allowedCores : (cpuCount(generatorCpus) ?? allowedCores);
    const generator = generatorCpus === undefined ? {} : { cpus: generatorCpus };
    if (config?.proxyCpus === undefined && config?.proxyQuota === undefined) return new CpuBudget({ method: 'none', proxy: {}, generator, generatorCores }, []);
    const name = `${GROUP_PREFIX}${process.pid}-${tag}`;
    const groups: string[] = [];
    if (!staleGroupsSwept) {
      staleGroupsSwept = true;
      removeStaleBudgetGroups();
    }
    try {
      if (config.proxyCpus !== undefined) {
        const group = join(CPUSET_ROOT, name);
        mkdirSync(group);
        groups.push(group);
        writeFileSync(join(group, 'cpuset.mems'), readFileSync(join(CPUSET_ROOT, 'cpuset.mems'), 'utf8').trim());
        writeFileSync(join(group, 'cpuset.cpus'), config.proxyCpus);
      }
      if (config.proxyQuota !== undefined) {
        const group = join(CPU_ROOT, name);
        mkdirSync(group);
        groups.push(group);
        const period = 100_000;
        writeFileSync(join(group, 'cpu.cfs_period_us'), String(period));
        writeFileSync(join(group, 'cpu.cfs_quota_us'), String(Math.round(config.proxyQuota * period)));
      }
      return new CpuBudget({ method: 'cgroup', proxy: { ...(config.proxyCpus === undefined ? {} : { cpus: config.proxyCpus }), ...(config.proxyQuota === undefined ? {} : { quotaCores: config.proxyQuota }) }, generator, generatorCores }, groups);
    } catch (error) {
      for (const group of groups.reverse()) removeGroup(group);
      const note = `cgroup v1 not writable here (${(error as Error).message.split('\n')[0]}): ${config.proxyCpus === undefined ? 'no CPU budget' : 'taskset only'}${config.proxyQuota === undefined ? '' : ', no quota'}`;
      if (config.proxyCpus === undefined) return new CpuBudget({ method: 'none', proxy: {}, generator, generatorCores, note }, []);
      return new CpuBudget({ method: 'taskset', proxy: { cpus: config.proxyCpus }, generator, generatorCores, note }, []);
    }
  }

  /** Puts a process and its descendants under the proxy's budget. */
  async enter(pid: number): Promise<void> {
    if (this.applied.method === 'none') return;
    const pids = [pid, ...(await descendants(pid))];
    for (const id of pids) {
      try {
        if (this.applied.method === 'cgroup') {
          for (const group of this.#groups) writeFileSync(join(group, 'cgroup.procs'), String(id));
        } else if (this.applied.proxy.cpus !== undefined) {
          const result = spawnSync('taskset', ['-a', '-p', '-c', this.applied.proxy.cpus, String(id)], { stdio: 'ignore' });
          if (result.status !== 0) throw new Error(`taskset -a -p -c ${this.applied.proxy.cpus} ${id} failed`);
        }
      } catch (error) {
        // A descendant that ended meanwhile (a short-lived helper) needs no budget; the process itself must get it.
        if (id === pid || existsSync(`/proc/${id}`)) throw error;
      }
    }
  }

  /** Removes the cgroups (their processes have ended). */
  async release(): Promise<void> {
    for (const group of this.#groups) {
      for (let attempt = 0; attempt < 20 && existsSync(group); attempt++) {
        if (removeGroup(group)) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }
}

function removeGroup(group: string): boolean {
  try {
    rmdirSync(group);
    return true;
  } catch {
    return !existsSync(group);
  }
}

/** Words for a report: what the budget of a point was. */
export function describeBudget(budget: AppliedBudget | undefined): string {
  if (budget === undefined || budget.method === 'none') return `no CPU budget: the proxy${budget?.generator.cpus === undefined ? ', its Redis and the generator shared every CPU' : ` and its Redis shared every CPU; the generator ran on CPU ${budget.generator.cpus}`}${budget?.note === undefined ? '' : ` (${budget.note})`}`;
  const proxy = [budget.proxy.cpus === undefined ? undefined : `CPU ${budget.proxy.cpus}`, budget.proxy.quotaCores === undefined ? undefined : `a quota of ${budget.proxy.quotaCores} core${budget.proxy.quotaCores === 1 ? '' : 's'}`].filter(Boolean).join(' with ');
  const generator = budget.generator.cpus === undefined ? 'the generator on any CPU' : `the generator on CPU ${budget.generator.cpus}`;
  return `the proxy and its Redis on ${proxy} (${budget.method === 'cgroup' ? 'a cgroup v1 cpuset/cpu group' : 'taskset affinity'}), ${generator}${budget.note === undefined ? '' : ` (${budget.note})`}`;
}
