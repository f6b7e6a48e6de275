import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readRegisterFilter, registerFilterProgram } from './register-filter.js';
import { HEADROOM, MIN_PASS, NOTE_REFRESH_MS, NOTE_TTL_MS, UdpKernelShedder, type SocketFilterControl } from './udp-kernel-shedder.js';

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

/** One socket's filter as the kernel keeps it, for several readers (the process-pool's workers): each gets a control of it. */
function sharedSocket(): { program: Buffer; attached: number; control(): SocketFilterControl } {
  const socket = {
    program: Buffer.alloc(0),
    attached: 0,
    control(): SocketFilterControl {
      return {
        attach: (program) => {
          socket.program = Buffer.from(program);
          socket.attached++;
          return true;
        },
        detach: () => {
          const had = socket.program.length > 0;
          socket.program = Buffer.alloc(0);
          return had;
        },
        read: () => socket.program,
      };
    },
  };
  return socket;
}

/**
 * Two readers of one socket: the first read 80 REGISTERs in 100 ms (800 a second) and admits 100 a
 * second, so it set a quarter; the second, not limiting, read that share at its sample (a change
 * at a moment it does not know: that interval counts with the mean of 1 and 0.25).
 */
function twoReadersAfterAQuarter(): { socket: ReturnType<typeof sharedSocket>; first: UdpKernelShedder; second: UdpKernelShedder } {
  const socket = sharedSocket();
  const first = new UdpKernelShedder();
  const second = new UdpKernelShedder();
  first.attach(socket.control());
  second.attach(socket.control());
  registers(first, 80);
  first.steer(true, 100, 100);
  assert.equal(first.passFraction, (HEADROOM * 100) / 800);
  second.steer(false, undefined, 100, 0);
  assert.equal(second.passFraction, 0.25);
  return { socket, first, second };
}

test('readers of one socket set one share: what each wants, weighted by the REGISTERs each is offered, while any of them limits', () => {
  const { socket, first: busy, second: idle } = twoReadersAfterAQuarter();
  // The idle one, over its next interval, counts 60 new requests in 100 ms under a quarter kept: 2,400 a second offered.
  idle.steer(false, undefined, 100, 60);
  const shared = readRegisterFilter(socket.program);
  assert.ok(shared !== undefined);
  assert.equal(shared.notes.length, 2, 'both readers are in the program');
  // (0.25 × 800 + 1 × 2,400) / 3,200 = 0.8125 = 52/64.
  assert.equal(shared.pass, 52 / 64);
  assert.equal(idle.passFraction, 52 / 64);
  // The busy reader reads the idle one's note back: the pool's share stays near it, not the busy one's quarter.
  registers(busy, Math.round(80 * (52 / 64)));
  busy.steer(true, 100, 100);
  const kept = readRegisterFilter(socket.program)?.pass ?? 0;
  assert.ok(kept > 0.7 && kept < 1, `the pool's share ${kept}`);
  // The busy reader stops limiting: no reader limits, the filter goes.
  busy.steer(false, undefined, 100, 65);
  assert.equal(socket.program.length, 0);
  assert.equal(busy.passFraction, 1);
  idle.steer(false, undefined, 100, 60);
  assert.equal(idle.passFraction, 1, 'the idle reader reads it gone');
  assert.equal(socket.program.length, 0, 'and sets nothing');
});

test('a reader that stops limiting while another limits leaves a filter for the other, and a stale note is not counted', () => {
  const { socket, first, second } = twoReadersAfterAQuarter();
  registers(second, 20);
  second.steer(true, 100, 100); // 20 of a quarter in 100 ms: 800 a second, it wants a quarter too
  assert.equal(readRegisterFilter(socket.program)?.pass, 0.25);
  first.steer(false, undefined, 100, 20); // 800 a second, no longer limiting
  assert.equal(readRegisterFilter(socket.program)?.pass, (0.25 * 800 + 800) / 1600, 'the filter stays while the second limits');
  // A note left by a reader that died: older than NOTE_TTL_MS, it is ignored and dropped.
  const now = Date.now();
  socket.program = registerFilterProgram(MIN_PASS, [{ reader: 99, wantedPass: MIN_PASS, offeredRate: 10_000, at: now - NOTE_TTL_MS - 100 }]);
  second.steer(false, undefined, 100, 10);
  assert.equal(socket.program.length, 0, 'no reader limits: the dead reader\'s filter is removed');
});

test('a single reader whose program is read back writes its note again after NOTE_REFRESH_MS, and counts only changes of share', async () => {
  const socket = sharedSocket();
  const counters = { overloadKernelFilters: 0, overloadKernelFilterFailures: 0 };
  const shedder = new UdpKernelShedder();
  shedder.countInto(counters);
  shedder.attach(socket.control());
  registers(shedder, 80);
  shedder.steer(true, 100, 100);
  assert.equal(shedder.passFraction, 0.25);
  registers(shedder, 20);
  shedder.steer(true, 100, 100);
  assert.equal(shedder.passFraction, 0.25, 'alone, its own share');
  assert.equal(socket.attached, 1, 'its note is fresh: nothing written');
  await new Promise((resolve) => setTimeout(resolve, NOTE_REFRESH_MS + 20));
  registers(shedder, 20);
  shedder.steer(true, 100, 100);
  assert.equal(socket.attached, 2, 'written again: other readers count a note only while it is fresh');
  assert.equal(counters.overloadKernelFilters, 1, 'the same share: not counted as a filter');
  assert.equal(readRegisterFilter(socket.program)?.notes.length, 1);
});

test('a share another reader changed during the interval counts as the mean of the shares before and after', () => {
  const { socket, first, second } = twoReadersAfterAQuarter();
  // The first lowers it to MIN_PASS (it admits far fewer now); the second read 30 under shares from a quarter to 1/16.
  registers(first, 20);
  first.steer(true, 5, 100);
  assert.equal(readRegisterFilter(socket.program)?.pass, MIN_PASS);
  registers(second, 30);
  second.steer(true, 100, 100);
  // Offered: 30 in 100 ms over (1/4 + 1/16) / 2 = 5/32, 1,920 a second, not 4,800 (over 1/16) nor 1,200 (over 1/4);
  // it wants HEADROOM × 100 / 1,920 = 0.104, 7/64 in steps of 1/64.
  const notes = readRegisterFilter(socket.program)?.notes ?? [];
  assert.equal(notes.find((note) => note.wantedPass === 7 / 64)?.offeredRate, 1920);
});
