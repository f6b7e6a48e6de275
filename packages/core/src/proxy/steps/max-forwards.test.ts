import assert from 'node:assert/strict';
import { test } from 'node:test';
import { maxForwards } from './max-forwards.js';
import { ALICE, stepContext, stepRequest } from './routing-step.fixture.js';

test('max-forwards: above 0 continues; 0 gets 483 and is counted', () => {
  const context = stepContext();
  assert.deepEqual(maxForwards(stepRequest('INVITE', 'sip:bob@example.com', { maxForwards: 1 }), ALICE, context), { kind: 'continue' });
  assert.deepEqual(maxForwards(stepRequest('INVITE', 'sip:bob@example.com', { maxForwards: 0 }), ALICE, context), { kind: 'respond', status: 483 });
  assert.equal(context.counters.tooManyHops, 1);
});

test('max-forwards: an OPTIONS for the proxy itself with Max-Forwards 0 is answered 200 with our capabilities', () => {
  const context = stepContext();
  const result = maxForwards(stepRequest('OPTIONS', 'sip:192.0.2.1:5060', { maxForwards: 0 }), ALICE, context);
  assert.equal(result.kind === 'respond' && result.status, 200);
  assert.ok(result.kind === 'respond' && result.headers?.some(([name]) => name === 'Allow'));
  const domain = maxForwards(stepRequest('OPTIONS', 'sip:example.com', { maxForwards: 0 }), ALICE, context);
  assert.equal(domain.kind === 'respond' && domain.status, 200, 'a served domain without a user part is this server too');
  const routed = maxForwards(stepRequest('OPTIONS', 'sip:192.0.2.1:5060', { extra: ['Route: <sip:next.example.net;lr>'], maxForwards: 0 }), ALICE, context);
  assert.equal(routed.kind === 'respond' && routed.status, 483, 'not for us when it has a Route set');
  assert.equal(context.counters.tooManyHops, 1);
});
