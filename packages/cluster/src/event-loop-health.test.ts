import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { EventLoopHealth, STALL_MS, type EventLoopHealthCounters } from './event-loop-health.js';

const zero = (): EventLoopHealthCounters => ({ eventLoopStalls: 0, eventLoopStallMilliseconds: 0, gcPauses: 0, gcPauseMilliseconds: 0, gcLongPauses: 0, gcMajorPauseMilliseconds: 0 });

test('a lateness of STALL_MS or more is a stall, counted with its lateness; less is not', () => {
  const counters = zero();
  const health = new EventLoopHealth(counters);
  health.noteLateness(3);
  health.noteLateness(STALL_MS - 0.1);
  health.noteLateness(STALL_MS);
  health.noteLateness(400);
  assert.deepEqual(counters, { ...zero(), eventLoopStalls: 2, eventLoopStallMilliseconds: STALL_MS + 400 });
});

test('every collection is counted with its pause; long ones and full ones apart', () => {
  const counters = zero();
  const health = new EventLoopHealth(counters);
  health.noteGcPause(1.5);
  health.noteGcPause(120);
  health.noteGcPause(30, true);
  assert.deepEqual(counters, { ...zero(), gcPauses: 3, gcPauseMilliseconds: 151.5, gcLongPauses: 1, gcMajorPauseMilliseconds: 30 });
});

test('started, a loop blocked for 300 ms is a stall of about that, and a forced collection is counted', async () => {
  const counters = zero();
  const health = new EventLoopHealth(counters).start();
  try {
    await sleep(120);
    const until = Date.now() + 300;
    while (Date.now() < until) {
      // A long turn: the timer cannot fire.
    }
    await sleep(120);
    assert.equal(counters.eventLoopStalls >= 1, true, JSON.stringify(counters));
    assert.ok(counters.eventLoopStallMilliseconds >= 300 - 2 * 50 && counters.eventLoopStallMilliseconds < 2000, JSON.stringify(counters));
    // Garbage until V8 collects: each allocation round is young-generation garbage.
    for (let round = 0; round < 200 && counters.gcPauses === 0; round++) {
      const garbage = Array.from({ length: 20_000 }, (_, index) => ({ index, text: `item ${index}` }));
      assert.equal(garbage.length, 20_000);
      await sleep(1);
    }
    assert.ok(counters.gcPauses >= 1, 'a collection was observed');
    // A full collection, asked of V8 (gc() exposed in a fresh context), is counted as one.
    setFlagsFromString('--expose-gc');
    const collectFully = runInNewContext('gc') as () => void;
    const pausesBefore = counters.gcPauses;
    collectFully();
    for (let wait = 0; wait < 50 && counters.gcPauses === pausesBefore; wait++) await sleep(10);
    assert.ok(counters.gcMajorPauseMilliseconds > 0, JSON.stringify(counters));
    assert.ok(counters.gcMajorPauseMilliseconds <= counters.gcPauseMilliseconds);
  } finally {
    health.stop();
  }
});
