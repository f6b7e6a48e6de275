import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SipError } from './errors.js';
import { parseMessage } from './parser.js';
import { INVITE, RINGING, crlf } from './test-messages.js';
import { parseUri } from './uri.js';

test('serialize() of an unedited message is byte-exact', () => {
  assert.deepEqual(parseMessage(INVITE).serialize(), INVITE);
  assert.deepEqual(parseMessage(RINGING).serialize(), RINGING);
});

test('a proxy edit touches only the fields it changes', () => {
  const message = parseMessage(INVITE);
  message.prependVia('SIP/2.0/UDP proxy.example.com:5060;branch=z9hG4bKproxy1');
  message.prependRecordRoute('<sip:proxy.example.com;lr>');
  message.setMaxForwards((message.maxForwards ?? 70) - 1);
  message.setRequestUri('sip:bob@192.0.2.4:5060', parseUri('sip:bob@192.0.2.4:5060'));
  const text = message.serialize().toString();
  assert.equal(
    text,
    [
      'INVITE sip:bob@192.0.2.4:5060 SIP/2.0',
      'Record-Route: <sip:proxy.example.com;lr>',
      'Via: SIP/2.0/UDP proxy.example.com:5060;branch=z9hG4bKproxy1',
      'Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9',
      'Max-Forwards: 69',
      'From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl',
      'To: Bob <sip:bob@biloxi.example.com>',
      'Call-ID: 3848276298220188511@atlanta.example.com',
      'CSeq: 1 INVITE',
      'Contact: <sip:alice@client.atlanta.example.com;transport=tcp>',
      'X-Unknown:   kept   exactly  ',
      'Content-Type: application/sdp',
      'Content-Length: 4',
      '',
      'v=0\n',
    ].join('\r\n'),
  );
  assert.equal(message.via[0]?.branch, 'z9hG4bKproxy1');
  assert.equal(message.maxForwards, 69);
  const reparsed = parseMessage(message.serialize());
  assert.equal(reparsed.via.length, 2);
  assert.equal(reparsed.recordRoute.length, 1);
});

test('adding and then removing a Via gives back the original bytes', () => {
  const message = parseMessage(INVITE);
  message.prependVia('SIP/2.0/UDP p;branch=z9hG4bKp');
  assert.equal(message.removeTopVia().branch, 'z9hG4bKp');
  assert.deepEqual(message.serialize(), INVITE);
});

test('removing the top value of a comma-separated Via rewrites that field only', () => {
  const message = parseMessage(RINGING);
  const removed = message.removeTopVia();
  assert.equal(removed.branch, 'z9hG4bK-proxy');
  const text = message.serialize().toString();
  assert.match(text, /\r\nVia: SIP\/2\.0\/TCP client\.atlanta\.example\.com:5060;branch=z9hG4bK74bf9;received=192\.0\.2\.101\r\n/);
  assert.equal(parseMessage(message.serialize()).via.length, 1);
  message.removeTopVia();
  assert.equal(message.via.length, 0);
  assert.doesNotMatch(message.serialize().toString(), /Via:/);
  assert.throws(() => message.removeTopVia(), { code: 'ERR_SIP_INVALID_EDIT' });
});

test('removing the first value of a list as it arrived: commas quoted or bracketed are not separators, folding is undone', () => {
  const quoted = parseMessage(crlf(['SIP/2.0 200 OK', 'Via: SIP/2.0/UDP a;branch=z9hG4bK1;x="p,q" ,\r\n  SIP/2.0/UDP b;branch=z9hG4bK2,SIP/2.0/UDP c;branch=z9hG4bK3', 'Content-Length: 0', '', '']));
  assert.equal(quoted.removeTopVia().branch, 'z9hG4bK1');
  assert.match(quoted.serialize().toString(), /\r\nVia: SIP\/2\.0\/UDP b;branch=z9hG4bK2,SIP\/2\.0\/UDP c;branch=z9hG4bK3\r\n/);
  assert.deepEqual(parseMessage(quoted.serialize()).via.map((via) => via.branch), ['z9hG4bK2', 'z9hG4bK3']);
  const folded = parseMessage(crlf(['SIP/2.0 200 OK', 'Via: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2;\r\n x=1', 'Content-Length: 0', '', '']));
  folded.removeTopVia();
  assert.deepEqual(folded.headers('via'), ['SIP/2.0/UDP b;branch=z9hG4bK2; x=1']);
  assert.equal(parseMessage(folded.serialize()).via[0]?.params.get('x'), '1');
  const bracketed = parseMessage(crlf(['BYE sip:bob@b SIP/2.0', 'Route: <sip:a,b@p1;lr>, <sip:p2;lr>', 'Content-Length: 0', '', '']));
  assert.equal(bracketed.removeFirstRoute().uriText, 'sip:a,b@p1;lr');
  assert.deepEqual(parseMessage(bracketed.serialize()).route.map((hop) => hop.uriText), ['sip:p2;lr']);
  const only = parseMessage(crlf(['BYE sip:bob@b SIP/2.0', 'Route: <sip:a,b@p1;lr>', 'Content-Length: 0', '', '']));
  only.removeFirstRoute();
  assert.equal(only.route.length, 0);
  assert.doesNotMatch(only.serialize().toString(), /Route:/);
});

