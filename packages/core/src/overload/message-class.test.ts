import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyMessage, inShedFraction, mayBeNewWork, MUST_PROCESS, OVERLOAD_ACK, OVERLOAD_TAG_PREFIX, SCAN_LIMIT } from './message-class.js';

function request(method: string, to: string, extra: string[] = [], callId = 'c1@example.com'): Buffer {
  return Buffer.from(
    [
      `${method} sip:bob@example.com SIP/2.0`,
      'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1',
      'From: <sip:alice@example.com>;tag=a1',
      `To: ${to}`,
      `Call-ID: ${callId}`,
      `CSeq: 1 ${method}`,
      ...extra,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
    'latin1',
  );
}

test('out-of-dialog INVITE, REGISTER, SUBSCRIBE, OPTIONS and MESSAGE are new work (a hash >= 0)', () => {
  for (const method of ['INVITE', 'REGISTER', 'SUBSCRIBE', 'OPTIONS', 'MESSAGE', 'PUBLISH']) {
    const kind = classifyMessage(request(method, '<sip:bob@example.com>'));
    assert.ok(kind >= 0, method);
  }
});

test('mayBeNewWork guesses from the first two bytes: the methods of new work yes, ACK, BYE, CANCEL, PRACK, NOTIFY and responses no', () => {
  for (const method of ['INVITE', 'REGISTER', 'SUBSCRIBE', 'OPTIONS', 'MESSAGE', 'PUBLISH']) assert.equal(mayBeNewWork(request(method, '<sip:bob@example.com>')), true, method);
  for (const method of ['ACK', 'BYE', 'CANCEL', 'PRACK', 'NOTIFY', 'UPDATE']) assert.equal(mayBeNewWork(request(method, '<sip:bob@example.com>')), false, method);
  assert.equal(mayBeNewWork(Buffer.from('SIP/2.0 200 OK\r\n')), false, 'a response');
  assert.equal(mayBeNewWork(Buffer.from('I')), false, 'too short to tell');
  assert.equal(mayBeNewWork(Buffer.alloc(0)), false);
  // A guess, not a decision: an in-dialog re-INVITE counts too (classifyMessage tells it apart).
  assert.equal(mayBeNewWork(request('INVITE', '<sip:bob@example.com>;tag=b1')), true);
});

test('ACK, BYE, CANCEL, PRACK, in-dialog requests and responses must be processed', () => {
  assert.equal(classifyMessage(request('BYE', '<sip:bob@example.com>')), MUST_PROCESS, 'BYE even without a To tag');
  assert.equal(classifyMessage(request('CANCEL', '<sip:bob@example.com>')), MUST_PROCESS);
  assert.equal(classifyMessage(request('PRACK', '<sip:bob@example.com>;tag=b1')), MUST_PROCESS);
  assert.equal(classifyMessage(request('ACK', '<sip:bob@example.com>;tag=b1')), MUST_PROCESS);
  assert.equal(classifyMessage(request('INVITE', '<sip:bob@example.com>;tag=b1')), MUST_PROCESS, 're-INVITE');
  assert.equal(classifyMessage(request('SUBSCRIBE', 'sip:bob@example.com;TAG = b1')), MUST_PROCESS, 'tag in any case, blanks around =');
  assert.equal(classifyMessage(request('INFO', '<sip:bob@example.com>;x=1;tag=b1')), MUST_PROCESS);
  assert.equal(classifyMessage(Buffer.from('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <sip:b@h>\r\nCall-ID: c\r\n\r\n')), MUST_PROCESS);
});

test('compact forms and header names in any case are read', () => {
  const compact = Buffer.from('INVITE sip:b@h SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nt: <sip:b@h>;tag=x\r\ni: c\r\nCSeq: 1 INVITE\r\n\r\n');
  assert.equal(classifyMessage(compact), MUST_PROCESS);
  assert.ok(classifyMessage(Buffer.from('INVITE sip:b@h SIP/2.0\r\nt: <sip:b@h>\r\ni: c\r\nCSeq: 1 INVITE\r\n\r\n')) >= 0);
  const upper = Buffer.from('INVITE sip:b@h SIP/2.0\r\nTO : <sip:b@h>\r\nCALL-ID: c\r\nCSEQ: 1 INVITE\r\n\r\n');
  assert.ok(classifyMessage(upper) >= 0);
});

test('header names are matched whole: a name of the same length is another header, and methods are case-sensitive tokens', () => {
  // Call.ID and CSeQ-like names of the right length are not Call-ID or CSeq: without them, no decision.
  assert.equal(classifyMessage(Buffer.from('INVITE sip:b@h SIP/2.0\r\nTo: <sip:b@h>\r\nCall.ID: c\r\nCSeq: 1 INVITE\r\n\r\n')), MUST_PROCESS);
  assert.equal(classifyMessage(Buffer.from('INVITE sip:b@h SIP/2.0\r\nTo: <sip:b@h>\r\nCall-ID: c\r\nCSex: 1 INVITE\r\n\r\n')), MUST_PROCESS);
  assert.equal(classifyMessage(Buffer.from('INVITE sip:b@h SIP/2.0\r\nTx: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n')), MUST_PROCESS);
  // Contact and Subject (seven letters, as Call-ID) are other headers.
  assert.ok(classifyMessage(request('INVITE', '<sip:b@h>', ['Contact: <sip:a@h>', 'Subject: x'])) >= 0);
  // Methods are case-sensitive (RFC 3261 §7.1): "bye" is an extension method, new work without a To tag.
  assert.ok(classifyMessage(request('bye', '<sip:b@h>')) >= 0);
  assert.ok(classifyMessage(request('BYX', '<sip:b@h>')) >= 0);
  assert.equal(classifyMessage(request('ACK', `<sip:b@h>;tag=${OVERLOAD_TAG_PREFIX.toUpperCase()}1`)), MUST_PROCESS, 'our tag prefix is matched exactly');
});

test('a tag inside the To URI brackets is a URI parameter, not the To tag', () => {
  assert.ok(classifyMessage(request('INVITE', '<sip:bob@example.com;tag=uri>')) >= 0);
});

test('the ACK of one of our overload 503s is recognised by its To tag', () => {
  assert.equal(classifyMessage(request('ACK', `<sip:bob@example.com>;tag=${OVERLOAD_TAG_PREFIX}abc1`)), OVERLOAD_ACK);
  assert.equal(classifyMessage(request('ACK', '<sip:bob@example.com>')), MUST_PROCESS, 'an ACK without a tag: process normally');
});

test('on any doubt the message is processed normally', () => {
  const cases: Array<[string, Buffer]> = [
    ['no header end', Buffer.from('INVITE sip:b@h SIP/2.0\r\nTo: <sip:b@h>\r\nCall-ID: c\r\n')],
    ['no To', Buffer.from('INVITE sip:b@h SIP/2.0\r\nCall-ID: c\r\n\r\n')],
    ['no Call-ID', Buffer.from('INVITE sip:b@h SIP/2.0\r\nTo: <sip:b@h>\r\n\r\n')],
    ['empty Call-ID', Buffer.from('INVITE sip:b@h SIP/2.0\r\nTo: <sip:b@h>\r\nCall-ID:  \r\n\r\n')],
    ['no CSeq', Buffer.from('INVITE sip:b@h SIP/2.0\r\nTo: <sip:b@h>\r\nCall-ID: c\r\n\r\n')],
    ['two CSeq headers', Buffer.from('INVITE sip:b@h SIP/2.0\r\nTo: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nCSeq: 2 INVITE\r\n\r\n')],
    ['folded CSeq', Buffer.from('INVITE sip:b@h SIP/2.0\r\nTo: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1\r\n INVITE\r\n\r\n')],
    ['two To headers', Buffer.from('INVITE sip:b@h SIP/2.0\r\nTo: <sip:b@h>\r\nTo: <sip:b@h>;tag=1\r\nCall-ID: c\r\n\r\n')],
    ['folded To', Buffer.from('INVITE sip:b@h SIP/2.0\r\nTo: <sip:b@h>\r\n ;tag=1\r\nCall-ID: c\r\n\r\n')],
    ['a line without a colon', Buffer.from('INVITE sip:b@h SIP/2.0\r\nTo <sip:b@h>\r\nCall-ID: c\r\n\r\n')],
    ['method with a bad byte', Buffer.from('INV\u00ffITE sip:b@h SIP/2.0\r\nTo: <sip:b@h>\r\nCall-ID: c\r\n\r\n', 'latin1')],
    ['method too long', Buffer.from(`${'A'.repeat(40)} sip:b@h SIP/2.0\r\nTo: <sip:b@h>\r\nCall-ID: c\r\n\r\n`)],
    ['empty', Buffer.alloc(0)],
    ['only CRLFs', Buffer.from('\r\n\r\n\r\n')],
    ['headers past the scan limit', Buffer.from(`INVITE sip:b@h SIP/2.0\r\nX: ${'a'.repeat(SCAN_LIMIT)}\r\nTo: <sip:b@h>\r\nCall-ID: c\r\n\r\n`)],
  ];
  for (const [name, bytes] of cases) assert.equal(classifyMessage(bytes), MUST_PROCESS, name);
});

test('a folded header other than To, Call-ID and CSeq does not matter; bare LF line ends are read', () => {
  assert.ok(classifyMessage(Buffer.from('INVITE sip:b@h SIP/2.0\r\nSubject: a\r\n b\r\nTo: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n')) >= 0);
  assert.ok(classifyMessage(Buffer.from('INVITE sip:b@h SIP/2.0\nTo: <sip:b@h>\nCall-ID: c\nCSeq: 1 INVITE\n\n')) >= 0);
});

test('random and truncated bytes never throw', () => {
  const base = request('INVITE', '<sip:bob@example.com>');
  for (let n = 0; n < 2000; n++) {
    const bytes = Buffer.from(base.subarray(0, Math.floor(Math.random() * base.length)));
    for (let k = 0; k < 3; k++) bytes[Math.floor(Math.random() * bytes.length)] = Math.floor(Math.random() * 256);
    const kind = classifyMessage(bytes);
    assert.ok(Number.isInteger(kind) && kind >= -2);
  }
});

test('the shed decision is the same for a Call-ID each time, and spreads Call-IDs over the range', () => {
  const a = classifyMessage(request('INVITE', '<sip:b@h>', [], 'same@host'));
  assert.equal(classifyMessage(request('REGISTER', '<sip:b@h>', [], 'same@host')), a);
  let shed = 0;
  for (let n = 0; n < 1000; n++) if (inShedFraction(classifyMessage(request('INVITE', '<sip:b@h>', [], `${n}-4242@127.0.0.1`)), 0.3)) shed++;
  assert.ok(shed > 200 && shed < 400, `about 30% shed, got ${shed / 10}%`);
  assert.equal(inShedFraction(0xffffffff, 1), true, 'reduction 1 sheds every one');
  assert.equal(inShedFraction(0, 0), false, 'reduction 0 sheds none');
});

test('new work gets a CSeq hash: a retransmission has its original\'s, the next request of its Call-ID another', () => {
  const key = { cseqHash: -1 };
  const first = classifyMessage(request('REGISTER', '<sip:b@h>', [], 'phone@host'), key);
  const firstCSeq = key.cseqHash;
  assert.ok(first >= 0 && firstCSeq >= 0);
  assert.equal(classifyMessage(request('REGISTER', '<sip:b@h>', [], 'phone@host'), key), first);
  assert.equal(key.cseqHash, firstCSeq, 'a retransmission');
  const next = Buffer.from(request('REGISTER', '<sip:b@h>', [], 'phone@host').toString('latin1').replace('CSeq: 1 REGISTER', 'CSeq: 2 REGISTER'), 'latin1');
  assert.equal(classifyMessage(next, key), first, 'the same Call-ID');
  assert.notEqual(key.cseqHash, firstCSeq, 'another transaction');
  key.cseqHash = -1;
  classifyMessage(request('BYE', '<sip:b@h>;tag=1', [], 'phone@host'), key);
  assert.equal(key.cseqHash, -1, 'only new work writes the key');
});
