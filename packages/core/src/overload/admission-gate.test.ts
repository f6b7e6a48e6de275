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
  assert.equal(gate.admit(2, 1, 10, 0.5, 5000), false, 'the refused one is refused again (3 s later, previous generation)');
  assert.equal(gate.admit(3, 1, 10, 0.5, 5000), true, 'tokens again');
  assert.equal(gate.admit(1, 1, 10, 0.5, 9000), true, 'forgotten after two generations: a new decision');
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
