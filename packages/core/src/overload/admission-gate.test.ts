import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdmissionGate } from './admission-gate.js';

test('with a rate, a token bucket admits that many new requests a second, whatever is offered', () => {
  const gate = new AdmissionGate();
  let admitted = 0;
  // 1,000 offered a second for 2 s at a rate of 100/s.
  for (let n = 0; n < 2000; n++) if (gate.admit(n * 7919, 1, 100, 0.9, 1000 + n)) admitted++;
  assert.ok(admitted >= 195 && admitted <= 215, `about 200 admitted, got ${admitted}`);
});

test('a retransmission meets its original decision while it is remembered', () => {
  const gate = new AdmissionGate();
  assert.equal(gate.admit(9, 1, 10, 0.5, 0), false, 'the bucket starts empty');
  assert.equal(gate.admit(1, 1, 10, 0.5, 1000), true, 'a token after a second at 10/s');
  assert.equal(gate.admit(2, 1, 10, 0.5, 1000), false, 'no token left');
  assert.equal(gate.admit(1, 1, 10, 0.5, 1001), true, 'retransmission of the admitted one');
  assert.equal(gate.admit(2, 1, 10, 0.5, 33_000), false, 'the refused one is refused again (32 s later, previous generation)');
  assert.equal(gate.admit(3, 1, 10, 0.5, 33_000), true, 'tokens again');
  assert.equal(gate.admit(2, 1, 10, 0.5, 66_000), true, 'forgotten after two generations: a new decision');
});

test('a refusal is remembered for the life of its client transaction, and known without a decision', () => {
  const gate = new AdmissionGate();
  assert.equal(gate.holdsRefusals(0), false, 'nothing refused yet');
  assert.equal(gate.admit(4, 1, 10, 0.5, 1000), false, 'the bucket starts empty');
  assert.equal(gate.admit(5, 1, 10, 0.5, 2000), true);
  assert.equal(gate.holdsRefusals(1000 + 31_999), true);
  // Retransmitted at 0.5, 1.5, 3.5, 7.5, 15.5 and 31.5 s.
  for (const at of [500, 1500, 3500, 7500, 15_500, 31_500]) assert.equal(gate.refusedEarlier(4, 1, 1000 + at), true, `refused at +${at} ms`);
  assert.equal(gate.refusedEarlier(5, 1, 2000), false, 'an admitted one is not');
  assert.equal(gate.refusedEarlier(6, 1, 2000), false, 'an unknown one is not');
  assert.equal(gate.refusedEarlier(4, 2, 2000), false, 'nor the next request of that Call-ID');
  assert.equal(gate.holdsRefusals(1000 + 32_000), false, '32 s after the last refusal');
  assert.equal(gate.refusedEarlier(4, 1, 100_000), false, 'long idle: both generations retired');
});

test('the next request of a Call-ID (another CSeq) gets a decision of its own', () => {
  const gate = new AdmissionGate();
  assert.equal(gate.admit(7, 1, 10, 0.5, 0), false, 'refused: the bucket starts empty');
  assert.equal(gate.admit(7, 1, 10, 0.5, 1000), false, 'its retransmission is refused again, a token or not');
  assert.equal(gate.admit(7, 2, 10, 0.5, 1000), true, 'the request sent after the Retry-After takes the token');
  assert.equal(gate.admit(7, 3, 10, 0.5, 1001), false, 'and the one after that needs a token of its own');
  assert.equal(gate.admit(7, 2, 10, 0.5, 1001), true, 'the admitted one\'s retransmission goes on');
});

test('before a rate is measured the shed share decides by Call-ID hash', () => {
  const gate = new AdmissionGate();
  assert.equal(gate.admit(0, 1, undefined, 0.5, 0), false);
  assert.equal(gate.admit(0xffffffff, 1, undefined, 0.5, 0), true);
});

test('the memory stays bounded', () => {
  const gate = new AdmissionGate();
  for (let n = 0; n < 100_000; n++) gate.admit(n, 1, 1000, 0.5, 0);
  // Nothing to read from outside but the behaviour: an early hash was forgotten, so it gets a new decision.
  assert.equal(typeof gate.admit(1, 1, 1000, 0.5, 0), 'boolean');
});

test('a request over a stream (remember false) is decided afresh each time it is offered', () => {
  const gate = new AdmissionGate();
  assert.equal(gate.admit(5, 1, 10, 0.5, 0, false), false, 'the bucket starts empty');
  assert.equal(gate.admit(5, 1, 10, 0.5, 1000, false), true, 'held and offered again: a token now');
  assert.equal(gate.admit(5, 1, 10, 0.5, 1000, true), false, 'nothing was remembered for it, and no token is left');
});
