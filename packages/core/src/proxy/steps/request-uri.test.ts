import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requestUri } from './request-uri.js';
import { ALICE, stepContext, stepRequest } from './routing-step.fixture.js';

test('request-uri: a SIP Request-URI is forwarded as addressed; ours gets 404; a non-SIP one 416', () => {
  const context = stepContext();
  assert.deepEqual(requestUri(stepRequest('INVITE', 'sip:carol@elsewhere.example'), ALICE, context), { kind: 'forward', targets: [{}] });
  assert.deepEqual(requestUri(stepRequest('INVITE', 'sip:carol@192.0.2.1'), ALICE, context), { kind: 'respond', status: 404 });
  assert.deepEqual(requestUri(stepRequest('INVITE', 'tel:+15550100'), ALICE, context), { kind: 'respond', status: 416 });
});
