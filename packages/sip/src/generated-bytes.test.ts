import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SipError } from './errors.js';
import { parseMessage } from './parser.js';
import { buildAckForFailure, buildCancel } from './request-builders.js';
import { buildResponse, buildResponseWithin, rejectionResponse } from './response.js';

/**
 * Generated messages copy header bytes exactly (RFC 3261 §8.2.6.2, §9.1, §17.1.1.3), whatever
 * they are: quoted strings may hold any byte but `"`, `\`, CR and LF, UTF-8 or not.
 */

/** Bytes for a quoted string: mostly non-ASCII (often invalid UTF-8), some visible ASCII. */
const quotedBytes = fc.array(
  fc.oneof(fc.integer({ min: 0x80, max: 0xff }), fc.integer({ min: 0x20, max: 0x7e }).filter((b) => b !== 0x22 && b !== 0x5c)),
  { minLength: 1, maxLength: 40 },
);

const latin1 = (bytes: number[]): string => Buffer.from(bytes).toString('latin1');

interface Hostile {
  readonly bytes: Buffer;
  readonly lines: Record<'via' | 'from' | 'to' | 'call-id' | 'cseq', string>;
}

function hostileInvite(fromName: number[], toName: number[], viaValue: number[], version = 'SIP/2.0'): Hostile {
  const lines = {
    via: `Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKx;x="${latin1(viaValue)}"`,
    from: `From: "${latin1(fromName)}" <sip:alice@example.com>;tag=f1`,
    to: `To: "${latin1(toName)}" <sip:bob@example.com>`,
    'call-id': 'Call-ID: c1@example.com',
    cseq: 'CSeq: 1 INVITE',
  };
  const text = [`INVITE sip:bob@example.com ${version}`, lines.via, 'Max-Forwards: 70', lines.from, lines.to, lines['call-id'], lines.cseq, 'Content-Length: 0', '', ''].join('\r\n');
  return { bytes: Buffer.from(text, 'latin1'), lines };
}

/** The header lines of a message, as byte strings. */
function headerLines(bytes: Buffer): string[] {
  const text = bytes.toString('latin1');
  return text.slice(0, text.indexOf('\r\n\r\n')).split('\r\n').slice(1);
}

function assertCopied(generated: Buffer, hostile: Hostile, names: ReadonlyArray<keyof Hostile['lines']>): void {
  const lines = headerLines(generated);
  for (const name of names) {
    const expected = hostile.lines[name];
    const prefix = expected.slice(0, expected.indexOf(':') + 1);
    const copied = lines.find((line) => line.startsWith(prefix));
    assert.ok(copied !== undefined, `${prefix} missing`);
    assert.ok(copied.startsWith(expected), `${prefix} not copied byte for byte:\n${copied}\n${expected}`);
  }
}

test('buildResponse copies Via, From, To, Call-ID and CSeq byte for byte, for any bytes', () => {
  fc.assert(
    fc.property(quotedBytes, quotedBytes, quotedBytes, fc.constantFrom(100, 180, 404, 486, 500, 503), (from, to, via, status) => {
      const hostile = hostileInvite(from, to, via);
      const response = buildResponse(parseMessage(hostile.bytes), status, { headers: [['Retry-After', '5']] });
      assertCopied(response, hostile, ['via', 'from', 'to', 'call-id', 'cseq']);
      assert.ok(response.length <= hostile.bytes.length + 64, 'no growth beyond the status line, the tag and Retry-After');
    }),
    { numRuns: 300 },
  );
});

test('rejectionResponse copies the header bytes of an unparseable request exactly', () => {
  fc.assert(
    fc.property(quotedBytes, quotedBytes, quotedBytes, (from, to, via) => {
      const hostile = hostileInvite(from, to, via, 'SIP/3.0');
      let error: unknown;
      try {
        parseMessage(hostile.bytes);
      } catch (caught) {
        error = caught;
      }
      assert.ok(error instanceof SipError);
      const response = rejectionResponse(hostile.bytes, error);
      assert.ok(response !== undefined);
      assert.match(response.toString('latin1'), /^SIP\/2\.0 505 /);
      assertCopied(response, hostile, ['via', 'from', 'to', 'call-id', 'cseq']);
      assert.ok(response.length <= hostile.bytes.length);
    }),
    { numRuns: 300 },
  );
});

test('CANCEL and the ACK of a failure copy Via, From and To byte for byte', () => {
  fc.assert(
    fc.property(quotedBytes, quotedBytes, quotedBytes, (from, to, via) => {
      const hostile = hostileInvite(from, to, via);
      const sent = parseMessage(hostile.bytes);
      const cancel = buildCancel(sent);
      assertCopied(cancel, hostile, ['via', 'from', 'to', 'call-id']);
      const failure = Buffer.from(`SIP/2.0 486 Busy Here\r\n${hostile.lines.via}\r\n${hostile.lines.from}\r\n${hostile.lines.to};tag=t\r\n${hostile.lines['call-id']}\r\n${hostile.lines.cseq}\r\nContent-Length: 0\r\n\r\n`, 'latin1');
      const ack = buildAckForFailure(sent, parseMessage(failure));
      assertCopied(ack, { ...hostile, lines: { ...hostile.lines, to: `${hostile.lines.to};tag=t` } }, ['via', 'from', 'to', 'call-id']);
      assert.ok(ack.length <= hostile.bytes.length + 16);
    }),
    { numRuns: 300 },
  );
});

