import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeapIdleTracker, ScanIdleTracker, type IdleConnectionTracker } from './idle-connections.js';

function both(timeoutMs: number): Array<[string, IdleConnectionTracker]> {
  return [
    ['scan', new ScanIdleTracker(timeoutMs)],
    ['heap', new HeapIdleTracker(timeoutMs)],
  ];
}

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
    assert.deepEqual(tracker.sweep(160), [2], name);
    assert.equal(tracker.size, 0, name);
    assert.deepEqual(tracker.sweep(10_000), [], name);
  }
});

test('random operations: the heap and the scan agree with a plain reference', () => {
  let seed = 42;
  const random = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const timeout = 500;
  const scan = new ScanIdleTracker(timeout);
  const heap = new HeapIdleTracker(timeout);
  const reference = new Map<number, number>();
  let now = 0;
  for (let step = 0; step < 20_000; step++) {
    now += Math.floor(random() * 20);
    const id = Math.floor(random() * 300);
    const roll = random();
    if (roll < 0.3) {
      if (!reference.has(id)) {
        reference.set(id, now);
        scan.add(id, now);
        heap.add(id, now);
      }
    } else if (roll < 0.75) {
      if (reference.has(id)) reference.set(id, now);
      scan.touch(id, now);
      heap.touch(id, now);
    } else if (roll < 0.85) {
      reference.delete(id);
      scan.remove(id);
      heap.remove(id);
    } else {
      const expected = [...reference].filter(([, last]) => now - last >= timeout).map(([key]) => key).sort((a, b) => a - b);
      for (const key of expected) reference.delete(key);
      assert.deepEqual(scan.sweep(now).sort((a, b) => a - b), expected, `scan at step ${step}`);
      assert.deepEqual(heap.sweep(now).sort((a, b) => a - b), expected, `heap at step ${step}`);
    }
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
});
