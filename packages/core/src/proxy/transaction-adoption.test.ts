import assert from 'node:assert/strict';
import { test } from 'node:test';
import { transportAddressFrom } from './transaction-adoption.js';

test('a stored branch target reads back as a transport address (IPv6 too); anything else is undefined', () => {
  assert.deepEqual(transportAddressFrom('udp:192.0.2.30:5060'), { protocol: 'udp', address: '192.0.2.30', port: 5060 });
  assert.deepEqual(transportAddressFrom('tcp:2001:db8::1:5070'), { protocol: 'tcp', address: '2001:db8::1', port: 5070 });
  assert.equal(transportAddressFrom(undefined), undefined);
  assert.equal(transportAddressFrom('sctp:192.0.2.30:5060'), undefined);
  assert.equal(transportAddressFrom('udp:192.0.2.30'), undefined);
  assert.equal(transportAddressFrom('udp:192.0.2.30:x'), undefined);
  assert.equal(transportAddressFrom('garbage'), undefined);
});
