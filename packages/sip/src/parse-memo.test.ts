import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSipError } from './errors.js';
import { parseNameAddr, parseNameAddrMemoized } from './name-addr.js';
import { memoizedParse } from './parse-memo.js';

test('memoizedParse: a text seen before gives the same result without parsing again', () => {
  let parses = 0;
  const parse = memoizedParse((text: string) => {
    parses++;
    return { text };
  });
  const first = parse('<sip:192.0.2.1:5060;lr>');
  assert.equal(parse('<sip:192.0.2.1:5060;lr>'), first);
  assert.equal(parses, 1);
  assert.notEqual(parse('<sip:192.0.2.2:5060;lr>'), first);
  assert.equal(parses, 2);
});

test('memoizedParse: a text that fails throws every time, with the offset of that call', () => {
  for (const offset of [10, 99]) {
    assert.throws(
      () => parseNameAddrMemoized('<sip:bad host>', offset),
      (error: unknown) => isSipError(error) && error.code === 'ERR_SIP_INVALID_NAME_ADDR' && error.offset === offset + 1,
    );
  }
});

test('memoizedParse: long texts are parsed each time; the memo stays bounded', () => {
  let parses = 0;
  const parse = memoizedParse((text: string) => {
    parses++;
    return { text };
  });
  const long = `<sip:${'a'.repeat(300)}@example.com>`;
  parse(long);
  parse(long);
  assert.equal(parses, 2);
  for (let i = 0; i < 3000; i++) parse(`<sip:u${i}@example.com>`);
  assert.equal(parses, 3002);
  parse('<sip:u2999@example.com>');
  assert.equal(parses, 3002, 'the newest values are still remembered after the memo started over');
});

test('parseNameAddrMemoized gives what parseNameAddr gives', () => {
  for (const text of ['<sip:192.0.2.1:5060;lr;sbd>', '"Bob" <sips:bob@example.com;transport=tls>;expires=60', 'sip:carol@example.com;q=0.5', 'Anna <tel:+1-555>']) {
    assert.deepEqual(parseNameAddrMemoized(text), parseNameAddr(text));
    assert.deepEqual(parseNameAddrMemoized(text), parseNameAddr(text));
  }
});
