/**
 * The code a run measured: the git commit checked out where the experiment runs and whether the
 * sources the proxy and generator are built from (packages/, configs/, the lockfile) differed
 * from it. Every experiment record carries it, so a result set finished over several sittings
 * shows whether all its runs measured the same code, and a report can say which code it was.
 */
import { spawnSync } from 'node:child_process';

export interface CodeVersion {
  /** The commit checked out (40 hex digits). */
  readonly commit: string;
  /** The proxy's or generator's sources had changes not in `commit`. */
  readonly modified: boolean;
}

/** Paths whose changes alter what a run measures (results and reports under experiments/ do not). */
const MEASURED_PATHS = ['packages', 'configs', 'package-lock.json'];

/** The code version of the checkout at `cwd`; undefined outside a git checkout or without git. */
export function codeVersion(cwd: string = process.cwd()): CodeVersion | undefined {
  const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8' });
  if (head.status !== 0 || !/^[0-9a-f]{40}$/.test(head.stdout.trim())) return undefined;
  const status = spawnSync('git', ['status', '--porcelain', '--untracked-files=no', '--', ...MEASURED_PATHS], { cwd, encoding: 'utf8' });
  return { commit: head.stdout.trim(), modified: status.status !== 0 || status.stdout.trim() !== '' };
}

/** The short form of a code version for prose: `1234abc`, `1234abc (modified)`. */
export function describeCodeVersion(code: CodeVersion): string {
  return `${code.commit.slice(0, 7)}${code.modified ? ' (modified)' : ''}`;
}

/** The distinct code versions of some records, in the order first seen; records without one are counted apart. */
export function distinctCodeVersions(records: ReadonlyArray<{ readonly code?: CodeVersion }>): { readonly versions: readonly CodeVersion[]; readonly unknown: number } {
  const versions = new Map<string, CodeVersion>();
  let unknown = 0;
  for (const record of records) {
    if (record.code === undefined) unknown++;
    else versions.set(`${record.code.commit}${record.code.modified ? '+' : ''}`, record.code);
  }
  return { versions: [...versions.values()], unknown };
}
