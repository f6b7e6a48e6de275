import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StreamFramer, findContentLength, type FrameEvent } from './framer.js';
import { INVITE, RINGING, crlf } from './test-messages.js';

function messages(events: FrameEvent[]): string[] {
  return events.map((event) => (event.kind === 'message' ? event.bytes.toString('latin1') : event.kind));
}

test('several messages in one chunk, and one message over many chunks', () => {
  const framer = new StreamFramer();
  assert.deepEqual(messages(framer.push(Buffer.concat([INVITE, RINGING, INVITE]))), [
    INVITE.toString('latin1'),
    RINGING.toString('latin1'),
    INVITE.toString('latin1'),
  ]);
  const events: FrameEvent[] = [];
  for (const byte of RINGING) events.push(...framer.push(Buffer.from([byte])));
  assert.deepEqual(messages(events), [RINGING.toString('latin1')]);
  assert.equal(framer.bufferedBytes, 0);
});

test('RFC 5626 keep-alives: CRLFCRLF is a ping, a lone CRLF a pong', () => {
  const framer = new StreamFramer();
  assert.deepEqual(messages(framer.push(Buffer.from('\r\n\r\n'))), ['ping']);
  assert.deepEqual(messages(framer.push(Buffer.from('\r\n'))), []);
  assert.deepEqual(messages(framer.push(INVITE)), ['pong', INVITE.toString('latin1')]);
  assert.deepEqual(messages(framer.push(Buffer.from('\r\n'))), []);
  assert.deepEqual(messages(framer.push(Buffer.from('\r\n'))), ['ping']);
});

test('a message without Content-Length has no body on a stream', () => {
  const framer = new StreamFramer();
  const bare = crlf(['OPTIONS sip:a@b SIP/2.0', 'Call-ID: x', '', '']);
  assert.deepEqual(messages(framer.push(Buffer.concat([bare, bare]))), [bare.toString('latin1'), bare.toString('latin1')]);
});

test('framing errors: limits, bad and conflicting Content-Length, stray bytes', () => {
  assert.throws(() => new StreamFramer({ limits: { maxHeaderBytes: 64 } }).push(Buffer.alloc(100, 0x41)), { code: 'ERR_SIP_HEADERS_TOO_LARGE' });
  assert.throws(
    () => new StreamFramer({ limits: { maxBodyBytes: 10 } }).push(crlf(['MESSAGE sip:a@b SIP/2.0', 'l: 11', '', ''])),
    { code: 'ERR_SIP_BODY_TOO_LARGE' },
  );
  assert.throws(() => new StreamFramer().push(crlf(['MESSAGE sip:a@b SIP/2.0', 'Content-Length: ten', '', ''])), {
    code: 'ERR_SIP_INVALID_CONTENT_LENGTH',
  });
  assert.throws(() => new StreamFramer().push(crlf(['MESSAGE sip:a@b SIP/2.0', 'Content-Length: 1', 'l: 2', '', ''])), {
    code: 'ERR_SIP_DUPLICATE_HEADER',
  });
  assert.throws(() => new StreamFramer().push(Buffer.from('\n\n')), { code: 'ERR_SIP_INVALID_START_LINE' });
  assert.throws(() => new StreamFramer().push(Buffer.from('\r\n\rX')), { code: 'ERR_SIP_INVALID_START_LINE' });
});

test('findContentLength reads long, compact and folded forms', () => {
  const check = (lines: string[]): number | undefined => {
    const bytes = crlf([...lines, '', '']);
    return findContentLength(bytes, 0, bytes.length - 2);
  };
  assert.equal(check(['X sip:a SIP/2.0', 'content-LENGTH   :  42']), 42);
  assert.equal(check(['X sip:a SIP/2.0', 'L:7']), 7);
  assert.equal(check(['X sip:a SIP/2.0', 'Content-Length:', '  13']), 13);
  assert.equal(check(['X sip:a SIP/2.0', 'Location: 5', 'Content-Type: a/b']), undefined);
});
