import assert from 'node:assert/strict';
import { test } from 'node:test';
import { INITIAL_REDUCTION } from './admission-rate.js';
import { NO_NEWS_SAMPLES, OverloadDetector, READ_COALESCE_MS, type OverloadDetectorCounters } from './overload-detector.js';

function counters(): OverloadDetectorCounters {
  return { overloadEntered: 0, overloadLeft: 0, overloadMilliseconds: 0, overloadQueueDelayed: 0, overloadStreamBacklogged: 0 };
}

function detector(): { detector: OverloadDetector; counters: OverloadDetectorCounters } {
  const c = counters();
  return { detector: new OverloadDetector({ utilization: 0.9, lagMs: 100, intervalMs: 100 }, c), counters: c };
}

function note(d: OverloadDetector, offered: number, admitted: number): void {
  for (let n = 0; n < offered; n++) d.noteNewWork(n < admitted);
}

test('utilization at the threshold for two samples starts limiting; the noted new work steers the share; calm samples end it', () => {
  const { detector: d, counters } = detector();
  d.update(0.5, 0, 100);
  assert.equal(d.limiting, false, 'calm');
  d.update(0.95, 0, 100);
  d.update(0.95, 0, 100);
  assert.equal(d.limiting, false, 'two busy samples are a burst');
  d.update(0.5, 0, 100);
  d.update(0.95, 0, 100);
  d.update(0.95, 0, 100);
  assert.equal(d.limiting, false, 'not three in a row');
  d.update(0.95, 0, 100);
  assert.equal(d.limiting, true);
  assert.equal(d.reduction, INITIAL_REDUCTION);
  assert.equal(counters.overloadEntered, 1);
  note(d, 100, 50);
  d.update(0.95, 0, 100);
  assert.equal(d.admittedRate, 400, '500/s admitted, still overloaded: 80% of it');
  assert.equal(d.reduction, 0.6, '400 of 1000/s offered');
  note(d, 100, 40);
  d.update(0.85, 0, 100);
  assert.equal(d.admittedRate, 400, 'between the thresholds: held');
  note(d, 100, 40);
  d.update(0.95, 0, 100);
  assert.equal(d.admittedRate, 400, 'a busy sample after a calmer one: held');
  for (let n = 0; n < 40 && d.limiting; n++) {
    note(d, 10, 10);
    d.update(0.2, 0, 100);
  }
  assert.equal(d.limiting, false);
  assert.equal(d.reduction, 0);
  assert.equal(counters.overloadLeft, 1);
  assert.ok(counters.overloadMilliseconds >= 1200, 'time counted for every sample that began limiting');
});

test('lag alone makes a worker overloaded (long turns of the loop)', () => {
  const { detector: d } = detector();
  d.update(0.1, 150, 250);
  d.update(0.1, 150, 250);
  assert.equal(d.limiting, false, 'two long turns');
  d.update(0.1, 150, 250);
  assert.equal(d.limiting, true);
});

test('start and stop sample the real event loop without keeping the process alive', async () => {
  const c = counters();
  // Utilization 0: every sample counts as overloaded, so it must start limiting.
  const d = new OverloadDetector({ utilization: 0, lagMs: 1000, intervalMs: 10 }, c);
  d.start();
  await new Promise((resolve) => setTimeout(resolve, 200));
  d.stop();
  assert.equal(d.limiting, true, 'sampled');
  assert.equal(c.overloadEntered, 1);
});

test('where the UDP queue delay is measured it alone judges datagrams: a busy, late loop that keeps its queue short is not overloaded', () => {
  const c = counters();
  const d = new OverloadDetector({ utilization: 0.9, lagMs: 100, intervalMs: 100, queueDelayMs: 50 }, c);
  for (let n = 0; n < 10; n++) d.update(1, 150, 250, 5);
  assert.equal(d.limiting, false, 'utilization 1 and lag 150 ms, queue delay 5 ms');
  d.update(0.2, 0, 100, 60);
  d.update(0.2, 0, 100, 60);
  d.update(0.2, 0, 100, 5);
  assert.equal(d.limiting, false, 'a short queue breaks the run');
  d.update(0.2, 0, 100, 60);
  d.update(0.2, 0, 100, 70);
  d.update(0.2, 0, 100, 55);
  assert.equal(d.limiting, true, 'three samples at or above 50 ms in a row');
  assert.equal(c.overloadQueueDelayed, 5);
});

