import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatVia, parseVia } from './via.js';

test('parses sent-protocol, sent-by and the RFC 3261/3581 parameters', () => {
  const via = parseVia('SIP/2.0/udp pc33.atlanta.com:5066;branch=z9hG4bK776asdhds;received=192.0.2.1;rport=5067;ttl=16;maddr=239.1.1.1');
  assert.equal(via.protocol, 'SIP/2.0');
  assert.equal(via.transport, 'UDP');
  assert.equal(via.host, 'pc33.atlanta.com');
  assert.equal(via.port, 5066);
  assert.equal(via.branch, 'z9hG4bK776asdhds');
  assert.equal(via.received, '192.0.2.1');
  assert.equal(via.rport, 5067);
  assert.equal(via.params.get('maddr'), '239.1.1.1');
});

test('allows blanks around slashes, colons and parameters', () => {
  const via = parseVia('SIP  /   2.0 / TCP     spindle.example.com  :  5070 ;   branch  =   z9hG4bK9ikj8 ; rport');
  assert.equal(via.transport, 'TCP');
  assert.equal(via.port, 5070);
  assert.equal(via.branch, 'z9hG4bK9ikj8');
  assert.equal(via.rport, null);
});

test('IPv6 sent-by and received', () => {
  const via = parseVia('SIP/2.0/UDP [2001:db8::9:1]:5060;branch=z9hG4bKas3;received=2001:db8::9:255');
  assert.equal(via.host, '[2001:db8::9:1]');
  assert.equal(via.received, '2001:db8::9:255');
});

test('rejects malformed values with ERR_SIP_INVALID_VIA', () => {
  for (const bad of [
    'SIP/2.0/UDP',
    'SIP/2.0 UDP host',
    'SIP/2.0/UDPhost',
    'SIP/2.0/UDP host:70000',
    'SIP/2.0/UDP 127.0.0.1:0',
    'SIP/2.0/UDP 127.0.0.1:00;branch=z9hG4bK1',
    'SIP/2.0/UDP [::1]:0;rport',
    'SIP/2.0/UDP host:5060;rport=0',
    'SIP/2.0/UDP host;;branch=1',
    'SIP/2.0/UDP host;branch',
    'SIP/2.0/UDP host;rport=x',
    'SIP/2.0/UDP host;ttl=300',
    'SIP/2.0/UDP host;received',
    'SIP/2.0/UDP host extra',
    'SIP/2.0/UDP [::1',
  ]) {
    assert.throws(() => parseVia(bad), { code: 'ERR_SIP_INVALID_VIA' }, bad);
  }
});

test('formatVia writes what parseVia reads', () => {
  const text = formatVia({ transport: 'TCP', host: '127.0.0.1', port: 5060, params: new Map([['branch', 'z9hG4bKx'], ['rport', null]]) });
  assert.equal(text, 'SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKx;rport');
  assert.equal(parseVia(text).branch, 'z9hG4bKx');
});
