import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ownUri } from './own-uri.js';
import { ALICE, stepContext, stepRequest } from './routing-step.fixture.js';

test('own-uri: OPTIONS for our address or a served domain gets 200 with our capabilities; other methods 404', () => {
  const context = stepContext({ supported: ['path', 'outbound'] });
  for (const uri of ['sip:192.0.2.1', 'sip:example.com']) {
    const options = ownUri(stepRequest('OPTIONS', uri), ALICE, context);
    assert.equal(options.kind === 'respond' && options.status, 200, uri);
    assert.deepEqual(options.kind === 'respond' && options.headers, [
      ['Allow', 'INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, UPDATE, PRACK, SUBSCRIBE, NOTIFY, REFER, MESSAGE'],
      ['Accept', 'application/sdp'],
      ['Accept-Encoding', 'identity'],
      ['Accept-Language', 'en'],
      ['Supported', 'path, outbound'],
    ]);
  }
  assert.deepEqual(ownUri(stepRequest('INVITE', 'sip:192.0.2.1:5060'), ALICE, context), { kind: 'respond', status: 404 });
  assert.deepEqual(ownUri(stepRequest('MESSAGE', 'sip:example.com'), ALICE, context), { kind: 'respond', status: 404 });
});

test('own-uri: a user at our address or domain, another port, another host or domain continue', () => {
  const context = stepContext();
  for (const uri of ['sip:bob@192.0.2.1', 'sip:bob@example.com', 'sip:192.0.2.1:5070', 'sip:192.0.2.2', 'sip:elsewhere.example', 'tel:+15550100']) {
    assert.equal(ownUri(stepRequest('OPTIONS', uri), ALICE, context).kind, 'continue', uri);
  }
});
