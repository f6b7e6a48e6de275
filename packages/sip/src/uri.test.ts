import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SipError } from './errors.js';
import { formatUri, isIpv6Address, isSipUri, parseSipUri, parseUri, uriHostname, uriUser } from './uri.js';

test('parses every part of a SIP URI', () => {
  const uri = parseSipUri('sips:alice:secret@Atlanta.example.com:5061;transport=tcp;lr;maddr=239.255.255.1?subject=project%20x&priority=urgent');
  assert.equal(uri.scheme, 'sips');
  assert.equal(uri.user, 'alice');
  assert.equal(uri.password, 'secret');
  assert.equal(uri.host, 'Atlanta.example.com');
  assert.equal(uriHostname(uri), 'atlanta.example.com');
  assert.equal(uri.port, 5061);
  assert.deepEqual([...uri.params], [
    ['transport', 'tcp'],
    ['lr', null],
    ['maddr', '239.255.255.1'],
  ]);
  assert.deepEqual(uri.headers, [
    ['subject', 'project%20x'],
    ['priority', 'urgent'],
  ]);
});

test('IPv6 references keep their brackets and take a port', () => {
  const uri = parseSipUri('sip:bob@[2001:db8::10]:5070;transport=udp');
  assert.equal(uri.host, '[2001:db8::10]');
  assert.equal(uri.port, 5070);
  assert.equal(uriHostname(uri), '2001:db8::10');
  assert.throws(() => parseSipUri('sip:[2001:db8::10:5070]:x'), { code: 'ERR_SIP_INVALID_URI' });
});

test('user parts may hold escapes and user-unreserved characters', () => {
  const uri = parseSipUri("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com");
  assert.equal(uri.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
  assert.equal(uri.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
  assert.equal(uriUser(parseSipUri('sip:sips%3Auser%40example.com@example.net')), 'sips:user@example.com');
  assert.equal(uriUser(parseSipUri('sip:user;par=u%40example.net@example.com')), 'user;par=u@example.net');
});

test('escaped parameter names are decoded and lower-cased', () => {
  const uri = parseSipUri('sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31');
  assert.deepEqual([...uri.params], [
    ['lr', null],
    ['name', 'v%61lue%25%34%31'],
  ]);
});

test('other schemes stay opaque', () => {
  const uri = parseUri('tel:+1-201-555-0123;phone-context=example.com');
  assert.equal(isSipUri(uri), false);
  assert.equal(uri.scheme, 'tel');
  assert.equal(formatUri(uri), 'tel:+1-201-555-0123;phone-context=example.com');
});

test('formatUri writes back what parseUri read', () => {
  for (const text of ['sip:alice@atlanta.com', 'sips:[::1]:5061;transport=tls', 'sip:host;lr?a=b&c=d', 'sip:u:p@h:1']) {
    assert.equal(formatUri(parseUri(text)), text);
  }
});

test('malformed URIs fail with ERR_SIP_INVALID_URI and an offset', () => {
  for (const bad of ['sip:', 'sip:@host', 'sip:user@', 'sip:host:99999', 'sip:host;=x', 'sip:ho st', 'sip:host?x', 'nocolon', '1abc:x', 'sip:host:12a', 'sip:bad%zzuser@host']) {
    assert.throws(() => parseUri(bad, 100), (error: unknown) => {
      assert.ok(error instanceof SipError, bad);
      assert.equal(error.code, 'ERR_SIP_INVALID_URI', bad);
      assert.ok(error.offset >= 100, bad);
      return true;
    });
  }
});

test('isIpv6Address accepts the textual forms of RFC 4291 and nothing else', () => {
  for (const good of ['::1', '2001:db8::10', '2001:db8:0:0:0:0:0:1', '::', '::ffff:192.0.2.1', '1:2:3:4:5:6:1.2.3.4']) {
    assert.equal(isIpv6Address(good), true, good);
  }
  for (const bad of ['1::2::3', '2001:db8::10:5070:1:2:3:4', '12345::', 'g::1', '1:2:3:4:5:6:7', '::1.2.3.256', '1.2.3.4']) {
    assert.equal(isIpv6Address(bad), false, bad);
  }
});

test('uriUser keeps distinct escaped bytes distinct, invalid UTF-8 included', () => {
  const user = (text: string): string | undefined => uriUser(parseSipUri(`sip:${text}@example.com`));
  assert.notEqual(user('%FF'), user('%FE'));
  assert.notEqual(user('%FF'), user('%EF%BF%BD'));
  assert.equal(user('%ff'), user('%FF'));
  assert.equal(user('jos%C3%A9'), 'jos\u00e9');
  assert.equal(user('a%FFb'), 'a\udcffb');
});
