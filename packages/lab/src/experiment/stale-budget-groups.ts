import { readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';

/** Where the budgets' cgroups are made (cgroup v1). */
export const CPU_ROOT = '/sys/fs/cgroup/cpu';
export const CPUSET_ROOT = '/sys/fs/cgroup/cpuset';
/** A budget's cgroup is named `switchboard-lab-<pid of the lab process>-<tag>`. */
export const GROUP_PREFIX = 'switchboard-lab-';

const GROUP_NAME = new RegExp(`^${GROUP_PREFIX}(\\d+)-`);

/** Whether a process with this pid exists (EPERM: it does, another user's). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the budget cgroups that a lab process left behind when it ended without releasing them
 * (SIGTERM or SIGKILL in the middle of a run: the process exits at once, its proxy is killed, and
 * its empty cgroups stay). Only groups named after a process that no longer exists, and only empty
 * ones (the kernel refuses to remove a cgroup with processes in it). Returns the paths removed.
 * Never throws: a root that cannot be read has nothing to remove.
 */
export function removeStaleBudgetGroups(roots: readonly string[] = [CPU_ROOT, CPUSET_ROOT], alive: (pid: number) => boolean = processAlive): string[] {
  const removed: string[] = [];
  for (const root of roots) {
    let names: string[];
    try {
      names = readdirSync(root);
    } catch {
      continue;
    }
    for (const name of names) {
      const pid = GROUP_NAME.exec(name)?.[1];
      if (pid === undefined || alive(Number(pid))) continue;
      try {
        rmdirSync(join(root, name));
        removed.push(join(root, name));
      } catch {
        // Not empty, or not ours to remove: left as it is.
      }
    }
  }
  return removed;
}
