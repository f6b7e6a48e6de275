import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseUri } from './uri.js';
import { uriEquals } from './uri-equality.js';

const equal = (a: string, b: string): boolean => uriEquals(parseUri(a), parseUri(b));

function assertEqual(a: string, b: string): void {
  assert.ok(equal(a, b), `${a} should equal ${b}`);
  assert.ok(equal(b, a), `${b} should equal ${a} (symmetry)`);
}

function assertUnequal(a: string, b: string): void {
  assert.ok(!equal(a, b), `${a} should not equal ${b}`);
  assert.ok(!equal(b, a), `${b} should not equal ${a} (symmetry)`);
}

test('RFC 3261 §19.1.4: the URIs it gives as equivalent', () => {
  assertEqual('sip:%61lice@atlanta.com;transport=TCP', 'sip:alice@AtLanTa.CoM;Transport=tcp');
  assertEqual('sip:carol@chicago.com', 'sip:carol@chicago.com;newparam=5');
  assertEqual('sip:carol@chicago.com', 'sip:carol@chicago.com;security=on');
  assertEqual('sip:carol@chicago.com;newparam=5', 'sip:carol@chicago.com;security=on');
  assertEqual('sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com', 'sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com');
  assertEqual('sip:alice@atlanta.com?subject=project%20x&priority=urgent', 'sip:alice@atlanta.com?priority=urgent&subject=project%20x');
});

test('RFC 3261 §19.1.4: the URIs it gives as not equivalent', () => {
  assertUnequal('SIP:ALICE@AtLanTa.CoM;Transport=udp', 'sip:alice@AtLanTa.CoM;Transport=UDP');
  assertUnequal('sip:bob@biloxi.com', 'sip:bob@biloxi.com:5060');
  assertUnequal('sip:bob@biloxi.com', 'sip:bob@biloxi.com;transport=udp');
  assertUnequal('sip:bob@biloxi.com', 'sip:bob@biloxi.com:6000;transport=tcp');
  assertUnequal('sip:carol@chicago.com', 'sip:carol@chicago.com?Subject=next%20meeting');
  assertUnequal('sip:bob@phone21.boxesbybob.com', 'sip:bob@192.0.2.4');
  // Not transitive: both equal sip:carol@chicago.com, not each other.
  assertUnequal('sip:carol@chicago.com;security=on', 'sip:carol@chicago.com;security=off');
});

test('scheme, user, password, host and port', () => {
  assertUnequal('sip:alice@atlanta.com', 'sips:alice@atlanta.com');
  assertUnequal('sip:atlanta.com', 'sip:alice@atlanta.com');
  assertUnequal('sip:alice@atlanta.com', 'sip:alice:secret@atlanta.com');
  assertUnequal('sip:alice:secret@atlanta.com', 'sip:alice:Secret@atlanta.com');
  assertEqual('sip:alice:s%65cret@atlanta.com', 'sip:alice:secret@atlanta.com');
  assertUnequal('sip:Alice@atlanta.com', 'sip:alice@atlanta.com');
  assertEqual('sip:alice@192.0.2.1:5070', 'sip:alice@192.0.2.1:5070');
  assertUnequal('sip:alice@192.0.2.1:5070', 'sip:alice@192.0.2.1:5071');
  assertEqual('sip:alice@[2001:DB8::1]', 'sip:alice@[2001:db8:0:0:0:0:0:1]');
  assertUnequal('sip:alice@[2001:db8::1]', 'sip:alice@[2001:db8::2]');
  assertEqual('sip:a@[::ffff:192.0.2.1]', 'sip:a@[0:0:0:0:0:ffff:c000:201]');
});

