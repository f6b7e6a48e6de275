import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SipError, type SipErrorCode } from './errors.js';
import { parseMessage } from './parser.js';
import { INVITE, RINGING, crlf } from './test-messages.js';
import { isSipUri } from './uri.js';

function fails(input: Buffer, code: SipErrorCode, options?: Parameters<typeof parseMessage>[1]): SipError {
  let caught: unknown;
  try {
    parseMessage(input, options);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof SipError, `expected ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

test('a request: start line and routing headers parsed, others on demand', () => {
  const message = parseMessage(INVITE);
  assert.equal(message.isRequest, true);
  assert.equal(message.method, 'INVITE');
  assert.equal(message.requestUriText, 'sip:bob@biloxi.example.com');
  assert.ok(message.requestUri && isSipUri(message.requestUri));
  assert.equal(message.via.length, 1);
  assert.equal(message.topVia?.branch, 'z9hG4bK74bf9');
  assert.equal(message.maxForwards, 70);
  assert.equal(message.fromTag, '9fxced76sl');
  assert.equal(message.toTag, undefined);
  assert.equal(message.callId, '3848276298220188511@atlanta.example.com');
  assert.deepEqual(message.cseq, { seq: 1, method: 'INVITE' });
  assert.equal(message.contact[0]?.uriText, 'sip:alice@client.atlanta.example.com;transport=tcp');
  assert.equal(message.contentLength, 4);
  assert.equal(message.body.toString(), 'v=0\n');
  assert.equal(message.header('x-unknown'), 'kept   exactly');
  assert.equal(message.contentType(), 'application/sdp');
});

test('a response with a two-value Via and Record-Route', () => {
  const message = parseMessage(RINGING);
  assert.equal(message.isResponse, true);
  assert.equal(message.status, 180);
  assert.equal(message.reason, 'Ringing');
  assert.deepEqual(message.via.map((via) => via.branch), ['z9hG4bK-proxy', 'z9hG4bK74bf9']);
  assert.equal(message.via[1]?.received, '192.0.2.101');
  assert.equal(message.recordRoute[0]?.uri.scheme, 'sip');
  assert.equal(message.body.length, 0);
});

test('compact forms, case-insensitive names and folded lines', () => {
  const message = parseMessage(
    crlf([
      'OPTIONS sip:x@example.com SIP/2.0',
      'v: SIP/2.0/UDP a.example.com;branch=z9hG4bK1',
      'VIA  :  SIP/2.0/UDP b.example.com;branch=z9hG4bK2,',
      '  SIP/2.0/UDP c.example.com;branch=z9hG4bK3',
      'f: <sip:a@example.com>;tag=1',
      't: <sip:x@example.com>',
      'i: abc',
      'cseq:',
      ' 0009',
      '\tOPTIONS',
      'MaX-fOrWaRdS: 0068',
      'k: path, outbound',
      'm: *',
      'l: 0',
      '',
      '',
    ]),
  );
  assert.deepEqual(message.via.map((via) => via.host), ['a.example.com', 'b.example.com', 'c.example.com']);
  assert.equal(message.callId, 'abc');
  assert.deepEqual(message.cseq, { seq: 9, method: 'OPTIONS' });
  assert.equal(message.maxForwards, 68);
  assert.deepEqual(message.optionTags('supported'), ['path', 'outbound']);
  assert.equal(message.contactStar, true);
  assert.deepEqual(message.headers('via').length, 3);
});

test('CRLFs before the start line are skipped and bytes after the body ignored', () => {
  const message = parseMessage(Buffer.concat([Buffer.from('\r\n\r\n'), INVITE, Buffer.from('garbage')]));
  assert.equal(message.body.toString(), 'v=0\n');
  assert.deepEqual(message.serialize(), INVITE);
});

test('without Content-Length a datagram body is the rest of the datagram', () => {
  const message = parseMessage(crlf(['MESSAGE sip:a@b SIP/2.0', 'Via: SIP/2.0/UDP h;branch=z9hG4bK1', '', 'hello']));
  assert.equal(message.body.toString(), 'hello');
});

test('Content-Length counts bytes, not characters', () => {
  const body = 'héllo ✓';
  const message = parseMessage(
    crlf(['MESSAGE sip:a@b SIP/2.0', `Content-Length: ${Buffer.byteLength(body)}`, '', `${body}trailing`]),
  );
  assert.equal(message.body.toString('utf8'), body);
});

test('lazy headers are checked only when read', () => {
  const message = parseMessage(crlf(['OPTIONS sip:a@b SIP/2.0', 'Expires: soon', 'Date: Fri, 01 Jan 2010 16:00:00 EST', '', '']));
  assert.throws(() => message.expires(), { code: 'ERR_SIP_INVALID_HEADER_VALUE' });
  assert.throws(() => message.date(), { code: 'ERR_SIP_INVALID_HEADER_VALUE' });
  const good = parseMessage(crlf(['OPTIONS sip:a@b SIP/2.0', 'Expires: 3600', 'Date: Sat, 13 Nov 2010 23:29:00 GMT', '', '']));
  assert.equal(good.expires(), 3600);
  assert.equal(good.date()?.toISOString(), '2010-11-13T23:29:00.000Z');
});

test('start line errors', () => {
  fails(crlf(['INVITE  sip:a@b SIP/2.0', '', '']), 'ERR_SIP_INVALID_START_LINE');
  fails(crlf(['INVITE sip:a@b SIP/2.0 ', '', '']), 'ERR_SIP_INVALID_START_LINE');
  fails(crlf(['INVITE sip:a@b', '', '']), 'ERR_SIP_INVALID_START_LINE');
  fails(crlf(['INVITE sip:a@b SIP/7.0', '', '']), 'ERR_SIP_UNSUPPORTED_VERSION');
  fails(crlf(['INV@ITE sip:a@b SIP/2.0', '', '']), 'ERR_SIP_INVALID_METHOD');
  fails(crlf(['INVITE <sip:a@b> SIP/2.0', '', '']), 'ERR_SIP_INVALID_URI');
  fails(crlf(['INVITE sip:a@b?Route=x SIP/2.0', '', '']), 'ERR_SIP_INVALID_URI');
  fails(crlf(['SIP/2.0 4294967301 Big', '', '']), 'ERR_SIP_INVALID_STATUS_CODE');
  fails(crlf(['SIP/2.0 099 Low', '', '']), 'ERR_SIP_INVALID_STATUS_CODE');
  fails(crlf(['SIP/3.0 200 OK', '', '']), 'ERR_SIP_UNSUPPORTED_VERSION');
  assert.equal(parseMessage(crlf(['SIP/2.0 100 ', '', ''])).reason, '');
});

test('header errors carry the byte offset of the fault', () => {
  const input = crlf(['OPTIONS sip:a@b SIP/2.0', 'Via: SIP/2.0/UDP h;branch=z9hG4bK1', 'NoColonHere', '', '']);
  const error = fails(input, 'ERR_SIP_INVALID_HEADER');
  assert.equal(error.offset, input.indexOf('NoColonHere'));
  fails(crlf(['OPTIONS sip:a@b SIP/2.0', ' folded first', '', '']), 'ERR_SIP_INVALID_HEADER');
  fails(crlf(['OPTIONS sip:a@b SIP/2.0', 'Bad Name: x', '', '']), 'ERR_SIP_INVALID_HEADER');
  fails(crlf(['OPTIONS sip:a@b SIP/2.0', 'Call-ID: a', 'i: b', '', '']), 'ERR_SIP_DUPLICATE_HEADER');
  fails(crlf(['OPTIONS sip:a@b SIP/2.0', 'Content-Length: 0', 'l: 0', '', '']), 'ERR_SIP_DUPLICATE_HEADER');
  fails(crlf(['OPTIONS sip:a@b SIP/2.0', 'CSeq: 2147483648 OPTIONS', '', '']), 'ERR_SIP_INVALID_CSEQ');
  fails(crlf(['OPTIONS sip:a@b SIP/2.0', 'Max-Forwards: 256', '', '']), 'ERR_SIP_INVALID_HEADER_VALUE');
  fails(crlf(['OPTIONS sip:a@b SIP/2.0', 'Content-Length: -1', '', '']), 'ERR_SIP_INVALID_CONTENT_LENGTH');
  fails(crlf(['OPTIONS sip:a@b SIP/2.0', 'Content-Length: 10', '', 'short']), 'ERR_SIP_BODY_TRUNCATED');
  fails(crlf(['OPTIONS sip:a@b SIP/2.0', 'Via: SIP/2.0/UDP h;;', '', '']), 'ERR_SIP_INVALID_VIA');
  fails(crlf(['OPTIONS sip:a@b SIP/2.0', 'Via: SIP/2.0/UDP h,,SIP/2.0/UDP g', '', '']), 'ERR_SIP_INVALID_VIA');
  fails(crlf(['OPTIONS sip:a@b SIP/2.0', 'To: "open <sip:a@b>', '', '']), 'ERR_SIP_INVALID_NAME_ADDR');
  fails(crlf(['OPTIONS sip:a@b SIP/2.0', 'Contact: *, <sip:a@b>', '', '']), 'ERR_SIP_INVALID_NAME_ADDR');
  fails(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nVia: x'), 'ERR_SIP_INCOMPLETE_HEADERS');
  fails(Buffer.from('\r\n\r\n'), 'ERR_SIP_EMPTY_MESSAGE');
});

test('limits: header bytes, header count, line length and body size', () => {
  const many = ['OPTIONS sip:a@b SIP/2.0', ...Array.from({ length: 20 }, (_, i) => `X-H${i}: ${i}`), '', ''];
  fails(crlf(many), 'ERR_SIP_TOO_MANY_HEADERS', { limits: { maxHeaders: 10 } });
  fails(crlf(many), 'ERR_SIP_HEADERS_TOO_LARGE', { limits: { maxHeaderBytes: 100 } });
  fails(crlf(['OPTIONS sip:a@b SIP/2.0', `X-Long: ${'a'.repeat(200)}`, '', '']), 'ERR_SIP_LINE_TOO_LONG', { limits: { maxLineLength: 100 } });
  fails(crlf(['OPTIONS sip:a@b SIP/2.0', 'Content-Length: 20', '', 'x'.repeat(20)]), 'ERR_SIP_BODY_TOO_LARGE', { limits: { maxBodyBytes: 10 } });
  fails(Buffer.from(`OPTIONS sip:a@b SIP/2.0\r\nX: ${'y'.repeat(300)}`), 'ERR_SIP_HEADERS_TOO_LARGE', { limits: { maxHeaderBytes: 100 } });
  assert.throws(() => parseMessage(INVITE, { limits: { maxHeaders: 0 } }), RangeError);
});

test('bytes outside ASCII: a Call-ID or a Request-URI holding them is malformed, not decoded', () => {
  const call = (id: string): Buffer => Buffer.from(`OPTIONS sip:a@b SIP/2.0\r\nCall-ID: ${id}\r\n\r\n`, 'latin1');
  // Decoded as UTF-8 both would be "x\uFFFD" and share transaction keys.
  fails(call('x\xff'), 'ERR_SIP_INVALID_HEADER_VALUE');
  fails(call('x\xfe'), 'ERR_SIP_INVALID_HEADER_VALUE');
  fails(Buffer.from('OPTIONS tel:+1\xff SIP/2.0\r\n\r\n', 'latin1'), 'ERR_SIP_INVALID_URI');
  assert.equal(parseMessage(call('a7-b@c.example')).callId, 'a7-b@c.example');
});

test('a folded value reads as one space where the fold and the blanks around it were (§7.3.1)', () => {
  const message = parseMessage(Buffer.from('OPTIONS sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: c1\r\nCSeq: 3 \r\n\tOPTIONS\r\nContent-Length: 0\r\n\r\n'));
  assert.equal(message.header('cseq'), '3 OPTIONS');
  assert.equal(message.headerBytes('cseq'), '3 OPTIONS');
});
