import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeerQueueProbe } from './peer-queue-probe.js';

test('each sample posts a probe to the peers and gives the smallest delay of the probes read since the last', () => {
  let now = 1_000;
  const posted: number[] = [];
  const probe = new PeerQueueProbe((sentMs) => {
    posted.push(sentMs);
    return 2;
  }, () => now);
  assert.equal(probe.sampleDelayMs(), null, 'nothing read yet: no news');
  assert.deepEqual(posted, [1_000]);
  now = 1_100;
  probe.take(1_000);
  probe.take(1_070);
  assert.equal(probe.sampleDelayMs(), 30, 'the smallest of 100 and 30 ms');
  assert.equal(probe.probesRead, 2);
  assert.equal(probe.sampleDelayMs(), null, 'read once per sample');
  probe.take(1_200);
  probe.take(1_100 - 120_000);
  assert.equal(probe.sampleDelayMs(), null, 'a probe from the future or older than a minute is ignored');
});

test('with no peer to probe and nothing read, it measures nothing (undefined); a failing post is survived', () => {
  const alone = new PeerQueueProbe(() => 0, () => 0);
  assert.equal(alone.sampleDelayMs(), undefined);
  const failing = new PeerQueueProbe(() => {
    throw new Error('port closed');
  }, () => 50);
  failing.take(20);
  assert.equal(failing.sampleDelayMs(), 30);
  assert.equal(failing.sampleDelayMs(), undefined);
});
