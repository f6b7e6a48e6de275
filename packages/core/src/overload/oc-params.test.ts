import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseVia } from '@switchboard/sip';
import { MAX_OC_VALIDITY_MS, ocSeqNow, ocServerParams, readOcAnnouncement, withOcParams } from './oc-params.js';

test('the server parameters, as in RFC 7339 §5.2', () => {
  assert.deepEqual(ocServerParams(20, 500, '1282321615.782'), [['oc', '20'], ['oc-algo', '"loss"'], ['oc-validity', '500'], ['oc-seq', '1282321615.782']]);
  assert.equal(ocServerParams(140, -3, '1')[0]?.[1], '100', 'clamped');
  assert.equal(ocSeqNow(1282321615782), '1282321615.782');
});

test("a client's Via with oc gets the server's values; its oc-algo list is replaced, other bytes kept", () => {
  const via = 'SIP/2.0/TCP p1.example.net;branch=z9hG4bK2d4790.1;received=192.0.2.111;oc;oc-algo="loss,A"';
  assert.equal(
    withOcParams(via, ocServerParams(20, 500, '1282321615.782')),
    'SIP/2.0/TCP p1.example.net;branch=z9hG4bK2d4790.1;received=192.0.2.111;oc=20;oc-algo="loss";oc-validity=500;oc-seq=1282321615.782',
  );
  assert.equal(
    withOcParams('SIP/2.0/UDP a;branch=z9hG4bK1;oc, SIP/2.0/UDP b;branch=z9hG4bK2', [['oc', '5']]),
    'SIP/2.0/UDP a;branch=z9hG4bK1;oc=5, SIP/2.0/UDP b;branch=z9hG4bK2',
    'only the top value of a list',
  );
});

test('a Via without oc, or one we cannot read safely, is left alone', () => {
  assert.equal(withOcParams('SIP/2.0/UDP a;branch=z9hG4bK1', [['oc', '5']]), undefined);
  assert.equal(withOcParams('SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;oc', [['oc', '5']]), undefined, 'oc in a lower value only');
  assert.equal(withOcParams('SIP/2.0/UDP a;x="unterminated;oc', [['oc', '5']]), undefined);
  assert.equal(withOcParams('SIP/2.0/UDP a', [['oc', '5']]), undefined);
  assert.equal(withOcParams('SIP/2.0/UDP a;x="a;oc"', [['oc', '5']]), undefined, 'oc inside quotes is no parameter');
});

test('announcements read from a Via: value, validity, seq; bad ones ignored', () => {
  const read = (text: string) => readOcAnnouncement(parseVia(text).params);
  assert.deepEqual(read('SIP/2.0/UDP a;branch=z9hG4bK1;oc=20;oc-algo="loss";oc-validity=1000;oc-seq=12.5'), { reduction: 20, validityMs: 1000, seq: 12.5 });
  assert.deepEqual(read('SIP/2.0/UDP a;branch=z9hG4bK1;oc=20'), { reduction: 20, validityMs: 500, seq: 0 }, 'RFC defaults');
  assert.equal(read('SIP/2.0/UDP a;branch=z9hG4bK1;oc')?.reduction, undefined, 'our own oc without a value');
  assert.equal(read('SIP/2.0/UDP a;branch=z9hG4bK1;oc=101'), undefined);
  assert.equal(read('SIP/2.0/UDP a;branch=z9hG4bK1;oc=-1'), undefined);
  assert.equal(read('SIP/2.0/UDP a;branch=z9hG4bK1;oc=abc'), undefined);
  assert.equal(read('SIP/2.0/UDP a;branch=z9hG4bK1;oc=10;oc-algo="rate"'), undefined, 'an algorithm we did not offer');
  assert.equal(read('SIP/2.0/UDP a;branch=z9hG4bK1;oc=10;oc-validity=99999999')?.validityMs, MAX_OC_VALIDITY_MS);
  assert.equal(read('SIP/2.0/UDP a;branch=z9hG4bK1;oc=10;oc-validity=x')?.validityMs, 500);
});
