import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SipError } from './errors.js';
import { parseMessage } from './parser.js';
import { buildResponse, reasonPhrase, rejectionResponse } from './response.js';
import { INVITE, crlf } from './test-messages.js';

test('buildResponse copies Via, From, To, Call-ID and CSeq and tags To', () => {
  const request = parseMessage(INVITE);
  const response = parseMessage(buildResponse(request, 486, { toTag: 't1', headers: [['Retry-After', '30']] }));
  assert.equal(response.status, 486);
  assert.equal(response.reason, 'Busy Here');
  assert.equal(response.via[0]?.branch, 'z9hG4bK74bf9');
  assert.equal(response.fromTag, '9fxced76sl');
  assert.equal(response.toTag, 't1');
  assert.equal(response.callId, request.callId);
  assert.deepEqual(response.cseq, request.cseq);
  assert.equal(response.header('retry-after'), '30');
  assert.equal(response.contentLength, 0);
  const trying = parseMessage(buildResponse(request, 100));
  assert.equal(trying.toTag, undefined);
});

test('reason phrases fall back to the class phrase', () => {
  assert.equal(reasonPhrase(483), 'Too Many Hops');
  assert.equal(reasonPhrase(499), 'Bad Request');
  assert.equal(reasonPhrase(299), 'OK');
});

test('rejectionResponse answers a request that failed to parse', () => {
  const input = crlf([
    'INVITE sip:a@b SIP/7.0',
    'Via: SIP/2.0/UDP h:5060;branch=z9hG4bKbad',
    'Via: SIP/2.0/UDP g;branch=z9hG4bKbad2',
    'From: <sip:c@d>;tag=1',
    'To: <sip:a@b>',
    'Call-ID: bad-version',
    'CSeq: 1 INVITE',
    '',
    '',
  ]);
  let error: unknown;
  try {
    parseMessage(input);
  } catch (caught) {
    error = caught;
  }
  assert.ok(error instanceof SipError);
  const response = parseMessage(rejectionResponse(input, error) ?? Buffer.alloc(0));
  assert.equal(response.status, 505);
  assert.equal(response.reason, 'Version Not Supported');
  assert.equal(response.via.length, 2);
  assert.equal(response.callId, 'bad-version');
  assert.ok(response.toTag);
});

test('rejectionResponse names the fault in a 400 reason phrase and gives up when it cannot answer', () => {
  const input = crlf(['OPTIONS sip:a@b SIP/2.0', 'Via: SIP/2.0/UDP h;branch=z9hG4bK1', 'From: <sip:c@d>;tag=1', 'To: <sip:a@b>', 'Call-ID: x', 'CSeq: 99999999999 OPTIONS', '', '']);
  const error = new SipError('ERR_SIP_INVALID_CSEQ', 'bad', 0);
  assert.match(rejectionResponse(input, error)?.toString() ?? '', /^SIP\/2\.0 400 Malformed CSeq\r\n/);
  assert.equal(rejectionResponse(crlf(['OPTIONS sip:a@b SIP/2.0', 'Call-ID: x', '', '']), error), undefined);
  assert.equal(rejectionResponse(crlf(['ACK sip:a@b SIP/2.0', 'Via: SIP/2.0/UDP h', '', '']), error), undefined);
  assert.equal(rejectionResponse(crlf(['SIP/2.0 200 OK', '', '']), error), undefined);
});

test('rejectionResponse unfolds a folded line the way the parser does: the fold and its blanks become one space', () => {
  const input = crlf(['INFO sip:a@b SIP/7.0', 'Via: SIP/2.0/UDP h;branch=z9hG4bK1', 'From: <sip:c@d>;tag=1', 'To: <sip:a@b>', 'Call-ID: folded', 'CSeq: 3 ', '\tINFO', '', '']);
  const error = new SipError('ERR_SIP_UNSUPPORTED_VERSION', 'bad', 0);
  assert.match(rejectionResponse(input, error)?.toString('latin1') ?? '', /\r\nCSeq: 3 INFO\r\n/);
});

test('buildResponse without options writes the bytes the general way writes (folded, compact, edited, non-UTF-8 and tagged fields)', () => {
  const requests = [
    INVITE,
    crlf(['OPTIONS sip:a@b SIP/2.0', 'v: SIP/2.0/UDP h:5060;branch=z9hG4bK1', 'Via: SIP/2.0/TCP g;branch=z9hG4bK2,', '  SIP/2.0/UDP k;branch=z9hG4bK3', 'f: "Al\xe9" <sip:c@d>;tag=1', 't: <sip:a@b>', 'i: c1', 'CSeq: 1 OPTIONS', 'l: 0', '', '']),
    crlf(['BYE sip:a@b SIP/2.0', 'Via: SIP/2.0/UDP h:5060;branch=z9hG4bK1', 'From: <sip:c@d>;tag=1', 'To:', '  <sip:a@b>;tag=2', 'Call-ID: c2', 'CSeq: 2 BYE', 'Record-Route: <sip:p;lr>', 'Content-Length: 0', '', '']),
  ];
  for (const bytes of requests) {
    const request = parseMessage(Buffer.from(bytes.toString('latin1'), 'latin1'));
    const edited = request.clone();
    edited.setTopViaParams([['received', '192.0.2.9']]);
    for (const message of [request, edited]) {
      for (const status of [100, 180, 408, 487, 503]) {
        for (const options of [{}, { toTag: 'x1' }, { reason: 'Caf\u00e9' }]) {
          // A fresh To tag is random: both ways must add one, of the same form.
          const fresh = (bytes: Buffer): string => bytes.toString('latin1').replace(/;tag=[0-9a-f]{12}\r\n/, ';tag=(fresh)\r\n');
          assert.equal(fresh(buildResponse(message, status, options)), fresh(buildResponse(message, status, { ...options, headers: [] })), `${status} ${JSON.stringify(options)}`);
        }
      }
    }
  }
});