test('a sample with no probe read keeps a busy run for up to NO_NEWS_SAMPLES in a row (workers sharing a socket read half the probes each)', () => {
  const c = counters();
  const d = new OverloadDetector({ utilization: 0.9, lagMs: 100, intervalMs: 100, queueDelayMs: 50 }, c);
  for (let n = 0; n < 5; n++) d.update(1, 0, 100, null);
  assert.equal(d.limiting, false, 'nothing measured, no run to keep');
  // Busy readings with samples that read no probe between them: an overload.
  d.update(1, 0, 100, 900);
  d.update(1, 0, 100, null);
  d.update(1, 0, 100, 1400);
  for (let n = 0; n < NO_NEWS_SAMPLES; n++) d.update(1, 0, 100, null);
  assert.equal(d.limiting, false, 'two busy readings are not yet an overload, and no news does not make one');
  d.update(1, 0, 100, 1300);
  assert.equal(d.limiting, true, 'the third busy reading, with no news between them');
  // One sample past NO_NEWS_SAMPLES breaks the run.
  const other = new OverloadDetector({ utilization: 0.9, lagMs: 100, intervalMs: 100, queueDelayMs: 50 }, counters());
  other.update(1, 0, 100, 900);
  other.update(1, 0, 100, 900);
  for (let n = 0; n <= NO_NEWS_SAMPLES; n++) other.update(1, 0, 100, null);
  other.update(1, 0, 100, 900);
  assert.equal(other.limiting, false, `${NO_NEWS_SAMPLES + 1} samples with no probe read break the run`);
});

test('phones\' reads (a message a read) are judged by utilization and lag, with the queue delay measured or not', () => {
  const { detector: d } = detector();
  const probed = new OverloadDetector({ utilization: 0.9, lagMs: 100, intervalMs: 100, queueDelayMs: 50 }, counters());
  for (let n = 0; n < 3; n++) {
    probed.noteStreamRead(false, false);
    probed.update(0.95, 0, 100, 5);
    d.noteStreamRead(false, false);
    d.update(0.95, 0, 100);
  }
  assert.equal(probed.limiting, true, 'TCP phones: utilization counts');
  assert.equal(d.limiting, true, 'no probe: utilization counts');
});

test('a trunk connection: a full read in three samples is an overload; with the queue delay measured, a busy loop is not', () => {
  const PROBED = { utilization: 0.9, lagMs: 100, intervalMs: 100, queueDelayMs: 50 };
  const busyLoop = new OverloadDetector(PROBED, counters());
  for (let n = 0; n < 5; n++) {
    busyLoop.noteStreamRead(false, true);
    busyLoop.update(1, 150, 100, 5);
  }
  assert.equal(busyLoop.limiting, false, 'trunk reads short of the buffer, a short UDP queue: no backlog, however busy the loop');
  const unprobed = new OverloadDetector({ utilization: 0.9, lagMs: 100, intervalMs: 100 }, counters());
  for (let n = 0; n < 3; n++) {
    unprobed.noteStreamRead(false, true);
    unprobed.update(0.95, 0, 100);
  }
  assert.equal(unprobed.limiting, true, 'no probe (a thread-pool thread): the loop judges, trunk or not');
  for (const probed of [true, false]) {
    const c = counters();
    const backlogged = new OverloadDetector(probed ? PROBED : { utilization: 0.9, lagMs: 100, intervalMs: 100 }, c);
    for (let n = 0; n < 3; n++) {
      backlogged.noteStreamRead(false, true);
      backlogged.noteStreamRead(true, true);
      backlogged.update(0.2, 0, 100, probed ? 5 : undefined);
    }
    assert.equal(backlogged.limiting, true, 'a full read in three samples in a row, an idle loop and a short queue notwithstanding');
    assert.equal(c.overloadStreamBacklogged, 3);
  }
  const burst = new OverloadDetector(PROBED, counters());
  for (let n = 0; n < 3; n++) {
    for (let k = 0; k < 9; k++) burst.noteStreamRead(false, true);
    burst.noteStreamRead(true, true);
    burst.update(0.2, 0, 100, 5);
  }
  assert.equal(burst.limiting, false, 'one full read among ten in each sample is a burst, not a backlog');
  const mixed = new OverloadDetector(PROBED, counters());
  for (let n = 0; n < 3; n++) {
    mixed.noteStreamRead(false, true);
    mixed.noteStreamRead(false, false);
    mixed.update(0.95, 0, 100, 5);
  }
  assert.equal(mixed.limiting, true, 'phones beside a trunk: the loop judges too');
});

