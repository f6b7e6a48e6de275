import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LadderStep } from './peak-ladder.js';
import { PeakBook } from './peak-book.js';

const KEY = 'model=event-loop;transport=udp;overload=off';
const step = (rate: number, outcome: 'pass' | 'fail'): LadderStep => ({ rate, outcome }) as LadderStep;
const ladder = (rate: number | undefined, steps: LadderStep[] = []) => ({ search: {} as never, ...(rate === undefined ? {} : { rate }), steps });

test('capacities: the peaks of valid ladders only, per repeat; a smoke run keeps an invalid one', () => {
  const book = new PeakBook();
  book.note({ pointKey: KEY, repeat: 0, quick: false, peak: ladder(1902), invalid: [] });
  book.note({ pointKey: KEY, repeat: 1, quick: false, peak: ladder(2853), invalid: ['peak: the top of the ladder still passed'] });
  book.note({ pointKey: KEY, repeat: 2, quick: false, error: { code: 'X', message: 'x' }, peak: ladder(100) });
  assert.equal(book.capacity(KEY, 0), 1902);
  assert.equal(book.capacity(KEY, 1), undefined);
  assert.equal(book.capacity(KEY, 2), undefined);
  assert.equal(book.capacity('another', 0), undefined);
  book.note({ pointKey: KEY, repeat: 1, quick: true, peak: ladder(400), invalid: ['peak: the top of the ladder still passed'] });
  assert.equal(book.capacity(KEY, 1), 400, 'a smoke run overloads what its short ladder reached');
});

test('seeds: the median of the earlier valid full runs\' peaks, and of the lowest rates that failed above them', () => {
  const book = new PeakBook();
  assert.equal(book.seed(KEY), undefined, 'nothing found yet: the ladder starts at `from`');
  book.note({ pointKey: KEY, repeat: 0, quick: false, peak: ladder(1000, [step(1000, 'pass'), step(1500, 'fail'), step(2250, 'fail'), step(500, 'pass')]) });
  assert.deepEqual(book.seed(KEY), { rate: 1000, above: 1500 });
  book.note({ pointKey: KEY, repeat: 1, quick: false, peak: ladder(1400, [step(1400, 'pass')]) });
  assert.deepEqual(book.seed(KEY), { rate: 1200, above: 1500 }, 'a peak with nothing failed above it adds no `above`');
  book.note({ pointKey: KEY, repeat: 2, quick: false, peak: ladder(9000), invalid: ['generator: out of CPU'] });
  book.note({ pointKey: KEY, repeat: 3, quick: true, peak: ladder(50) });
  book.note({ pointKey: KEY, repeat: 4, quick: false, peak: ladder(undefined, [step(100, 'fail')]) });
  assert.deepEqual(book.seed(KEY), { rate: 1200, above: 1500 }, 'invalid, smoke and peakless runs seed nothing');
});
