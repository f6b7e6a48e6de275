import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatNameAddr, parseNameAddr, scanTaggedAddress, tagOf } from './name-addr.js';

test('quoted display names keep escaped quotes and backslashes', () => {
  const value = parseNameAddr('"J Rosenberg \\\\\\""       <sip:jdrosen@example.com>  ;  tag = 98asjd8');
  assert.equal(value.displayName, 'J Rosenberg \\"');
  assert.equal(value.uriText, 'sip:jdrosen@example.com');
  assert.equal(tagOf(value), '98asjd8');
});

test('token display names, with and without a blank before <', () => {
  assert.equal(parseNameAddr('T. desk <sip:caller@example.com>').displayName, 'T. desk');
  assert.equal(parseNameAddr('caller<sip:caller@example.com>;tag=323').displayName, 'caller');
  assert.equal(parseNameAddr('<sip:x@y>').displayName, undefined);
});

test('in an addr-spec the parameters after the URI belong to the header', () => {
  const value = parseNameAddr('sip:user@example.com;tag=12;expires=60');
  assert.equal(value.uriText, 'sip:user@example.com');
  assert.deepEqual([...value.params], [
    ['tag', '12'],
    ['expires', '60'],
  ]);
  const spaced = parseNameAddr('sip:caller@example.net ;tag=134161461246');
  assert.equal(tagOf(spaced), '134161461246');
});

test('angle-bracketed URIs keep their own parameters', () => {
  const value = parseNameAddr('<sip:proxy.example.com;lr;transport=tcp>;x=1');
  assert.equal(value.uriText, 'sip:proxy.example.com;lr;transport=tcp');
  assert.equal(value.params.get('x'), '1');
});

test('rejects what RFC 3261 and RFC 4475 call malformed', () => {
  for (const bad of [
    '"unterminated <sip:a@b>',
    'Bell, Alexander <sip:a.g.bell@bell-tel.com>;tag=43',
    'sip:user@example.com?Route=%3Csip:sip.example.com%3E',
    '<sip:a@b',
    '<sip:a@b>;=x',
    '<sip:a@b> junk',
    '<>',
  ]) {
    assert.throws(() => parseNameAddr(bad), { code: 'ERR_SIP_INVALID_NAME_ADDR' }, bad);
  }
});

test('formatNameAddr quotes display names that are not tokens', () => {
  assert.equal(formatNameAddr({ displayName: 'Bob', uriText: 'sip:bob@b' }), 'Bob <sip:bob@b>');
  assert.equal(formatNameAddr({ displayName: 'Bob "B"', uriText: 'sip:bob@b' }), '"Bob \\"B\\"" <sip:bob@b>');
  assert.equal(formatNameAddr({ uriText: 'sip:bob@b', params: new Map([['tag', '1']]) }), '<sip:bob@b>;tag=1');
});

// scanTaggedAddress read the tag with this expression over the text after the URI until a scan
// without the cut replaced it: both must find the same tag.
const TAG_EXPRESSION = /;[ \t]*tag[ \t]*=[ \t]*([^;\s]+)/i;

test('scanTaggedAddress finds the tag the expression it replaced found', () => {
  const char = fc.constantFrom(...'tagTAGx=; \t\r\n\u00a0\u2003\ufeff1é"'.split(''));
  const params = fc.array(char, { maxLength: 30 }).map((chars) => chars.join(''));
  fc.assert(
    fc.property(params, (tail) => {
      const text = `<sip:bob@example.com>${tail}`;
      let tag: string | undefined;
      try {
        tag = scanTaggedAddress(text).tag;
      } catch {
        return;
      }
      assert.equal(tag, TAG_EXPRESSION.exec(text.slice(text.indexOf('>') + 1))?.[1], JSON.stringify(text));
    }),
    { numRuns: 5000 },
  );
  assert.equal(scanTaggedAddress('<sip:a@b>;Tag = x1 ;tag=x2').tag, 'x1');
  assert.equal(scanTaggedAddress('<sip:a@b>;tagx=1;tag=\u00a0;tag=ok').tag, 'ok');
});
