import assert from 'node:assert/strict';
import { test } from 'node:test';
import { peakRatioText, type LadderResult } from './sipp-ladder.js';

const ladder = (proxy: LadderResult['proxy'], peakCallsPerSecond: number, ceiling = false): LadderResult => ({
  proxy, transport: 'udp', steps: [], peakCallsPerSecond, ...(ceiling ? { peakIsCeiling: true as const } : {}),
});

test('peak ratio: ours over theirs when both ladders found a peak', () => {
  assert.equal(peakRatioText(ladder('switchboard', 3000), ladder('kamailio', 2000)), '1.50x');
});

test('peak ratio: a lower bound when our proxy passed every step of the ladder', () => {
  assert.equal(peakRatioText(ladder('switchboard', 6000, true), ladder('kamailio', 2500)), '≥ 2.40x');
});

test('peak ratio: unknown when theirs passed every step or found no peak', () => {
  assert.equal(peakRatioText(ladder('switchboard', 6000, true), ladder('kamailio', 6000, true)), 'n/a');
  assert.equal(peakRatioText(ladder('switchboard', 3000), ladder('kamailio', 0)), 'n/a');
});
