import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SipError } from '@switchboard/sip';
import { CONTINUE, routeRequest, type NamedRoutingStep, type StepResult } from './routing-step.js';
import { ROUTING_STEPS } from './routing-steps.js';
import { ALICE, stepContext, stepRequest } from './steps/routing-step.fixture.js';

function step(name: string, result: StepResult | Promise<StepResult>, seen: string[]): NamedRoutingStep {
  return { name, run: () => (seen.push(name), result) };
}

test('routeRequest: walks the steps in order and stops at the first that decides; synchronous steps give no promise', () => {
  const seen: string[] = [];
  const steps = [step('a', CONTINUE, seen), step('b', { kind: 'respond', status: 403 }, seen), step('c', CONTINUE, seen)];
  assert.deepEqual(routeRequest(steps, stepRequest('INVITE', 'sip:bob@example.com'), ALICE, stepContext()), { kind: 'respond', status: 403 });
  assert.deepEqual(seen, ['a', 'b']);
});

test('routeRequest: after an asynchronous step the rest run when it settles', async () => {
  const seen: string[] = [];
  const steps = [step('a', Promise.resolve(CONTINUE), seen), step('b', CONTINUE, seen), step('c', { kind: 'forward', targets: [{}] }, seen)];
  const decision = routeRequest(steps, stepRequest('INVITE', 'sip:bob@example.com'), ALICE, stepContext());
  assert.ok(decision instanceof Promise);
  assert.deepEqual(seen, ['a']);
  assert.deepEqual(await decision, { kind: 'forward', targets: [{}] });
  assert.deepEqual(seen, ['a', 'b', 'c']);
});

test('routeRequest: a step that throws or rejects ends the walk with its error; no decision at all is a 500', async () => {
  const request = stepRequest('INVITE', 'sip:bob@example.com');
  const failure = new SipError('ERR_SIP_INVALID_HEADER_VALUE', 'bad', 0);
  const throwing: NamedRoutingStep = {
    name: 'throws',
    run: () => {
      throw failure;
    },
  };
  assert.throws(() => routeRequest([throwing], request, ALICE, stepContext()), failure);
  await assert.rejects(Promise.resolve(routeRequest([step('rejects', Promise.reject(failure), [])], request, ALICE, stepContext())), failure);
  assert.deepEqual(routeRequest([step('a', CONTINUE, [])], request, ALICE, stepContext()), { kind: 'respond', status: 500, reason: 'No Routing Decision' });
});

test('ROUTING_STEPS: the order of request_route; the last step always decides', () => {
  assert.deepEqual(
    ROUTING_STEPS.map((entry) => entry.name),
    ['max-forwards', 'loop-detection', 'proxy-require', 'auth', 'loose-route', 'registrar', 'own-uri', 'location', 'default-route', 'request-uri'],
  );
  const last = ROUTING_STEPS.at(-1) as NamedRoutingStep;
  for (const uri of ['sip:carol@elsewhere.example', 'sip:192.0.2.1', 'tel:+15550100']) {
    assert.notEqual((last.run(stepRequest('INVITE', uri), ALICE, stepContext()) as StepResult).kind, 'continue', uri);
  }
});

test('ROUTING_STEPS: a request to another domain goes through every step without a promise', () => {
  const decision = routeRequest(ROUTING_STEPS, stepRequest('INVITE', 'sip:carol@elsewhere.example'), ALICE, stepContext({ defaultRoute: 'sip:192.0.2.30' }));
  assert.deepEqual(decision, { kind: 'forward', targets: [{ nextHop: { protocol: 'udp', address: '192.0.2.30', port: 5060 } }] });
});
