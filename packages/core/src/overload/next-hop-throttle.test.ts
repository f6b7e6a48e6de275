import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TransportAddress } from '../transport-address.js';
import { NextHopThrottle } from './next-hop-throttle.js';

const hop: TransportAddress = { protocol: 'udp', address: '192.0.2.5', port: 5060 };
const other: TransportAddress = { protocol: 'udp', address: '192.0.2.6', port: 5060 };

test('the loss algorithm sheds oc percent of new work toward that next hop until oc-validity ends', () => {
  let draw = 0;
  const throttle = new NextHopThrottle(() => draw);
  assert.equal(throttle.shouldShed(hop, 0), false, 'nothing announced');
  assert.equal(throttle.observe(hop, { reduction: 30, validityMs: 500, seq: 1 }, 1000), true);
  draw = 0.29;
  assert.equal(throttle.shouldShed(hop, 1100), true);
  draw = 0.31;
  assert.equal(throttle.shouldShed(hop, 1100), false);
  draw = 0;
  assert.equal(throttle.shouldShed(other, 1100), false, 'another next hop is not affected');
  assert.equal(throttle.shouldShed(hop, 1500), false, 'expired');
  assert.equal(throttle.size, 0);
});

test('an older oc-seq does not overwrite a newer one; validity 0 or oc 0 ends it', () => {
  const throttle = new NextHopThrottle(() => 0.5);
  throttle.observe(hop, { reduction: 80, validityMs: 1000, seq: 10 }, 0);
  assert.equal(throttle.observe(hop, { reduction: 10, validityMs: 1000, seq: 9 }, 10), false);
  assert.equal(throttle.shouldShed(hop, 20), true);
  throttle.observe(hop, { reduction: 80, validityMs: 0, seq: 11 }, 30);
  assert.equal(throttle.shouldShed(hop, 40), false);
  throttle.observe(hop, { reduction: 80, validityMs: 1000, seq: 12 }, 50);
  throttle.observe(hop, { reduction: 0, validityMs: 1000, seq: 13 }, 60);
  assert.equal(throttle.shouldShed(hop, 70), false);
});

test('the table stays bounded', () => {
  const throttle = new NextHopThrottle(() => 0);
  for (let n = 0; n < 5000; n++) throttle.observe({ protocol: 'udp', address: '192.0.2.1', port: n + 1 }, { reduction: 50, validityMs: 60_000, seq: 1 }, 0);
  assert.ok(throttle.size <= 1024);
});
