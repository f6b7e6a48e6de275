import assert from 'node:assert/strict';
import { getHashes } from 'node:crypto';
import { test } from 'node:test';
import {
  answerDigestChallenge,
  digestHa1,
  digestHash,
  digestResponse,
  formatDigestChallenge,
  formatDigestCredentials,
  parseAuthValues,
  parseDigestChallenges,
  parseDigestCredentials,
} from './digest.js';
import { isSipError } from './errors.js';

const malformed = (error: unknown): boolean => isSipError(error) && error.code === 'ERR_SIP_INVALID_AUTH_HEADER' && error.status === 400;

test('RFC 2617 §3.5 and RFC 7616 §3.9.1 responses (MD5 and SHA-256, qop=auth)', () => {
  const rfc2617 = digestResponse({
    algorithm: 'MD5',
    ha1: digestHa1('MD5', 'Mufasa', 'testrealm@host.com', 'Circle Of Life'),
    method: 'GET',
    uri: '/dir/index.html',
    nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
    qop: 'auth',
    nc: '00000001',
    cnonce: '0a4f113b',
  });
  assert.equal(rfc2617, '6629fae49393a05397450978507c4ef1');
  const rfc7616 = { method: 'GET', uri: '/dir/index.html', nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v', qop: 'auth', nc: '00000001', cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ' };
  assert.equal(digestResponse({ ...rfc7616, algorithm: 'MD5', ha1: digestHa1('MD5', 'Mufasa', 'http-auth@example.org', 'Circle of Life') }), '8ca523f5e9506fed4657c9700eebdbec');
  assert.equal(
    digestResponse({ ...rfc7616, algorithm: 'SHA-256', ha1: digestHa1('SHA-256', 'Mufasa', 'http-auth@example.org', 'Circle of Life') }),
    '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
  );
});

test('SHA-512-256 is SHA-512/256 (FIPS 180-4 IVs), not SHA-512 cut short', () => {
  assert.ok(getHashes().includes('sha512-256'), 'node:crypto has sha512-256');
  // FIPS 180-4 example: SHA-512/256("abc").
  assert.equal(digestHash('SHA-512-256', 'abc'), '53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23');
  assert.equal(digestHa1('SHA-512-256', 'alice', 'example.com', 'pw').length, 64);
});

test('a client answer verifies against the HA1 a server stores, for each algorithm', () => {
  for (const algorithm of ['MD5', 'SHA-256', 'SHA-512-256'] as const) {
    const challenge = { realm: 'example.com', nonce: 'abc', algorithm, qop: ['auth'] };
    const credentials = answerDigestChallenge(challenge, { username: 'alice', password: 'secret', method: 'REGISTER', uri: 'sip:example.com', nc: 3, cnonce: 'c1' });
    assert.equal(credentials.nc, '00000003');
    const expected = digestResponse({ algorithm, ha1: digestHa1(algorithm, 'alice', 'example.com', 'secret'), method: 'REGISTER', uri: 'sip:example.com', nonce: 'abc', qop: 'auth', nc: '00000003', cnonce: 'c1' });
    assert.equal(credentials.response, expected);
    assert.deepEqual(parseDigestCredentials(formatDigestCredentials(credentials)), credentials, `${algorithm} credentials survive formatting`);
  }
});

test('several challenges: one header per algorithm, or several in one value, in order', () => {
  const headers = (['SHA-256', 'SHA-512-256', 'MD5'] as const).map((algorithm) => formatDigestChallenge({ realm: 'example.com', nonce: 'n"1\\x', algorithm, qop: ['auth'] }));
  assert.equal(headers[0], 'Digest realm="example.com", nonce="n\\"1\\\\x", algorithm=SHA-256, qop="auth"');
  const parsed = parseDigestChallenges(headers.join(', '));
  assert.deepEqual(parsed.map((challenge) => challenge.algorithm), ['SHA-256', 'SHA-512-256', 'MD5']);
  assert.equal(parsed[0]?.nonce, 'n"1\\x', 'quoted-string escapes resolved');
  assert.deepEqual(parsed[2]?.qop, ['auth']);
  const stale = parseDigestChallenges('Digest realm="r", nonce="x", stale=TRUE, qop="auth,auth-int", opaque="o"');
  assert.deepEqual(stale, [{ realm: 'r', nonce: 'x', algorithm: 'MD5', qop: ['auth', 'auth-int'], stale: true, opaque: 'o' }]);
  // Unknown algorithms and other schemes are skipped, as a client skips what it cannot answer.
  assert.deepEqual(parseDigestChallenges('Basic realm="x", Digest realm="r", nonce="n", algorithm=SHA-1, Digest realm="r", nonce="m", algorithm=md5').map((c) => c.nonce), ['m']);
  assert.deepEqual(parseAuthValues('Basic dXNlcjpwYXNz, Digest realm="a,b", nonce="n"').map((value) => [value.scheme, value.params.get('realm')]), [['Basic', undefined], ['Digest', 'a,b']]);
});

test('credentials: blanks around = and commas, case of names, the default algorithm', () => {
  const credentials = parseDigestCredentials('Digest  USERNAME = "bob" ,realm="example.com",nonce="n",uri="sip:example.com", response="ABCDEF", qop=auth, nc=0000000a, cnonce="x y"');
  assert.deepEqual(credentials, { username: 'bob', realm: 'example.com', nonce: 'n', uri: 'sip:example.com', response: 'abcdef', algorithm: 'MD5', qop: 'auth', nc: '0000000a', cnonce: 'x y' });
  assert.equal(parseDigestCredentials('Basic dXNlcjpwYXNz'), undefined, 'another scheme is not ours to read');
  const noQop = parseDigestCredentials('Digest username="bob", realm="r", nonce="n", uri="sip:r", response="aa", opaque="o"');
  assert.equal(noQop?.qop, undefined);
  assert.equal(noQop?.opaque, 'o');
});

test('malformed values are ERR_SIP_INVALID_AUTH_HEADER (400)', () => {
  for (const value of [
    '',
    '   ',
    '"Digest"',
    'Digest username="bob", realm="r',
    'Digest username, realm="r"',
    'Digest username="a", username="b", realm="r", nonce="n", uri="u", response="r"',
    'Digest realm="r" nonce="n"',
    'Digest username="bob", realm="r", nonce="n", uri="sip:r"',
    'Digest username="bob", realm="r", nonce="n", uri="sip:r", response="aa", qop=auth, cnonce="c"',
    'Digest username="bob", realm="r", nonce="n", uri="sip:r", response="aa", qop=auth, nc=1, cnonce="c"',
    'Digest username="bob", realm="r", nonce="n", uri="sip:r", response="aa", qop=auth, nc=0000000g, cnonce="c"',
    'Digest username="bob", realm="r", nonce="n", uri="sip:r", response="aa", Digest username="eve"',
  ]) {
    assert.throws(() => parseDigestCredentials(value), malformed, JSON.stringify(value));
  }
  assert.throws(() => parseDigestChallenges('Digest nonce="n"'), malformed, 'a challenge needs a realm');
});
