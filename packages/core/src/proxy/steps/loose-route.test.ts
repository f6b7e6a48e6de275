import assert from 'node:assert/strict';
import { test } from 'node:test';
import { looseRoute } from './loose-route.js';
import { ALICE, stepContext, stepRequest } from './routing-step.fixture.js';

test('loose-route: no Route continues; only our own Route entries are taken off, then it continues', () => {
  const context = stepContext();
  assert.equal(looseRoute(stepRequest('BYE', 'sip:bob@192.0.2.20'), ALICE, context).kind, 'continue');
  const ours = stepRequest('BYE', 'sip:bob@192.0.2.20', { extra: ['Route: <sip:192.0.2.1:5060;lr;sbd>, <sip:192.0.2.1;transport=tcp;lr>'] });
  assert.equal(looseRoute(ours, ALICE, context).kind, 'continue');
  assert.equal(ours.route.length, 0);
});

test('loose-route: a Route set left after ours forwards as addressed', () => {
  const context = stepContext();
  const request = stepRequest('BYE', 'sip:bob@192.0.2.20', { extra: ['Route: <sip:192.0.2.1:5060;lr>, <sip:next.example.net;lr>'] });
  assert.deepEqual(looseRoute(request, ALICE, context), { kind: 'forward', targets: [{}] });
  assert.deepEqual(request.route.map((entry) => entry.uriText), ['sip:next.example.net;lr']);
});

test('loose-route: our URI as Request-URI (a strict router before us) takes the last Route entry as Request-URI', () => {
  const context = stepContext();
  const request = stepRequest('BYE', 'sip:192.0.2.1:5060;lr', { extra: ['Route: <sip:next.example.net;lr>, <sip:bob@192.0.2.20>'] });
  assert.deepEqual(looseRoute(request, ALICE, context), { kind: 'forward', targets: [{}] });
  assert.equal(request.requestUriText, 'sip:bob@192.0.2.20');
  assert.deepEqual(request.route.map((entry) => entry.uriText), ['sip:next.example.net;lr']);
});
