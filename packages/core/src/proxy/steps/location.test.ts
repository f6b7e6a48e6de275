import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Binding } from '../../registrar/location-store.js';
import { location } from './location.js';
import { ALICE, failingStore, stepContext, stepRequest } from './routing-step.fixture.js';

function binding(contact: string, source = ALICE): Binding {
  return { aor: 'sip:bob@example.com', contact, expiresAt: Date.now() + 60_000, q: 1, callId: 'r1', cseq: 1, source };
}

test('location: a request outside our domains and address continues synchronously', () => {
  assert.deepEqual(location(stepRequest('INVITE', 'sip:carol@elsewhere.example'), ALICE, stepContext()), { kind: 'continue' });
});

test('location: every registered contact is a target; over TCP the connection it registered on', async () => {
  const context = stepContext();
  const connection = { protocol: 'tcp' as const, address: '192.0.2.21', port: 40001, connectionId: 9 };
  await context.store.put(binding('sip:bob@192.0.2.20:5070'));
  await context.store.put(binding('sip:bob@192.0.2.21;transport=tcp', connection));
  const result = await location(stepRequest('INVITE', 'sip:bob@example.com'), ALICE, context);
  assert.equal(result.kind, 'forward');
  assert.deepEqual(
    result.kind === 'forward' && [...result.targets].sort((a, b) => String(a.requestUri).localeCompare(String(b.requestUri))),
    [
      { requestUri: 'sip:bob@192.0.2.20:5070', nextHop: { protocol: 'udp', address: '192.0.2.20', port: 5070 } },
      { requestUri: 'sip:bob@192.0.2.21;transport=tcp', nextHop: connection },
    ],
  );
});

test('location: nobody registered is 404 in our domain; at our address it goes on to the next step', async () => {
  const context = stepContext();
  assert.deepEqual(await location(stepRequest('INVITE', 'sip:nobody@example.com'), ALICE, context), { kind: 'respond', status: 404 });
  assert.deepEqual(await location(stepRequest('INVITE', 'sip:nobody@192.0.2.1'), ALICE, context), { kind: 'continue' });
});

test('location: a failing store gives 503 with Retry-After, counted', async () => {
  const context = stepContext({ store: failingStore() });
  const result = await location(stepRequest('INVITE', 'sip:bob@example.com'), ALICE, context);
  assert.equal(result.kind === 'respond' && result.status, 503);
  assert.equal(context.counters.stateStoreFailures, 1);
});
