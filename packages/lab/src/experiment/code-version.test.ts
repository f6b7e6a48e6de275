import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeVersion, describeCodeVersion, distinctCodeVersions, sameCode } from './code-version.js';

function git(cwd: string, ...args: string[]): string {
  const result = spawnSync('git', ['-c', 'user.name=lab', '-c', 'user.email=lab@example.invalid', ...args], { cwd, encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.trim();
}

test('codeVersion: the commit, its measured sources (unchanged by commits elsewhere), and modified only when measured sources differ from it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'code-version-'));
  try {
    assert.equal(codeVersion(dir), undefined, 'not a checkout');
    git(dir, 'init', '-q');
    mkdirSync(join(dir, 'packages'));
    mkdirSync(join(dir, 'experiments'));
    writeFileSync(join(dir, 'packages', 'a.ts'), 'one');
    writeFileSync(join(dir, 'experiments', 'results.jsonl'), '');
    git(dir, 'add', '.');
    git(dir, 'commit', '-q', '-m', 'first');
    const head = git(dir, 'rev-parse', 'HEAD');
    const first = codeVersion(dir);
    assert.match(first?.sources ?? '', /^[0-9a-f]{12}$/, 'the measured sources are named');
    assert.deepEqual(first, { commit: head, modified: false, sources: first?.sources });
    writeFileSync(join(dir, 'experiments', 'results.jsonl'), '{}\n');
    assert.deepEqual(codeVersion(dir), first, 'results are not measured code');
    git(dir, 'commit', '-q', '-am', 'results only');
    const resultsCommit = codeVersion(dir);
    assert.notEqual(resultsCommit?.commit, head);
    assert.equal(resultsCommit?.sources, first?.sources, 'a commit of results only keeps the sources');
    writeFileSync(join(dir, 'packages', 'a.ts'), 'two');
    assert.equal(codeVersion(dir)?.modified, true);
    assert.equal(describeCodeVersion({ commit: head, modified: true }), `${head.slice(0, 7)} (modified)`);
    git(dir, 'commit', '-q', '-am', 'code');
    assert.notEqual(codeVersion(dir)?.sources, first?.sources, 'a commit of code changes the sources');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('distinctCodeVersions: one entry per commit and modified flag, records without a version counted apart', () => {
  const a = { commit: 'a'.repeat(40), modified: false };
  const b = { commit: 'b'.repeat(40), modified: false };
  const found = distinctCodeVersions([{ code: a }, { code: b }, { code: { ...a } }, { code: { ...a, modified: true } }, {}]);
  assert.deepEqual(found.versions, [a, b, { ...a, modified: true }]);
  assert.equal(found.unknown, 1);
});

test('distinctCodeVersions: commits with the same measured sources are one version; a record without sources joins its commit', () => {
  const a = { commit: 'a'.repeat(40), modified: false, sources: 's1' };
  const docsOnly = { commit: 'c'.repeat(40), modified: false, sources: 's1' };
  const b = { commit: 'b'.repeat(40), modified: false, sources: 's2' };
  const legacy = { commit: 'a'.repeat(40), modified: false };
  assert.deepEqual(distinctCodeVersions([{ code: a }, { code: docsOnly }, { code: b }]).versions, [a, b]);
  assert.deepEqual(distinctCodeVersions([{ code: legacy }, { code: a }, { code: docsOnly }]).versions, [a], 'the legacy record learns its sources');
  assert.equal(sameCode(a, docsOnly), true);
  assert.equal(sameCode(a, b), false);
  assert.equal(sameCode(a, { ...a, modified: true }), false, 'a modified checkout is never the same code');
  assert.equal(sameCode(legacy, a), true, 'the same commit');
});
