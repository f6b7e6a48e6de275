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

test('a message begun in one chunk is completed from the next without copying the rest of it', () => {
  const framer = new StreamFramer();
  const cut = 100;
  assert.deepEqual(framer.push(INVITE.subarray(0, cut)), []);
  const next = Buffer.concat([INVITE.subarray(cut), RINGING, INVITE]);
  const events = framer.push(next);
  assert.deepEqual(messages(events), [INVITE, RINGING, INVITE].map((message) => message.toString('latin1')));
  // The messages after the completed one are views of the chunk as it was read.
  for (const event of events.slice(1)) assert.equal(event.kind === 'message' && event.bytes.buffer, next.buffer);
  assert.equal(framer.bufferedBytes, 0);
});

test('a message with a header section and body longer than the first bytes joined frames at any cut', () => {
  const header = `INVITE sip:u@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bKx\r\n${'X-Long: '.padEnd(9_000, 'a')}\r\nContent-Length: 5000\r\n\r\n`;
  const big = Buffer.concat([Buffer.from(header, 'latin1'), Buffer.alloc(5_000, 0x62)]);
  const stream = Buffer.concat([RINGING, big, Buffer.from('\r\n\r\n'), INVITE, big]);
  const expected = [RINGING.toString('latin1'), big.toString('latin1'), 'ping', INVITE.toString('latin1'), big.toString('latin1')];
  for (let step = 997; step <= 40_000; step = Math.round(step * 1.7)) {
    for (const offset of [0, 1, 350, 4_500, 9_050]) {
      const framer = new StreamFramer();
      const events: FrameEvent[] = [];
      let from = 0;
      for (let to = Math.min(offset, stream.length); from < stream.length; to = Math.min(stream.length, to + step)) {
        events.push(...framer.push(stream.subarray(from, to)));
        from = to;
      }
      assert.deepEqual(messages(events), expected, `chunks of ${step} after ${offset}`);
      assert.equal(framer.bufferedBytes, 0);
    }
  }
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
