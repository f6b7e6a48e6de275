import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatStoredTarget, parseStoredTarget } from './stored-response-target.js';

test('a response target survives the store: UDP, a TLS connection with a pool-wide id, IPv6', () => {
  for (const target of [
    { protocol: 'udp' as const, address: '192.0.2.1', port: 5060 },
    { protocol: 'tls' as const, address: '127.0.0.1', port: 40123, connectionId: 3 * 2 ** 32 + 17 },
    { protocol: 'tcp' as const, address: '2001:db8::1', port: 5060, connectionId: 0 },
  ]) {
    assert.deepEqual(parseStoredTarget(formatStoredTarget(target)), target);
  }
});

test('a malformed stored target is refused, never half read', () => {
  for (const text of [undefined, '', 'udp', 'sctp|192.0.2.1|5060|', 'udp||5060|', 'udp|192.0.2.1|0|', 'udp|192.0.2.1|70000|', 'tcp|192.0.2.1|5060|x', 'tcp|192.0.2.1|5060|-1', 'udp|192.0.2.1|5060||more']) {
    assert.equal(parseStoredTarget(text), undefined, String(text));
  }
});