test('a Via list edited by removeTopVia keeps the bytes of the values left', () => {
  const bytes = Buffer.from('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP p;branch=z9hG4bKp, SIP/2.0/UDP a;branch=z9hG4bKa;x="\xff\xfe\xe9"\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n', 'latin1');
  const response = parseMessage(bytes);
  response.removeTopVia();
  assert.ok(response.serialize().includes(Buffer.from('Via: SIP/2.0/UDP a;branch=z9hG4bKa;x="\xff\xfe\xe9"\r\n', 'latin1')));
  assert.equal(response.via.length, 1);
});

test('a 12.8 KB request of non-UTF-8 bytes draws a 513 no larger than itself', () => {
  const hostile = hostileInvite(new Array<number>(6_400).fill(0xff), new Array<number>(6_400).fill(0xfe), [0xe9]);
  const error = new SipError('ERR_SIP_HEADERS_TOO_LARGE', 'too large', 0);
  const response = rejectionResponse(hostile.bytes, error);
  assert.ok(response !== undefined);
  assert.match(response.toString('latin1'), /^SIP\/2\.0 513 Message Too Large\r\n/);
  assert.ok(response.length <= hostile.bytes.length, `${response.length} > ${hostile.bytes.length}`);
  assert.equal(rejectionResponse(hostile.bytes, error, { maxBytes: 100 }), undefined, 'too large for maxBytes: not built');
});

test('buildResponseWithin cuts a response down to the copied and required headers, or gives up', () => {
  const request = parseMessage(hostileInvite([0x41], [0x42], [0x43]).bytes);
  const big: Array<[string, string]> = [['Warning', `399 x "${'w'.repeat(1000)}"`], ['WWW-Authenticate', 'Digest realm="r", nonce="n"']];
  const limit = buildResponse(request, 401, { headers: big.slice(1), toTag: 't' }).length;
  const cut = buildResponseWithin(request, 401, limit, { headers: big, toTag: 't' });
  assert.ok(cut !== undefined && cut.length <= limit);
  const text = cut.toString('latin1');
  assert.match(text, /\r\nWWW-Authenticate: Digest realm="r", nonce="n"\r\n/);
  assert.doesNotMatch(text, /Warning/);
  const plain = buildResponseWithin(request, 486, limit, { headers: big });
  assert.doesNotMatch(plain?.toString('latin1') ?? '', /WWW-Authenticate|Warning/);
  assert.equal(buildResponseWithin(request, 486, 50), undefined);
  assert.deepEqual(buildResponseWithin(request, 486, 10_000, { headers: big, toTag: 't' }), buildResponse(request, 486, { headers: big, toTag: 't' }), 'the full response when it fits')
});

test('buildResponseWithin: a challenge may come on top of the limit, the copied headers and REGISTER bindings may not', () => {
  const register = parseMessage(Buffer.from('REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKr\r\nMax-Forwards: 70\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nCall-ID: r1\r\nCSeq: 1 REGISTER\r\nContact: <sip:a@192.0.2.1>\r\nContent-Length: 0\r\n\r\n'));
  const limit = register.rawBytes.length;
  const challenge: Array<[string, string]> = [
    ['WWW-Authenticate', `Digest realm="example.com", nonce="${'n'.repeat(48)}", algorithm=SHA-256, qop="auth"`],
    ['WWW-Authenticate', `Digest realm="example.com", nonce="${'n'.repeat(48)}", algorithm=MD5, qop="auth"`],
    ['Warning', '399 example.com "optional"'],
  ];
  const challengeBytes = challenge.slice(0, 2).reduce((sum, [name, value]) => sum + name.length + value.length + 4, 0);
  const cut = buildResponseWithin(register, 401, limit, { headers: challenge });
  assert.ok(cut !== undefined, 'digest authentication over UDP keeps working');
  assert.ok(cut.length > limit && cut.length <= limit + challengeBytes);
  assert.equal(cut.toString('latin1').match(/WWW-Authenticate/g)?.length, 2);
  assert.doesNotMatch(cut.toString('latin1'), /Warning/);
  const bindings = Array.from({ length: 20 }, (_, i): [string, string] => ['Contact', `<sip:a@192.0.2.${i}>;expires=600`]);
  assert.equal(buildResponseWithin(register, 200, limit, { headers: bindings }), undefined, 'a query answered with 20 bindings is not reflected');
  assert.ok(buildResponseWithin(register, 200, limit, { headers: [bindings[0] as [string, string], ['Date', new Date(0).toUTCString()]] }) !== undefined, 'one binding fits once Date goes');
});
