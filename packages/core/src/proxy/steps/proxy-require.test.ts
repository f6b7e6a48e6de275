import assert from 'node:assert/strict';
import { test } from 'node:test';
import { proxyRequire } from './proxy-require.js';
import { ALICE, stepContext, stepRequest } from './routing-step.fixture.js';

test('proxy-require: no Proxy-Require, or only supported tags, continue; others get 420 with Unsupported', () => {
  const context = stepContext({ supported: ['path'] });
  assert.equal(proxyRequire(stepRequest('INVITE', 'sip:bob@example.com'), ALICE, context).kind, 'continue');
  assert.equal(proxyRequire(stepRequest('INVITE', 'sip:bob@example.com', { extra: ['Proxy-Require: path'] }), ALICE, context).kind, 'continue');
  assert.deepEqual(proxyRequire(stepRequest('INVITE', 'sip:bob@example.com', { extra: ['Proxy-Require: path, foo, Bar'] }), ALICE, context), {
    kind: 'respond',
    status: 420,
    headers: [['Unsupported', 'foo, bar']],
  });
});
