import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { TimerQueue, type QueuedTimer } from './timer-queue.js';

// mock.timers runs a tick's timers with Date at the END of the tick: the tests tick in small steps.
beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 }));
afterEach(() => mock.timers.reset());

/** An entry that records when it expired, and may reschedule itself. */
class Entry implements QueuedTimer {
  dueAt = -1;
  queueIndex = -1;
  readonly expiredAt: number[] = [];
  constructor(
    readonly name: string,
    readonly log: string[],
    readonly again?: (entry: Entry) => void,
  ) {}
  expire(): void {
    this.expiredAt.push(Date.now());
    this.log.push(this.name);
    this.again?.(this);
  }
}

test('timer queue: many entries fire in due order, each at its time, on one Node timer', () => {
  const queue = new TimerQueue(() => Date.now());
  const log: string[] = [];
  // Due times in scrambled order, with ties.
  const dues = [700, 100, 300, 300, 900, 50, 1200, 650, 100, 1000, 20, 480];
  const entries = dues.map((due, index) => new Entry(`e${index}`, log));
  entries.forEach((entry, index) => queue.schedule(entry, dues[index] as number));
  assert.equal(queue.size, dues.length);
  for (let now = 0; now < 1300; now += 10) mock.timers.tick(10);
  assert.equal(queue.size, 0);
  const order = [...dues.keys()].sort((a, b) => (dues[a] as number) - (dues[b] as number)).map((index) => dues[index]);
  assert.deepEqual(log.map((name) => dues[Number(name.slice(1))]), order, 'in due order');
  for (const [index, entry] of entries.entries()) assert.deepEqual(entry.expiredAt, [dues[index]], `${entry.name} on time`);
});

test('timer queue: cancel and move (earlier and later) from anywhere in the heap', () => {
  const queue = new TimerQueue(() => Date.now());
  const log: string[] = [];
  const entries = Array.from({ length: 20 }, (_, index) => new Entry(`e${index}`, log));
  entries.forEach((entry, index) => queue.schedule(entry, 100 * (index + 1)));
  queue.cancel(entries[0] as Entry);
  queue.cancel(entries[7] as Entry);
  queue.cancel(entries[19] as Entry);
  queue.cancel(entries[7] as Entry);
  queue.schedule(entries[15] as Entry, 50);
  queue.schedule(entries[1] as Entry, 5000);
  assert.equal(queue.size, 17);
  assert.equal((entries[7] as Entry).queueIndex, -1);
  for (let now = 0; now < 6000; now += 10) mock.timers.tick(10);
  assert.deepEqual(log, ['e15', 'e2', 'e3', 'e4', 'e5', 'e6', 'e8', 'e9', 'e10', 'e11', 'e12', 'e13', 'e14', 'e16', 'e17', 'e18', 'e1']);
  assert.deepEqual((entries[15] as Entry).expiredAt, [50]);
  assert.deepEqual((entries[1] as Entry).expiredAt, [5000]);
});

test('timer queue: an entry due earlier than the armed one re-arms the Node timer; one rescheduled with no delay while expiring fires on the next wake-up', () => {
  const queue = new TimerQueue(() => Date.now());
  const log: string[] = [];
  const late = new Entry('late', log);
  queue.schedule(late, 1000);
  const early = new Entry('early', log);
  queue.schedule(early, 200);
  let rounds = 0;
  const spinning = new Entry('spin', log, (entry) => {
    if (++rounds < 3) queue.schedule(entry, Date.now());
  });
  queue.schedule(spinning, 300);
  mock.timers.tick(200);
  assert.deepEqual(log, ['early']);
  mock.timers.tick(100);
  assert.deepEqual(log, ['early', 'spin'], 'the re-armed spin waits for the next wake-up');
  for (let step = 0; step < 5; step++) mock.timers.tick(1);
  assert.deepEqual(log, ['early', 'spin', 'spin', 'spin']);
  assert.deepEqual(spinning.expiredAt, [300, 301, 302]);
  for (let now = 305; now < 1300; now += 5) mock.timers.tick(5);
  assert.deepEqual(log, ['early', 'spin', 'spin', 'spin', 'late']);
  assert.deepEqual(late.expiredAt, [1000]);
});

test('timer queue: what an entry throws goes to onError; the others still fire', () => {
  const errors: unknown[] = [];
  const queue = new TimerQueue(() => Date.now(), (error) => errors.push(error));
  const log: string[] = [];
  queue.schedule(
    new Entry('bad', log, () => {
      throw new Error('bug');
    }),
    10,
  );
  queue.schedule(new Entry('good', log), 10);
  queue.schedule(new Entry('later', log), 20);
  mock.timers.tick(30);
  assert.deepEqual(log, ['bad', 'good', 'later']);
  assert.equal((errors[0] as Error).message, 'bug');
});

test('timer queue: on the real clock (performance.now), an entry fires, and not before its time', async () => {
  mock.timers.reset();
  const queue = new TimerQueue();
  const log: string[] = [];
  const entry = new Entry('t1', log);
  const started = performance.now();
  queue.schedule(entry, queue.now() + 50);
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (log.length === 0) return;
      clearInterval(poll);
      resolve();
    }, 5);
  });
  assert.ok(performance.now() - started >= 50, 'not early');
});
