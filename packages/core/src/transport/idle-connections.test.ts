import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createIdleTracker, HeapIdleTracker, ScanIdleTracker, type IdleConnectionTracker } from './idle-connections.js';

function both(timeoutMs: number): Array<[string, IdleConnectionTracker]> {
  return [
    ['scan', new ScanIdleTracker(timeoutMs)],
    ['heap', new HeapIdleTracker(timeoutMs)],
  ];
}

const ascending = (ids: number[]): number[] => [...ids].sort((a, b) => a - b);

test('both strategies close what was idle for the timeout, once, and never a touched or removed connection', () => {
  for (const [name, tracker] of both(100)) {
    tracker.add(1, 0);
    tracker.add(2, 0);
    tracker.add(3, 50);
    tracker.touch(2, 60);
    tracker.remove(3);
    assert.deepEqual(tracker.sweep(99), [], name);
    assert.deepEqual(tracker.sweep(100), [1], name);
    assert.deepEqual(tracker.sweep(120), [], name);
    assert.deepEqual(tracker.sweep(159), [], name);
    assert.deepEqual(tracker.sweep(160), [2], name);
    assert.equal(tracker.size, 0, name);
    assert.deepEqual(tracker.sweep(10_000), [], name);
  }
});

test('a connection touched after its deadline but before a sweep stays open', () => {
  for (const [name, tracker] of both(100)) {
    tracker.add(1, 0);
    tracker.touch(1, 150);
    assert.deepEqual(tracker.sweep(200), [], name);
    assert.deepEqual(tracker.sweep(249), [], name);
    assert.deepEqual(tracker.sweep(250), [1], name);
  }
});

test('touch ignores unknown ids and never moves activity earlier', () => {
  for (const [name, tracker] of both(100)) {
    tracker.touch(7, 0);
    assert.equal(tracker.size, 0, name);
    tracker.add(1, 0);
    tracker.touch(1, 80);
    tracker.touch(1, 10);
    assert.deepEqual(tracker.sweep(179), [], name);
    assert.deepEqual(tracker.sweep(180), [1], name);
    tracker.touch(1, 500);
    assert.equal(tracker.size, 0, `${name}: a swept id is not brought back by a touch`);
    assert.deepEqual(tracker.sweep(10_000), [], name);
  }
});

test('an id removed and added again, or added twice, keeps only its newest deadline', () => {
  for (const [name, tracker] of both(100)) {
    tracker.add(1, 0);
    tracker.remove(1);
    tracker.add(1, 50);
    tracker.add(2, 0);
    tracker.add(2, 70);
    assert.equal(tracker.size, 2, name);
    assert.deepEqual(tracker.sweep(100), [], name);
    assert.deepEqual(tracker.sweep(150), [1], name);
    assert.deepEqual(tracker.sweep(170), [2], name);
    assert.deepEqual(tracker.sweep(1000), [], name);
  }
});

test('many connections expire together and each is returned once', () => {
  for (const [name, tracker] of both(10)) {
    for (let id = 0; id < 100; id++) tracker.add(id, id % 5);
    for (let id = 0; id < 100; id += 2) tracker.touch(id, 8);
    assert.deepEqual(ascending(tracker.sweep(14)), Array.from({ length: 50 }, (_, index) => 2 * index + 1), name);
    assert.deepEqual(ascending(tracker.sweep(18)), Array.from({ length: 50 }, (_, index) => 2 * index), name);
    assert.equal(tracker.size, 0, name);
  }
});

test('a zero timeout closes at the next sweep; a bad timeout is refused', () => {
  for (const [name, tracker] of both(0)) {
    tracker.add(1, 5);
    assert.deepEqual(tracker.sweep(5), [1], name);
  }
  for (const timeout of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => new ScanIdleTracker(timeout), RangeError);
    assert.throws(() => new HeapIdleTracker(timeout), RangeError);
  }
});

test('createIdleTracker picks the class for the strategy', () => {
  assert.ok(createIdleTracker('scan', 1000) instanceof ScanIdleTracker);
  assert.ok(createIdleTracker('heap', 1000) instanceof HeapIdleTracker);
});

/** A seeded 32-bit linear congruential generator, returning numbers in [0, 1). */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
}

