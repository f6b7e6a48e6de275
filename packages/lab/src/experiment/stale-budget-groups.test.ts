import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { removeStaleBudgetGroups } from './stale-budget-groups.js';

test('the budget groups of lab processes that ended are removed; a living process\'s, a non-empty one and anything else stay', () => {
  const root = mkdtempSync(join(tmpdir(), 'budget-groups-'));
  const other = mkdtempSync(join(tmpdir(), 'budget-groups-'));
  try {
    for (const name of ['switchboard-lab-111-e6-0', 'switchboard-lab-111-e6-1', 'switchboard-lab-222-e6-0', 'switchboard-lab-333-e6-0', 'held-idle', 'switchboard-lab-x-1']) mkdirSync(join(root, name));
    writeFileSync(join(root, 'switchboard-lab-333-e6-0', 'tasks'), '4242\n');
    mkdirSync(join(other, 'switchboard-lab-111-e6-0'));
    const removed = removeStaleBudgetGroups([root, other, join(root, 'no-such-root')], (pid) => pid === 222);
    assert.deepEqual(removed.sort(), [join(other, 'switchboard-lab-111-e6-0'), join(root, 'switchboard-lab-111-e6-0'), join(root, 'switchboard-lab-111-e6-1')].sort());
    assert.equal(existsSync(join(root, 'switchboard-lab-222-e6-0')), true, 'its process lives');
    assert.equal(existsSync(join(root, 'switchboard-lab-333-e6-0')), true, 'not empty: the kernel would refuse it too');
    assert.equal(existsSync(join(root, 'held-idle')), true, 'not a budget group');
    assert.equal(existsSync(join(root, 'switchboard-lab-x-1')), true, 'no pid in its name');
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(other, { recursive: true, force: true });
  }
});

test('by default a pid is alive while its process exists', () => {
  const root = mkdtempSync(join(tmpdir(), 'budget-groups-'));
  try {
    mkdirSync(join(root, `switchboard-lab-${process.pid}-mine`));
    assert.deepEqual(removeStaleBudgetGroups([root]), [], 'this process');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
