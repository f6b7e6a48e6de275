/**
 * The code a run measured: the git commit checked out where the experiment runs, the identity of
 * the sources the proxy and generator are built from (packages/, configs/, the lockfile) at that
 * commit, and whether the checkout differed from them. Every experiment record carries it, so a
 * result set finished over several sittings shows whether all its runs measured the same code
 * (commits that differ only in docs or results do), and a report can say which code it was.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';

export interface CodeVersion {
  /** The commit checked out (40 hex digits). */
  readonly commit: string;
  /** The proxy's or generator's sources had changes not in `commit`. */
  readonly modified: boolean;
  /**
   * The measured sources at `commit`: a hash of the git object ids of MEASURED_PATHS (12 hex
   * digits). Equal for two commits that differ only elsewhere. Absent in records made before it.
   */
  readonly sources?: string;
}

/** Paths whose changes alter what a run measures (results and reports under experiments/ do not). */
const MEASURED_PATHS = ['packages', 'configs', 'package-lock.json'];

/** The code version of the checkout at `cwd`; undefined outside a git checkout or without git. */
export function codeVersion(cwd: string = process.cwd()): CodeVersion | undefined {
  const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8' });
  if (head.status !== 0 || !/^[0-9a-f]{40}$/.test(head.stdout.trim())) return undefined;
  const status = spawnSync('git', ['status', '--porcelain', '--untracked-files=no', '--', ...MEASURED_PATHS], { cwd, encoding: 'utf8' });
  const objects = spawnSync('git', ['ls-tree', 'HEAD', '--', ...MEASURED_PATHS], { cwd, encoding: 'utf8' });
  const sources = objects.status === 0 ? createHash('sha1').update(objects.stdout).digest('hex').slice(0, 12) : undefined;
  return { commit: head.stdout.trim(), modified: status.status !== 0 || status.stdout.trim() !== '', ...(sources === undefined ? {} : { sources }) };
}

/** Two versions name the same code: the same commit, or the same measured sources where both recorded them, and the same modified flag. */
function sameVersion(a: CodeVersion, b: CodeVersion): boolean {
  return a.modified === b.modified && (a.commit === b.commit || (a.sources !== undefined && a.sources === b.sources));
}

/** Two runs measured the same code: the same version, neither from a modified checkout (whose changes are unknown). */
export function sameCode(a: CodeVersion, b: CodeVersion): boolean {
  return !a.modified && !b.modified && sameVersion(a, b);
}

/** The short form of a code version for prose: `1234abc`, `1234abc (modified)`. */
export function describeCodeVersion(code: CodeVersion): string {
  return `${code.commit.slice(0, 7)}${code.modified ? ' (modified)' : ''}`;
}

/**
 * The distinct code versions of some records, in the order first seen (commits with the same
 * measured sources are one version: the first seen names it); records without one are counted apart.
 */
export function distinctCodeVersions(records: ReadonlyArray<{ readonly code?: CodeVersion }>): { readonly versions: readonly CodeVersion[]; readonly unknown: number } {
  const versions: CodeVersion[] = [];
  let unknown = 0;
  for (const record of records) {
    if (record.code === undefined) unknown++;
    else {
      const code = record.code;
      const index = versions.findIndex((version) => sameVersion(version, code));
      if (index < 0) versions.push(code);
      // A record made before versions had sources learns them from a later run of its commit.
      else if (versions[index]?.sources === undefined && code.sources !== undefined && versions[index]?.commit === code.commit) versions[index] = { ...(versions[index] as CodeVersion), sources: code.sources };
    }
  }
  return { versions, unknown };
}
