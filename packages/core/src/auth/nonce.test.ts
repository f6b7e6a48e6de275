import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NonceMint, newNonceSecret } from './nonce.js';

const SECRET = Buffer.from(newNonceSecret(), 'hex');

test('a nonce is fresh until its lifetime ends, then expired; any holder of the secret verifies it', () => {
  const mint = new NonceMint(SECRET, 'example.com', 300_000);
  const now = 1_700_000_000_000;
  const nonce = mint.issue(now);
  assert.match(nonce, /^[A-Za-z0-9_-]{48}$/);
  assert.notEqual(mint.issue(now), nonce, 'two nonces of one millisecond differ');
  assert.deepEqual(mint.check(nonce, now + 299_999), { kind: 'fresh', issuedAt: now, expiresAt: now + 300_000 });
  assert.deepEqual(mint.check(nonce, now + 300_000), { kind: 'expired', issuedAt: now, expiresAt: now + 300_000 });
  const otherWorker = new NonceMint(Buffer.from(SECRET), 'example.com', 300_000);
  assert.equal(otherWorker.check(nonce, now).kind, 'fresh', 'stateless: another worker with the secret accepts it');
});

test('tampered, foreign and malformed nonces are forged', () => {
  const mint = new NonceMint(SECRET, 'example.com', 300_000);
  const nonce = mint.issue();
  for (let i = 0; i < nonce.length; i += 7) {
    const flipped = nonce.slice(0, i) + (nonce[i] === 'A' ? 'B' : 'A') + nonce.slice(i + 1);
    assert.equal(mint.check(flipped).kind, 'forged', `character ${i} changed`);
  }
  // A later issue time written over the first bytes (to stretch its life) breaks the MAC.
  const bytes = Buffer.from(nonce, 'base64url');
  bytes.writeBigUInt64BE(BigInt(Date.now() + 3_600_000), 0);
  assert.equal(mint.check(bytes.toString('base64url')).kind, 'forged');
  assert.equal(new NonceMint(SECRET, 'other.example', 300_000).check(nonce).kind, 'forged', 'bound to the realm');
  assert.equal(new NonceMint(Buffer.from(newNonceSecret(), 'hex'), 'example.com', 300_000).check(nonce).kind, 'forged', 'bound to the secret');
  for (const junk of ['', 'abc', `${nonce}A`, nonce.replace(/.$/, '='), 'dcd98b7102dd2f0e8b11d0f600bfb0c093']) assert.equal(mint.check(junk).kind, 'forged', junk);
  assert.throws(() => new NonceMint(Buffer.alloc(8), 'r', 1000), RangeError);
});
