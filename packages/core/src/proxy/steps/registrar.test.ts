import assert from 'node:assert/strict';
import { test } from 'node:test';
import { registrar } from './registrar.js';
import { ALICE, failingStore, stepContext, stepRequest } from './routing-step.fixture.js';

test('registrar: other methods, and REGISTERs for other domains, continue without a promise', () => {
  const context = stepContext();
  assert.deepEqual(registrar(stepRequest('INVITE', 'sip:example.com'), ALICE, context), { kind: 'continue' });
  assert.deepEqual(registrar(stepRequest('REGISTER', 'sip:elsewhere.example'), ALICE, context), { kind: 'continue' });
  assert.equal(context.counters.registrations, 0);
});

test('registrar: a REGISTER for our domain or our address is answered by the registrar and stored', async () => {
  const context = stepContext();
  const result = await registrar(stepRequest('REGISTER', 'sip:example.com', { extra: ['Expires: 600'] }), ALICE, context);
  assert.equal(result.kind === 'respond' && result.status, 200);
  assert.equal((await context.store.lookup('sip:bob@example.com', Date.now())).length, 1);
  const short = await registrar(stepRequest('REGISTER', 'sip:192.0.2.1', { extra: ['Expires: 5'] }), ALICE, context);
  assert.equal(short.kind === 'respond' && short.status, 423);
  assert.equal(context.counters.registrations, 2);
});

test('registrar: a failing store gives 503 with Retry-After, counted', async () => {
  const context = stepContext({ store: failingStore(), storeRetryAfterSeconds: 7 });
  assert.deepEqual(await registrar(stepRequest('REGISTER', 'sip:example.com'), ALICE, context), {
    kind: 'respond',
    status: 503,
    reason: 'Location Service Unavailable',
    headers: [['Retry-After', '7']],
  });
  assert.equal(context.counters.stateStoreFailures, 1);
});
