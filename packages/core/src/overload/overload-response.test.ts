import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMessage } from '@switchboard/sip';
import { SCAN_LIMIT } from './message-class.js';
import { overloadResponse } from './overload-response.js';

const options = { toTag: 'sbol-t1', retryAfterSeconds: 2 };

function request(lines: string[], body = ''): Buffer {
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`, 'latin1');
}

const INVITE = [
  'INVITE sip:bob@example.com SIP/2.0',
  'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport',
  'via:  SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK0  ',
  'Max-Forwards: 70',
  'f: "Alice" <sip:alice@example.com>;tag=a1',
  'TO :<sip:bob@example.com>',
  'Call-ID: c1@host',
  'i: second-call-id',
  'CSeq: 1 INVITE',
  'Contact: <sip:alice@192.0.2.1>',
  'Content-Type: application/sdp',
  'Content-Length: 4',
];

test('the 503 copies every Via and the first From, To, Call-ID and CSeq byte for byte, with our To tag and Retry-After', () => {
  const bytes = overloadResponse(request(INVITE, 'v=0\r'), options);
  assert.ok(bytes);
  assert.equal(
    bytes.toString('latin1'),
    [
      'SIP/2.0 503 Service Unavailable',
      'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport',
      'Via: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK0',
      'From: "Alice" <sip:alice@example.com>;tag=a1',
      'To: <sip:bob@example.com>;tag=sbol-t1',
      'Call-ID: c1@host',
      'CSeq: 1 INVITE',
      'Retry-After: 2',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
  const parsed = parseMessage(bytes);
  assert.equal(parsed.status, 503);
  assert.equal(parsed.toTag, 'sbol-t1');
});

test('the top Via gets RFC 7339 parameters only when it carries oc; they are computed only then', () => {
  let asked = 0;
  const ocParams = (): Array<readonly [string, string]> => {
    asked++;
    return [['oc', '40'], ['oc-validity', '500']];
  };
  const plain = overloadResponse(request(INVITE), { ...options, ocParams });
  assert.match(plain?.toString('latin1') ?? '', /\r\nVia: SIP\/2\.0\/UDP 192\.0\.2\.1:5060;branch=z9hG4bK1;rport\r\n/);
  const algoOnly = overloadResponse(request(INVITE.map((line) => line.replace(';rport', ';oc-algo="loss"'))), { ...options, ocParams });
  assert.match(algoOnly?.toString('latin1') ?? '', /;oc-algo="loss"\r\n/, 'oc-algo without oc: left alone');
  const withOc = overloadResponse(request(INVITE.map((line) => line.replace(';rport', '; OC;oc-algo="loss"'))), { ...options, ocParams });
  const via = parseMessage(withOc as Buffer).topVia;
  assert.equal(via?.params.get('oc'), '40');
  assert.equal(via?.params.get('oc-validity'), '500');
  assert.equal(parseMessage(withOc as Buffer).headersBytes('via')[1], 'SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK0', 'only the top Via');
  assert.equal(asked, 2);
});

test('undefined when a header to match it is missing, a line is folded, or the headers do not end within the scan limit', () => {
  for (const [name, lines] of [
    ['no CSeq', INVITE.filter((line) => !line.startsWith('CSeq'))],
    ['no Via', INVITE.filter((line) => !/^via/i.test(line))],
    ['folded', [...INVITE.slice(0, 4), ' ;folded', ...INVITE.slice(4)]],
    ['only a request line', [INVITE[0] as string]],
  ] as const) {
    assert.equal(overloadResponse(request([...lines]), options), undefined, name);
  }
  assert.equal(overloadResponse(Buffer.from(INVITE.join('\r\n')), options), undefined, 'no blank line');
  assert.equal(overloadResponse(request([...INVITE, `X-Long: ${'a'.repeat(SCAN_LIMIT)}`]), options), undefined, 'past the scan limit');
});

test('a bare LF ends a header line as CRLF does: no LF is copied into a header of the 503', () => {
  const lines = [...INVITE];
  // The top Via ends in a bare LF, and the From follows it on what the 503 takes as its own line.
  lines[1] = `${INVITE[1]}\n${INVITE[4]}`;
  lines.splice(4, 1);
  const bytes = overloadResponse(request(lines), options);
  assert.ok(bytes);
  const text = bytes.toString('latin1');
  assert.ok(text.includes('Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport\r\n'), text);
  assert.ok(text.includes('From: "Alice" <sip:alice@example.com>;tag=a1\r\n'), text);
  assert.equal(text.replace(/\r\n/g, '').includes('\n'), false, 'every LF in the 503 ends a CRLF');
});

test('random and truncated bytes never throw', () => {
  const base = request(INVITE);
  for (let n = 0; n < 2000; n++) {
    const bytes = Buffer.from(base.subarray(0, Math.floor(Math.random() * (base.length + 1))));
    for (let k = 0; k < 3 && bytes.length > 0; k++) bytes[Math.floor(Math.random() * bytes.length)] = Math.floor(Math.random() * 256);
    const response = overloadResponse(bytes, options);
    assert.ok(response === undefined || response.subarray(0, 12).toString('latin1') === 'SIP/2.0 503 ');
  }
});
