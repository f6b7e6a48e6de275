import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMessage } from '@switchboard/sip';
import { formatBranchId, loopHash } from '../branch-id.js';
import { loopDetection } from './loop-detection.js';
import { ALICE, stepContext, stepRequest } from './routing-step.fixture.js';

/** The request as it comes back to us after we forwarded it once (our Via on top of Alice's). */
function returned(uri: string, ourHost = '192.0.2.1'): ReturnType<typeof parseMessage> {
  const first = stepRequest('OPTIONS', uri);
  const branch = formatBranchId(loopHash(first, first.topVia), undefined, 1);
  return parseMessage(Buffer.from(first.serialize().toString().replace('Via: ', `Via: SIP/2.0/UDP ${ourHost}:5060;branch=${branch}\r\nVia: `)));
}

test('loop-detection: our Via with the same loop hash is a loop (482, counted)', () => {
  const context = stepContext();
  assert.deepEqual(loopDetection(returned('sip:carol@elsewhere.example'), ALICE, context), { kind: 'respond', status: 482 });
  assert.equal(context.counters.loopsDetected, 1);
});

test('loop-detection: a spiral (new Request-URI), a Via of another host, a single Via all continue', () => {
  const context = stepContext();
  const spiral = returned('sip:carol@elsewhere.example');
  const elsewhere = stepRequest('OPTIONS', 'sip:carol@192.0.2.50');
  spiral.setRequestUri(elsewhere.requestUriText ?? '', elsewhere.requestUri ?? assert.fail());
  assert.equal(loopDetection(spiral, ALICE, context).kind, 'continue');
  assert.equal(loopDetection(returned('sip:carol@elsewhere.example', '192.0.2.77'), ALICE, context).kind, 'continue');
  assert.equal(loopDetection(stepRequest('OPTIONS', 'sip:carol@elsewhere.example'), ALICE, context).kind, 'continue');
  assert.equal(context.counters.loopsDetected, 0);
});
