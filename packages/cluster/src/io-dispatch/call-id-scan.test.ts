import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scanCallId } from './call-id-scan.js';

const message = (...headers: string[]): Buffer => Buffer.from(['INVITE sip:a@b SIP/2.0', ...headers, '', 'body: Call-ID: not-a-header'].join('\r\n'));

test('the Call-ID is read from raw bytes: long and compact names, any case, spaces before the colon', () => {
  assert.equal(scanCallId(message('Via: x', 'Call-ID: abc@host', 'CSeq: 1 INVITE')), 'abc@host');
  assert.equal(scanCallId(message('call-id:abc')), 'abc');
  assert.equal(scanCallId(message('CALL-ID \t:  spaced  ')), 'spaced');
  assert.equal(scanCallId(message('i: compact')), 'compact');
  assert.equal(scanCallId(Buffer.from('SIP/2.0 200 OK\r\nI:resp\r\n\r\n')), 'resp');
});

test('no Call-ID header (the body does not count), an empty one, or bytes that are not SIP: undefined', () => {
  assert.equal(scanCallId(message('Via: x', 'Call-Info: <http://x>', 'id: 4')), undefined);
  assert.equal(scanCallId(message('Call-ID:   ')), undefined);
  assert.equal(scanCallId(Buffer.from('garbage without lines')), undefined);
  assert.equal(scanCallId(Buffer.alloc(0)), undefined);
  assert.equal(scanCallId(Buffer.from('X\nCall-ID: bare-lf\n\n')), 'bare-lf');
});