test('Route edits for loose and strict routing', () => {
  const message = parseMessage(
    crlf(['BYE sip:bob@b SIP/2.0', 'Route: <sip:p1;lr>, <sip:p2;lr>', 'r: x', 'Route: <sip:p3>', 'Content-Length: 0', '', '']),
  );
  assert.equal(message.removeFirstRoute().uriText, 'sip:p1;lr');
  assert.equal(message.removeLastRoute().uriText, 'sip:p3');
  message.appendRoute('<sip:bob@b>');
  assert.deepEqual(message.route.map((hop) => hop.uriText), ['sip:p2;lr', 'sip:bob@b']);
  const reparsed = parseMessage(message.serialize());
  assert.deepEqual(reparsed.route.map((hop) => hop.uriText), ['sip:p2;lr', 'sip:bob@b']);
  assert.equal(reparsed.header('refer-to'), 'x');
});

test('compact header names survive a list edit', () => {
  const message = parseMessage(crlf(['SIP/2.0 200 OK', 'v: SIP/2.0/UDP a;branch=z9hG4bK1,SIP/2.0/UDP b;branch=z9hG4bK2', 'l: 0', '', '']));
  message.removeTopVia();
  assert.match(message.serialize().toString(), /\r\nv: SIP\/2\.0\/UDP b;branch=z9hG4bK2\r\n/);
});

test('generic header edits keep routing fields in step', () => {
  const message = parseMessage(INVITE);
  message.setHeader('To', 'Bob <sip:bob@biloxi.example.com>;tag=xyz');
  assert.equal(message.toTag, 'xyz');
  message.removeHeader('contact');
  assert.equal(message.contact.length, 0);
  message.appendHeader('Supported', 'timer');
  assert.deepEqual(message.optionTags('supported'), ['timer']);
  message.setBody('hello', 'text/plain');
  const reparsed = parseMessage(message.serialize());
  assert.equal(reparsed.body.toString(), 'hello');
  assert.equal(reparsed.contentLength, 5);
  assert.equal(reparsed.contentType(), 'text/plain');
  assert.equal(reparsed.toTag, 'xyz');
  assert.throws(() => message.setMaxForwards(256), { code: 'ERR_SIP_INVALID_EDIT' });
});

test('setMaxForwards adds the header when the request has none (RFC 3261 §16.6 step 3)', () => {
  const message = parseMessage(crlf(['OPTIONS sip:a@b SIP/2.0', 'Via: SIP/2.0/UDP h;branch=z9hG4bK1', 'Content-Length: 0', '', '']));
  assert.equal(message.maxForwards, undefined);
  message.setMaxForwards(70);
  assert.equal(message.maxForwards, 70);
  assert.equal(parseMessage(message.serialize()).maxForwards, 70);
  message.setMaxForwards(69);
  assert.equal(parseMessage(message.serialize()).maxForwards, 69);
  assert.equal(message.headers('max-forwards').length, 1);
});

test('optionTags refuses a tag that is not a token instead of decoding it', () => {
  const message = parseMessage(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nProxy-Require: ok, b\xffd\r\nSupported: Path, outbound\r\n\r\n', 'latin1'));
  assert.throws(() => message.optionTags('proxy-require'), (error: unknown) => error instanceof SipError && error.code === 'ERR_SIP_INVALID_HEADER_VALUE');
  assert.deepEqual(message.optionTags('supported'), ['path', 'outbound']);
});

test('serialize() is written once until an edit, and an edit writes it again', () => {
  const message = parseMessage(INVITE);
  message.setMaxForwards(69);
  const first = message.serialize();
  assert.equal(message.serialize(), first);
  message.removeHeader('x-unknown');
  const second = message.serialize();
  assert.notEqual(second, first);
  assert.ok(!second.toString('latin1').includes('X-Unknown'));
  assert.ok(second.toString('latin1').includes('Max-Forwards: 69\r\n'));
});

test('a clone is edited apart from its original and serializes as its reparse would', () => {
  const original = parseMessage(INVITE);
  original.setTopViaParams([['received', '192.0.2.9']]);
  const before = Buffer.from(original.serialize());
  const copy = original.clone();
  copy.setMaxForwards(69);
  copy.prependRecordRoute('<sip:proxy.example.com;lr>');
  copy.prependVia('SIP/2.0/UDP proxy.example.com:5060;branch=z9hG4bKclone');
  copy.setRequestUri('sip:bob@192.0.2.4', parseUri('sip:bob@192.0.2.4'));
  assert.deepEqual(original.serialize(), before);
  assert.equal(original.via.length, 1);
  assert.equal(original.recordRoute.length, 0);
  assert.equal(original.maxForwards, 70);
  const reparsed = parseMessage(before);
  reparsed.setMaxForwards(69);
  reparsed.prependRecordRoute('<sip:proxy.example.com;lr>');
  reparsed.prependVia('SIP/2.0/UDP proxy.example.com:5060;branch=z9hG4bKclone');
  reparsed.setRequestUri('sip:bob@192.0.2.4', parseUri('sip:bob@192.0.2.4'));
  assert.deepEqual(copy.serialize(), reparsed.serialize());
  assert.deepEqual(copy.via.map((via) => via.branch), ['z9hG4bKclone', 'z9hG4bK74bf9']);
  assert.equal(copy.via[1]?.received, '192.0.2.9');
});
