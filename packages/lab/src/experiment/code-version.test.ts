import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeVersion, describeCodeVersion, distinctCodeVersions } from './code-version.js';

function git(cwd: string, ...args: string[]): string {
  const result = spawnSync('git', ['-c', 'user.name=lab', '-c', 'user.email=lab@example.invalid', ...args], { cwd, encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.trim();
}

test('codeVersion: the commit, and modified only when measured sources differ from it', () => {
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
    assert.deepEqual(codeVersion(dir), { commit: head, modified: false });
    writeFileSync(join(dir, 'experiments', 'results.jsonl'), '{}\n');
    assert.deepEqual(codeVersion(dir), { commit: head, modified: false }, 'results are not measured code');
    writeFileSync(join(dir, 'packages', 'a.ts'), 'two');
    assert.deepEqual(codeVersion(dir), { commit: head, modified: true });
    assert.equal(describeCodeVersion({ commit: head, modified: true }), `${head.slice(0, 7)} (modified)`);
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
