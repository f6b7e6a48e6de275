import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aboveNodeFloor, median, perCall, ratiosToKamailio, sharingCosts, whereReadCosts, type EfficiencySample } from './efficiency-bench.js';

const sample = (proxy: EfficiencySample['proxy'], transport: 'udp' | 'tcp', repeat: number, microsPerCall: number): EfficiencySample => ({
  repeat, proxy, transport, rate: 400, calls: 4000, successRatio: 1, userMs: 0, systemMs: 0, microsPerCall, userMicrosPerCall: 0, systemMicrosPerCall: 0,
});

test('CPU per call: the tree\'s user and system time over the window divided by successful calls', () => {
  const used = perCall({ userMs: 1000, systemMs: 500 }, { userMs: 3000, systemMs: 1500 }, 4000);
  assert.deepEqual(used, { userMs: 2000, systemMs: 1000, micros: 750, userMicros: 500, systemMicros: 250 });
  assert.ok(Number.isNaN(perCall({ userMs: 0, systemMs: 0 }, { userMs: 1, systemMs: 1 }, 0).micros), 'no call: no figure');
});

test('ratios pair each Switchboard window with Kamailio\'s of the same repeat and transport', () => {
  const samples = [sample('kamailio', 'udp', 0, 500), sample('kamailio', 'udp', 1, 600), sample('event-loop', 'udp', 0, 400), sample('event-loop', 'udp', 1, 900), sample('event-loop', 'tcp', 0, 700)];
  assert.deepEqual(ratiosToKamailio(samples), [{ proxy: 'event-loop', transport: 'udp', ratios: [0.8, 1.5] }]);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
});

test('the cost of sharing pairs each model/shared window with the owned one of the same repeat and transport', () => {
  const samples = [sample('thread-pool', 'udp', 0, 1000), sample('thread-pool/shared', 'udp', 0, 1200), sample('thread-pool', 'udp', 1, 800), sample('thread-pool/shared', 'udp', 1, 1000), sample('process-pool/shared', 'tcp', 0, 2000)];
  assert.deepEqual(sharingCosts(samples), [{ model: 'thread-pool', transport: 'udp', ratios: [1.2, 1.25] }]);
  const withKamailio = [...samples, sample('kamailio', 'udp', 0, 500)];
  assert.deepEqual(ratiosToKamailio(withKamailio).map((ratio) => ratio.proxy), ['thread-pool', 'thread-pool/shared'], 'shared designs get their Kamailio ratio too');
});

test('the cost of where-read pairs each pool/where-read window with the pool/shared (by-holder) one of the same repeat and transport', () => {
  const samples = [
    sample('process-pool/shared', 'udp', 0, 1000), sample('process-pool/where-read', 'udp', 0, 1100),
    sample('process-pool/shared', 'udp', 1, 1000), sample('process-pool/where-read', 'udp', 1, 900),
    sample('process-pool', 'udp', 0, 800), sample('thread-pool/where-read', 'tcp', 0, 700),
  ];
  assert.deepEqual(whereReadCosts(samples), [{ model: 'process-pool', transport: 'udp', ratios: [1.1, 0.9] }], 'not against the owned design, and not without a by-holder window');
});

test('the floor: each model window minus the node-relay window of the same repeat and transport, user and system apart', () => {
  const withParts = (proxy: EfficiencySample['proxy'], repeat: number, user: number, system: number): EfficiencySample => ({ ...sample(proxy, 'udp', repeat, user + system), userMicrosPerCall: user, systemMicrosPerCall: system });
  const samples = [withParts('node-relay', 0, 300, 100), withParts('event-loop', 0, 700, 90), withParts('event-loop', 1, 650, 80), withParts('kamailio', 0, 450, 200)];
  assert.deepEqual(aboveNodeFloor(samples), [{ proxy: 'event-loop', transport: 'udp', micros: [390], userMicros: [400], systemMicros: [-10] }], 'no floor in repeat 1, and Kamailio is not ours');
});
