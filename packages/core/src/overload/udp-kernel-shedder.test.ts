import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADROOM, MIN_PASS, UdpKernelShedder, type SocketFilterControl } from './udp-kernel-shedder.js';

/** A socket filter that records what it was given. */
function recordingFilter(takes = true): SocketFilterControl & { attached: number; detached: number } {
  return {
    attached: 0,
    detached: 0,
    attach() {
      this.attached++;
      return takes;
    },
    detach() {
      this.detached++;
      return true;
    },
  };
}

function registers(shedder: UdpKernelShedder, count: number): void {
  for (let n = 0; n < count; n++) shedder.noteRegister();
}

test('while limiting, the share kept brings the REGISTERs read to about HEADROOM times the admitted rate', () => {
  const shedder = new UdpKernelShedder();
  const filter = recordingFilter();
  shedder.attach(filter);
  // 800 REGISTERs a second read (80 in 100 ms), 100 admitted a second: keep 200 of 800.
  registers(shedder, 80);
  shedder.steer(true, 100, 100);
  assert.equal(shedder.passFraction, (HEADROOM * 100) / 800);
  assert.equal(filter.attached, 1);
  // Now a quarter is kept and 20 are read: still 800 offered; nothing changes, nothing is attached again.
  registers(shedder, 20);
  shedder.steer(true, 100, 100);
  assert.equal(shedder.passFraction, 0.25);
  assert.equal(filter.attached, 1);
});

test('the share stays at or above MIN_PASS and at most 1, and limiting ending removes the filter', () => {
  const shedder = new UdpKernelShedder();
  const filter = recordingFilter();
  shedder.attach(filter);
  registers(shedder, 100_000);
  shedder.steer(true, 10, 100);
  assert.equal(shedder.passFraction, MIN_PASS);
  shedder.steer(true, 10, 100);
  assert.equal(shedder.passFraction, MIN_PASS, 'nothing read: the estimate decays but the floor holds');
  shedder.steer(false, undefined, 100);
  assert.equal(shedder.passFraction, 1);
  assert.equal(filter.detached, 1);
  registers(shedder, 5);
  shedder.steer(true, 1000, 100);
  assert.equal(shedder.passFraction, 1, 'the rate covers what is offered: nothing is filtered');
});

test('without a socket, or when the kernel refuses the filter, everything is kept and the failure counted', () => {
  const unattached = new UdpKernelShedder();
  registers(unattached, 100);
  unattached.steer(true, 10, 100);
  assert.equal(unattached.passFraction, 1);
  const counters = { overloadKernelFilters: 0, overloadKernelFilterFailures: 0 };
  const shedder = new UdpKernelShedder();
  shedder.countInto(counters);
  shedder.attach(recordingFilter(false));
  registers(shedder, 100);
  shedder.steer(true, 10, 100);
  assert.equal(shedder.passFraction, 1);
  assert.deepEqual(counters, { overloadKernelFilters: 0, overloadKernelFilterFailures: 1 });
  shedder.detach();
  registers(shedder, 100);
  shedder.steer(true, 10, 100);
  assert.equal(counters.overloadKernelFilterFailures, 1, 'detached: nothing is tried');
});

test('every filter the kernel takes is counted, its removal too', () => {
  const counters = { overloadKernelFilters: 0, overloadKernelFilterFailures: 0 };
  const shedder = new UdpKernelShedder();
  shedder.countInto(counters);
  shedder.attach(recordingFilter());
  registers(shedder, 80);
  shedder.steer(true, 100, 100);
  shedder.steer(false, undefined, 100);
  assert.deepEqual(counters, { overloadKernelFilters: 2, overloadKernelFilterFailures: 0 });
});

test('the REGISTERs the kernel dropped are estimated from those read and the share kept', () => {
  const shedder = new UdpKernelShedder();
  shedder.attach(recordingFilter());
  registers(shedder, 80);
  assert.equal(shedder.droppedSinceSample(), 0, 'nothing filtered yet');
  shedder.steer(true, 100, 100);
  assert.equal(shedder.passFraction, 0.25);
  registers(shedder, 20);
  assert.equal(shedder.droppedSinceSample(), 60, 'a quarter read: three times as many dropped');
  shedder.steer(true, 100, 100);
  assert.equal(shedder.droppedSinceSample(), 0, 'counted again from the sample on');
});

test('a shedder exists where overload control is on and the kernel filter not turned off', () => {
  assert.equal(UdpKernelShedder.forSettings(undefined), undefined, '--overload off');
  assert.equal(UdpKernelShedder.forSettings({ kernelFilter: false }), undefined, '--overload-kernel-filter off');
  assert.ok(UdpKernelShedder.forSettings({}) instanceof UdpKernelShedder, 'on by default');
  assert.ok(UdpKernelShedder.forSettings({ kernelFilter: true }) instanceof UdpKernelShedder);
});
