import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ownUri } from './own-uri.js';
import { ALICE, stepContext, stepRequest } from './step-fixtures.js';

test('own-uri: OPTIONS for our address gets 200 with Allow and Accept; other methods 404', () => {
  const context = stepContext();
  const options = ownUri(stepRequest('OPTIONS', 'sip:192.0.2.1'), ALICE, context);
  assert.equal(options.kind === 'respond' && options.status, 200);
  assert.deepEqual(options.kind === 'respond' && options.headers?.map(([name]) => name), ['Allow', 'Accept']);
  assert.deepEqual(ownUri(stepRequest('INVITE', 'sip:192.0.2.1:5060'), ALICE, context), { kind: 'respond', status: 404 });
});

test('own-uri: a user at our address, another port, another host or a domain continue', () => {
  const context = stepContext();
  for (const uri of ['sip:bob@192.0.2.1', 'sip:192.0.2.1:5070', 'sip:192.0.2.2', 'sip:example.com', 'tel:+15550100']) {
    assert.equal(ownUri(stepRequest('OPTIONS', uri), ALICE, context).kind, 'continue', uri);
  }
});
