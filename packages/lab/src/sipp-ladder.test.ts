import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { peakRatioText, stop, type LadderResult } from './sipp-ladder.js';

const ladder = (proxy: LadderResult['proxy'], peakCallsPerSecond: number, ceiling = false): LadderResult => ({
  proxy, transport: 'udp', steps: [], peakCallsPerSecond, ...(ceiling ? { peakIsCeiling: true as const } : {}),
});

test('peak ratio: ours over theirs when both ladders found a peak', () => {
  assert.equal(peakRatioText(ladder('switchboard', 3000), ladder('kamailio', 2000)), '1.50x');
});

test('peak ratio: a lower bound when our proxy passed every step of the ladder', () => {
  assert.equal(peakRatioText(ladder('switchboard', 6000, true), ladder('kamailio', 2500)), '≥ 2.40x');
});

test('peak ratio: unknown when theirs passed every step or found no peak', () => {
  assert.equal(peakRatioText(ladder('switchboard', 6000, true), ladder('kamailio', 6000, true)), 'n/a');
  assert.equal(peakRatioText(ladder('switchboard', 3000), ladder('kamailio', 0)), 'n/a');
});

/** True while `pid` runs (a zombie nobody reaped has ended). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

test('stop: a process that ignores SIGTERM is killed after the grace, and so is the child it forked', async () => {
  // As Kamailio's main process forks its workers: both ignore SIGTERM here.
  const parent = spawn('sh', ['-c', 'trap "" TERM; sh -c \'trap "" TERM; while :; do sleep 1; done\' >/dev/null & echo $!; while :; do sleep 1; done'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const forked = await new Promise<number>((resolve) => createInterface({ input: parent.stdout! }).once('line', (line) => resolve(Number(line))));
  try {
    assert.ok(running(forked));
    const started = performance.now();
    await stop(parent, 300);
    assert.ok(performance.now() - started >= 250, 'SIGTERM alone did not stop it');
    assert.equal(parent.signalCode, 'SIGKILL');
    for (let waited = 0; running(forked) && waited < 2000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(running(forked), false, `forked child ${forked} outlived its parent`);
  } finally {
    for (const pid of [parent.pid, forked]) {
      try {
        process.kill(pid as number, 'SIGKILL');
      } catch {
        // Gone, as it should be.
      }
    }
  }
});
