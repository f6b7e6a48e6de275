import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { digestHa1 } from '@switchboard/sip';
import { AuthConfigError, formatUsersFile, loadUsersFile, parseUsersFile, userCredentials } from './credential-store.js';

const usersError = (pattern: RegExp) => (error: unknown): boolean => error instanceof AuthConfigError && error.code === 'ERR_SWITCHBOARD_AUTH_USERS' && pattern.test(error.message);

test('a users file holds HA1 per algorithm, read back into a store', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'switchboard-users-'));
  try {
    const path = join(dir, 'users.json');
    const alice = userCredentials('alice', 'example.com', 'wonderland');
    assert.equal(alice.ha1.MD5, digestHa1('MD5', 'alice', 'example.com', 'wonderland'));
    assert.ok(!JSON.stringify(alice).includes('wonderland'), 'the password is not kept');
    await writeFile(path, formatUsersFile([alice, userCredentials('bob', 'example.com', 'builder', ['SHA-256'])], 'test users'));
    const store = await loadUsersFile(path);
    assert.equal(store.size, 2);
    assert.equal(await store.ha1('alice', 'example.com', 'SHA-512-256'), alice.ha1['SHA-512-256']);
    assert.equal(await store.ha1('bob', 'example.com', 'MD5'), undefined, 'bob has no MD5 HA1');
    assert.equal(await store.ha1('alice', 'other.example', 'MD5'), undefined, 'HA1 is per realm');
    assert.equal(await store.ha1('carol', 'example.com', 'MD5'), undefined);
    await assert.rejects(loadUsersFile(join(dir, 'missing.json')), usersError(/cannot read .*missing\.json/));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('malformed users files name the file and the entry; plaintext passwords are refused', () => {
  const md5 = 'a'.repeat(32);
  assert.throws(() => parseUsersFile('{', 'u.json'), usersError(/^u\.json is not JSON/));
  assert.throws(() => parseUsersFile('[]', 'u.json'), usersError(/\{ "users": \[ \.\.\. \] \}/));
  assert.throws(() => parseUsersFile('{"users": [], "extra": 1}', 'u.json'), usersError(/unknown key "extra"/));
  assert.throws(() => parseUsersFile('{"users": [{"user": "a", "realm": "r", "password": "x", "ha1": {}}]}', 'u.json'), usersError(/users\[0\]: holds a plaintext password/));
  assert.throws(() => parseUsersFile('{"users": [{"realm": "r", "ha1": {"MD5": "' + md5 + '"}}]}', 'u.json'), usersError(/users\[0\]: "user"/));
  assert.throws(() => parseUsersFile('{"users": [{"user": "a", "realm": "r", "ha1": {"MD5": "abc"}}]}', 'u.json'), usersError(/ha1 MD5 must be 32 hex digits/));
  assert.throws(() => parseUsersFile('{"users": [{"user": "a", "realm": "r", "ha1": {"SHA-1": "' + md5 + '"}}]}', 'u.json'), usersError(/unknown algorithm "SHA-1"/));
  assert.throws(() => parseUsersFile('{"users": [{"user": "a", "realm": "r", "ha1": {}}]}', 'u.json'), usersError(/holds no HA1/));
  const twice = JSON.stringify({ users: [{ user: 'a', realm: 'r', ha1: { MD5: md5 } }, { user: 'a', realm: 'r', ha1: { MD5: md5 } }] });
  assert.throws(() => parseUsersFile(twice, 'u.json'), usersError(/users\[1\]: a in realm r is listed twice/));
  const upper = parseUsersFile(JSON.stringify({ users: [{ user: 'a', realm: 'r', ha1: { md5: md5.toUpperCase() } }] }), 'u.json');
  assert.deepEqual(upper[0]?.ha1, { MD5: md5 }, 'algorithm names and hex are case-insensitive');
});