test('escapes: an unreserved character equals its escape, a reserved one does not; escape case does not matter', () => {
  assertEqual('sip:%61%6C%69%63%65@atlanta.com', 'sip:alice@atlanta.com');
  assertEqual('sip:a%3bb@atlanta.com', 'sip:a%3Bb@atlanta.com');
  assertUnequal('sip:a%3Bb@atlanta.com', 'sip:a;b@atlanta.com');
  assertUnequal('sip:%FF@atlanta.com', 'sip:%FE@atlanta.com');
  assertEqual('sip:%ff@atlanta.com', 'sip:%FF@atlanta.com');
  assertEqual('sip:a@h;transport=%75dp', 'sip:a@h;transport=UDP');
});

test('parameters: transport, user, ttl, method and maddr must match if either has them; others only if both', () => {
  for (const param of ['transport=udp', 'user=phone', 'ttl=1', 'method=INVITE', 'maddr=239.255.255.1']) {
    assertUnequal('sip:alice@atlanta.com', `sip:alice@atlanta.com;${param}`);
  }
  assertEqual('sip:alice@atlanta.com;user=phone;transport=tcp', 'sip:alice@atlanta.com;transport=TCP;user=Phone');
  assertUnequal('sip:alice@atlanta.com;transport=tcp', 'sip:alice@atlanta.com;transport=udp');
  assertEqual('sip:alice@atlanta.com;ob', 'sip:alice@atlanta.com');
  assertEqual('sip:alice@atlanta.com;lr', 'sip:alice@atlanta.com;lr');
  assertUnequal('sip:alice@atlanta.com;x=1', 'sip:alice@atlanta.com;x=2');
  assertUnequal('sip:alice@atlanta.com;x', 'sip:alice@atlanta.com;x=1');
});

test('headers: all of them, in any order, names case-insensitively', () => {
  assertEqual('sip:a@h?Subject=hi&Priority=urgent', 'sip:a@h?priority=urgent&subject=hi');
  assertUnequal('sip:a@h?subject=hi', 'sip:a@h?subject=hi&priority=urgent');
  assertUnequal('sip:a@h?subject=hi', 'sip:a@h?subject=bye');
});

test('other schemes compare by scheme and escaped text', () => {
  assertEqual('tel:+1-201-555-0123', 'TEL:+1-201-555-0123');
  assertUnequal('tel:+1-201-555-0123', 'tel:+1-201-555-0124');
  assertUnequal('tel:+1', 'sip:+1@h');
});

/** A URI in random but equivalent spellings. */
const spelling = fc.record({
  user: fc.stringMatching(/^[a-z0-9._-]{1,8}$/),
  host: fc.stringMatching(/^[a-z][a-z0-9]{0,6}\.(com|net)$/),
  port: fc.option(fc.integer({ min: 1, max: 65000 }), { nil: undefined }),
  params: fc.uniqueArray(fc.constantFrom('transport=udp', 'transport=tcp', 'user=phone', 'lr', 'ob', 'x=1', 'maddr=h.example'), { selector: (p) => p.split('=')[0] }),
  seed: fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }),
});

test('property: equivalent spellings are equal, and equality is symmetric', () => {
  fc.assert(
    fc.property(spelling, ({ user, host, port, params, seed }) => {
      let k = 0;
      const flip = (): boolean => seed[k++ % seed.length] === true;
      const escaped = [...user].map((c) => (flip() ? `%${c.charCodeAt(0).toString(16)}` : c)).join('');
      const upperHost = [...host].map((c) => (flip() ? c.toUpperCase() : c)).join('');
      const shuffled = [...params].sort(() => (flip() ? 1 : -1)).map((p) => (flip() ? p.toUpperCase() : p));
      const portText = port === undefined ? '' : `:${port}`;
      const a = `sip:${user}@${host}${portText}${params.map((p) => `;${p}`).join('')}`;
      const b = `sip:${escaped}@${upperHost}${portText}${shuffled.map((p) => `;${p}`).join('')}`;
      assert.ok(equal(a, b), `${a} vs ${b}`);
      assert.ok(equal(b, a));
      assert.ok(!equal(a, `sip:${user}@${host}:${(port ?? 5060) + 1}`), 'another port');
    }),
    { numRuns: 500 },
  );
});
