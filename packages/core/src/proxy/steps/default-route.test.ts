import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultRoute } from './default-route.js';
import { ALICE, stepContext, stepRequest } from './routing-step.fixture.js';

test('default-route: a request that starts something goes to the default route', () => {
  const context = stepContext({ defaultRoute: 'sip:192.0.2.30:5070;transport=tcp' });
  assert.deepEqual(defaultRoute(stepRequest('INVITE', 'sip:carol@elsewhere.example'), ALICE, context), {
    kind: 'forward',
    targets: [{ nextHop: { protocol: 'tcp', address: '192.0.2.30', port: 5070 } }],
  });
});

test('default-route: in-dialog requests (To tag), and every request without a default route, continue', () => {
  const context = stepContext({ defaultRoute: 'sip:192.0.2.30' });
  assert.equal(defaultRoute(stepRequest('BYE', 'sip:carol@elsewhere.example', { toTag: 'b1' }), ALICE, context).kind, 'continue');
  assert.equal(defaultRoute(stepRequest('INVITE', 'sip:carol@elsewhere.example'), ALICE, stepContext()).kind, 'continue');
});