test('random operations: the heap and the scan agree with a plain reference', () => {
  const runs = [
    { seed: 42, ids: 300, timeout: 500 },
    { seed: 7, ids: 20, timeout: 200 },
    { seed: 2024, ids: 5000, timeout: 1000 },
  ];
  for (const { seed, ids, timeout } of runs) {
    const random = seededRandom(seed);
    const scan = new ScanIdleTracker(timeout);
    const heap = new HeapIdleTracker(timeout);
    const reference = new Map<number, number>();
    let now = 0;
    let returned = 0;
    for (let step = 0; step < 20_000; step++) {
      // Mostly small steps, now and then a jump past the timeout.
      now += random() < 0.01 ? timeout + Math.floor(random() * timeout) : Math.floor(random() * 20);
      const id = Math.floor(random() * ids);
      const roll = random();
      const where = `seed ${seed}, step ${step}`;
      if (roll < 0.3) {
        reference.set(id, now);
        scan.add(id, now);
        heap.add(id, now);
      } else if (roll < 0.75) {
        const last = reference.get(id);
        if (last !== undefined && now > last) reference.set(id, now);
        scan.touch(id, now);
        heap.touch(id, now);
      } else if (roll < 0.85) {
        reference.delete(id);
        scan.remove(id);
        heap.remove(id);
      } else {
        const expected = ascending([...reference].filter(([, last]) => now - last >= timeout).map(([key]) => key));
        for (const key of expected) reference.delete(key);
        returned += expected.length;
        assert.deepEqual(ascending(scan.sweep(now)), expected, `scan, ${where}`);
        assert.deepEqual(ascending(heap.sweep(now)), expected, `heap, ${where}`);
      }
      assert.equal(scan.size, reference.size, `scan size, ${where}`);
      assert.equal(heap.size, reference.size, `heap size, ${where}`);
    }
    assert.ok(returned > 100, `seed ${seed}: the script should expire connections (${returned})`);
  }
});

test('a heap sweep looks at the expired entries only; a scan looks at every connection', () => {
  const scan = new ScanIdleTracker(1000);
  const heap = new HeapIdleTracker(1000);
  for (let id = 0; id < 50_000; id++) {
    const at = id < 10 ? 0 : 5000;
    scan.add(id, at);
    heap.add(id, at);
  }
  assert.equal(heap.sweep(1000).length, 10);
  assert.equal(scan.sweep(1000).length, 10);
  assert.ok(heap.lastSweepVisited < 100, `heap visited ${heap.lastSweepVisited}`);
  assert.equal(scan.lastSweepVisited, 50_000);

  assert.deepEqual(heap.sweep(1001), []);
  assert.equal(heap.lastSweepVisited, 0);
  assert.equal(scan.sweep(1001).length, 0);
  assert.equal(scan.lastSweepVisited, 49_990);
});

test('touches cost the heap one re-queue per connection per timeout, not one per touch', () => {
  const heap = new HeapIdleTracker(1000);
  for (let id = 0; id < 1000; id++) heap.add(id, 0);
  for (let at = 1; at <= 900; at++) for (let id = 0; id < 1000; id += 10) heap.touch(id, at);
  assert.deepEqual(heap.sweep(500), []);
  assert.equal(heap.lastSweepVisited, 0);
  assert.equal(heap.sweep(1000).length, 900);
  assert.equal(heap.lastSweepVisited, 1000, 'the 900 idle ones and the 100 stale ones, once each');
  assert.equal(heap.size, 100);
  assert.equal(heap.queuedEntries, 100);
});

test('removed connections do not pile up in the heap between sweeps', () => {
  const heap = new HeapIdleTracker(60_000);
  for (let id = 0; id < 100; id++) heap.add(id, 0);
  for (let id = 100; id < 200_000; id++) {
    heap.add(id, id);
    heap.remove(id);
  }
  assert.equal(heap.size, 100);
  assert.ok(heap.queuedEntries <= 2048, `queued ${heap.queuedEntries}`);
  for (let round = 0; round < 100_000; round++) heap.add(round % 50, 1000 + round);
  assert.equal(heap.size, 100);
  assert.ok(heap.queuedEntries <= 2048, `queued after re-adds ${heap.queuedEntries}`);
  assert.equal(heap.sweep(200_000).length, 100);
  assert.equal(heap.queuedEntries, 0);
});