test('while limiting on a trunk, the admitted rate holds while reads fill the buffer and climbs once they do not', () => {
  const d = new OverloadDetector({ utilization: 0.9, lagMs: 100, intervalMs: 100, queueDelayMs: 50 }, counters());
  for (let n = 0; n < 3; n++) {
    d.noteStreamRead(true, true);
    d.update(1, 0, 100, 5);
  }
  assert.equal(d.limiting, true);
  note(d, 100, 50);
  d.noteStreamRead(true, true);
  d.update(1, 0, 100, 5);
  const cut = d.admittedRate;
  assert.equal(cut, 400, '500/s admitted, backlogged: 80% of it');
  note(d, 100, 40);
  d.noteStreamRead(false, true);
  d.update(1, 300, 100, 5);
  assert.equal(d.admittedRate, 400 * 1.1 + 2, 'no full read, a short queue: calm, however busy the loop');
});

test('while limiting, the admitted rate climbs only on a short queue; a sample with no probe read holds it', () => {
  const d = new OverloadDetector({ utilization: 0.9, lagMs: 100, intervalMs: 100, queueDelayMs: 50 }, counters());
  for (let n = 0; n < 3; n++) d.update(0.5, 0, 100, 80);
  assert.equal(d.limiting, true);
  note(d, 100, 50);
  d.update(1, 0, 100, 80);
  const cut = d.admittedRate;
  assert.equal(cut, 400, '500/s admitted, overloaded: 80% of it');
  note(d, 100, 40);
  d.update(1, 300, 100, null);
  assert.equal(d.admittedRate, cut, 'nothing read: held (neither utilization nor lag counts)');
  note(d, 100, 40);
  d.update(1, 300, 100, 30);
  assert.equal(d.admittedRate, cut, 'between half the target and the target: held');
  note(d, 100, 40);
  d.update(1, 300, 100, 10);
  assert.equal(d.admittedRate, 400 * 1.1 + 2, 'under half the target: climbs, however busy the loop');
});

test('--overload-queue-delay 0 measures nothing: the source is never asked, and utilization decides for datagrams too', async () => {
  const make = (queueDelayMs: number): { d: OverloadDetector; asked: () => number } => {
    const d = new OverloadDetector({ utilization: 0, lagMs: 1000, intervalMs: 10, queueDelayMs }, counters());
    let asked = 0;
    d.useQueueDelay({ sampleDelayMs: () => (asked++, 0) });
    return { d, asked: () => asked };
  };
  const off = make(0);
  const on = make(50);
  off.d.start();
  on.d.start();
  await new Promise((resolve) => setTimeout(resolve, 100));
  off.d.stop();
  on.d.stop();
  assert.equal(off.asked(), 0, 'not asked');
  assert.equal(off.d.limiting, true, 'utilization 0 as threshold: every sample busy');
  assert.ok(on.asked() > 0, 'asked once a sample');
  assert.equal(on.d.limiting, false, 'a queue delay of 0 ms: never busy');
});

test('a trunk is asked to leave READ_COALESCE_MS between reads while the worker limits, never before and never a phone', () => {
  const { detector: d } = detector();
  assert.equal(d.noteStreamRead(false, true), 0, 'not limiting: read on');
  for (let n = 0; n < 3; n++) d.update(0.95, 0, 100);
  assert.equal(d.limiting, true);
  assert.equal(d.noteStreamRead(false, true), READ_COALESCE_MS, 'a trunk while limiting');
  assert.equal(d.noteStreamRead(false, false), 0, 'a phone (a message a read) is held instead, never paused');
  assert.ok(READ_COALESCE_MS > 0 && READ_COALESCE_MS <= 10, 'a few ms: nothing to a call');
});
