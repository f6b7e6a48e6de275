import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatBranchId } from './branch-id.js';
import { fallBackToUdp, forwardedRequest, type ForwardedRequest, type ForwardedRequestSettings } from './forwarded-request.js';
import { newProxyCounters } from './proxy-counters.js';
import { ALICE, stepRequest } from './steps/routing-step.fixture.js';

const UDP_ONLY: ForwardedRequestSettings = { listeners: [{ protocol: 'udp', host: '192.0.2.1', port: 5060 }], counters: newProxyCounters() };
const BRANCH = formatBranchId('abc', undefined, 1);
const CALLEE = { protocol: 'udp' as const, address: '192.0.2.20', port: 5060 };

function copyOf(result: ReturnType<typeof forwardedRequest>): ForwardedRequest {
  assert.equal(typeof result, 'object', `a copy, not ${String(result)}`);
  return result as ForwardedRequest;
}

test('forwarded request: Max-Forwards down one, our Via with the branch on top, Record-Route for a dialog-creating request', () => {
  const copy = copyOf(forwardedRequest(stepRequest('INVITE', 'sip:bob@example.com'), ALICE, { requestUri: 'sip:bob@192.0.2.20', nextHop: CALLEE }, BRANCH, true, UDP_ONLY));
  assert.deepEqual(copy.target, CALLEE);
  assert.equal(copy.sent.requestUriText, 'sip:bob@192.0.2.20');
  assert.equal(copy.sent.maxForwards, 69);
  assert.equal(copy.sent.topVia?.branch, BRANCH);
  assert.deepEqual(copy.sent.recordRoute.map((entry) => entry.uriText), ['sip:192.0.2.1:5060;lr;sbd']);
  const bye = copyOf(forwardedRequest(stepRequest('BYE', 'sip:bob@192.0.2.20'), ALICE, {}, BRANCH, true, UDP_ONLY));
  assert.equal(bye.sent.recordRoute.length, 0);
});

test('forwarded request: no next hop is no-route; a transport we cannot send on is no-transport, unless we are a client of it', () => {
  assert.equal(forwardedRequest(stepRequest('MESSAGE', 'tel:+15550100'), ALICE, {}, BRANCH, false, UDP_ONLY), 'no-route');
  const overTcp = stepRequest('INVITE', 'sip:bob@192.0.2.20;transport=tcp');
  assert.equal(forwardedRequest(overTcp, ALICE, {}, BRANCH, true, UDP_ONLY), 'no-transport');
  const copy = copyOf(forwardedRequest(overTcp, ALICE, {}, BRANCH, true, { ...UDP_ONLY, clientTransports: ['tcp'] }));
  assert.equal(copy.sent.topVia?.transport, 'TCP');
  assert.equal(copy.sent.topVia?.port, 5060, 'the sent-by of our first listener');
  assert.deepEqual(copy.sent.recordRoute.map((entry) => entry.uriText), ['sip:192.0.2.1:5060;lr;sbd'], 'only the incoming side');
});

test('forwarded request: over 1300 bytes it leaves UDP for TCP (§18.1.1), and comes back to UDP when the connection is refused', () => {
  const counters = newProxyCounters();
  const settings: ForwardedRequestSettings = { listeners: [...UDP_ONLY.listeners, { protocol: 'tcp', host: '192.0.2.1', port: 5060 }], counters };
  const large = stepRequest('MESSAGE', 'sip:bob@192.0.2.20', { extra: [`X-Padding: ${'p'.repeat(1400)}`] });
  const copy = copyOf(forwardedRequest(large, ALICE, {}, BRANCH, false, settings));
  assert.equal(copy.target.protocol, 'tcp');
  assert.equal(copy.sent.topVia?.transport, 'TCP');
  assert.equal(counters.largeRequestsOverTcp, 1);
  assert.equal(fallBackToUdp(copy, Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }), counters), false, 'only a refusal or reset');
  assert.equal(fallBackToUdp(copy, Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), counters), true);
  assert.deepEqual(copy.target, { protocol: 'udp', address: '192.0.2.20', port: 5060 });
  assert.equal(copy.sent.topVia?.transport, 'UDP');
  assert.equal(copy.sent.topVia?.branch, BRANCH, 'the same transaction');
  assert.equal(counters.largeRequestsUdpFallbacks, 1);
  assert.equal(fallBackToUdp(copy, Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), counters), false, 'once');
});
