import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SwitchboardError } from './errors.js';
import { parseListen, proxySettingsOf, resolveServeSettings } from './serve-options.js';

async function withConfig(text: string, run: (path: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'switchboard-config-'));
  try {
    const path = join(dir, 'proxy.yaml');
    await writeFile(path, text);
    await run(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function rejects(code: string, pattern: RegExp): (error: unknown) => boolean {
  return (error) => error instanceof SwitchboardError && error.code === code && pattern.test(error.message);
}

test('listen specs: protocol, host (IPv6 in brackets) and port', () => {
  assert.deepEqual(parseListen('udp:127.0.0.1:5060'), { protocol: 'udp', host: '127.0.0.1', port: 5060 });
  assert.deepEqual(parseListen('tcp:[::1]:0'), { protocol: 'tcp', host: '::1', port: 0 });
  assert.deepEqual(parseListen('tls:[::1]:5061'), { protocol: 'tls', host: '::1', port: 5061 });
  assert.throws(() => parseListen('sctp:1.2.3.4:5'), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--listen:/));
  assert.throws(() => parseListen('udp:1.2.3.4:70000'), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /--listen/));
});

test('flags are checked and name the flag at fault', async () => {
  const given = new Set(['listen', 'default-route']);
  await assert.rejects(resolveServeSettings({ listen: ['udp:127.0.0.1:0'], 'default-route': 'http://x' }, given), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--default-route:/));
  await assert.rejects(resolveServeSettings({ listen: ['udp:127.0.0.1:0'], 'idle-timeout': '-1' }, new Set(['idle-timeout'])), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--idle-timeout:/));
  await assert.rejects(resolveServeSettings({ listen: ['udp:127.0.0.1:0'], metrics: 'nope' }, new Set(['metrics'])), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--metrics:/));
  const settings = await resolveServeSettings({ listen: ['udp:127.0.0.1:0'], 'default-route': 'sip:10.0.0.2:5060;transport=tcp', domain: ['example.com'] }, given);
  assert.equal(settings.defaultRoute, 'sip:10.0.0.2:5060;transport=tcp');
  assert.deepEqual(settings.domains, ['example.com']);
  assert.equal(settings.idleTimeoutMs, 120_000);
  assert.deepEqual(settings.timers, { t1: 500, t2: 4000, t4: 5000 });
  await assert.rejects(resolveServeSettings({ listen: ['udp:127.0.0.1:0'], t1: '800', t2: '400' }, new Set(['t1', 't2'])), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--t2: must not be shorter than t1/));
});

test('a config file gives the same keys; flags typed on the command line win', async () => {
  await withConfig('listen: [udp:127.0.0.1:5070, tcp:127.0.0.1:5070]\ndomain: example.org\nidle-timeout: 30\nstateless: true\n', async (path) => {
    const fromFile = await resolveServeSettings({ config: path, listen: ['udp:0.0.0.0:5060'] }, new Set());
    assert.equal(fromFile.listen.length, 2);
    assert.deepEqual(fromFile.domains, ['example.org']);
    assert.equal(fromFile.idleTimeoutMs, 30_000);
    assert.equal(fromFile.stateless, true);
    const overridden = await resolveServeSettings({ config: path, listen: ['udp:127.0.0.1:6000'] }, new Set(['listen']));
    assert.deepEqual(overridden.listen, [{ protocol: 'udp', host: '127.0.0.1', port: 6000 }]);
  });
});

test('config errors name the key', async () => {
  await withConfig('listen: [udp:127.0.0.1:0]\nlisten-port: 5\n', async (path) => {
    await assert.rejects(resolveServeSettings({ config: path }, new Set()), rejects('ERR_SWITCHBOARD_INVALID_CONFIG', /config key "listen-port": unknown key/));
  });
  await withConfig('listen: [udp:127.0.0.1:0]\nidle-timeout: soon\n', async (path) => {
    await assert.rejects(resolveServeSettings({ config: path }, new Set()), rejects('ERR_SWITCHBOARD_INVALID_CONFIG', /config key "idle-timeout"/));
  });
  await withConfig('listen: [tcp:nowhere]\n', async (path) => {
    await assert.rejects(resolveServeSettings({ config: path }, new Set()), rejects('ERR_SWITCHBOARD_INVALID_CONFIG', /config key "listen"/));
  });
  await withConfig('- just\n- a list\n', async (path) => {
    await assert.rejects(resolveServeSettings({ config: path }, new Set()), rejects('ERR_SWITCHBOARD_INVALID_CONFIG', /mapping/));
  });
  await assert.rejects(resolveServeSettings({ config: '/nonexistent/proxy.yaml' }, new Set()), rejects('ERR_SWITCHBOARD_INVALID_CONFIG', /cannot read/));
});

test('model, workers, state and fd cache: invalid combinations fail at start naming both flags', async () => {
  const given = (...flags: string[]): Set<string> => new Set(['listen', ...flags]);
  const base = { listen: ['udp:127.0.0.1:0'] };
  await assert.rejects(resolveServeSettings({ ...base, model: 'process-pool', state: 'sab' }, given('model', 'state')), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--state: --model process-pool cannot run with --state sab/));
  await assert.rejects(resolveServeSettings({ ...base, model: 'thread-pool', state: 'local' }, given('model', 'state')), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /--model thread-pool cannot run with --state local/));
  await assert.rejects(resolveServeSettings({ ...base, model: 'process-pool' }, given('model')), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /--model process-pool.*--redis-url/));
  await assert.rejects(resolveServeSettings({ ...base, model: 'event-loop', 'fd-cache': true }, given('model', 'fd-cache')), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--fd-cache: .*--model event-loop/));
  await assert.rejects(resolveServeSettings({ ...base, model: 'event-loop', workers: '4' }, given('model', 'workers')), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--workers:/));
  await assert.rejects(resolveServeSettings({ ...base, model: 'thread-pool', workers: '2.5' }, given('model', 'workers')), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--workers:/));
  await assert.rejects(resolveServeSettings({ ...base, 'redis-url': 'http://x' }, given('redis-url')), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--redis-url:/));
  await assert.rejects(resolveServeSettings({ ...base, 'idle-strategy': 'wheel' }, given('idle-strategy')), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--idle-strategy:/));

  const sized = await resolveServeSettings({ ...base, model: 'thread-pool', 'sab-bindings': '300000' }, given('model', 'sab-bindings'));
  assert.deepEqual([sized.state, sized.sabBindings], ['sab', 300000]);
  assert.equal((await resolveServeSettings({ ...base, model: 'thread-pool' }, given('model'))).sabBindings, 65536, 'the default');
  assert.equal((await resolveServeSettings(base, given())).sabBindings, undefined, 'no SharedArrayBuffer table without --state sab');
  await assert.rejects(resolveServeSettings({ ...base, model: 'thread-pool', 'sab-bindings': '2000000' }, given('model', 'sab-bindings')), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--sab-bindings:/));
  const pool = await resolveServeSettings({ ...base, model: 'process-pool', workers: '3', 'fd-cache': true, 'redis-url': 'redis://127.0.0.1:6379' }, given('model', 'workers', 'fd-cache', 'redis-url'));
  assert.equal(pool.state, 'redis');
  assert.equal(pool.workers, 3);
  assert.equal(pool.fdCache, 8);
  assert.equal(pool.supervisorHandles, 'keep');
  assert.equal(pool.maxConnections, undefined);
  const released = await resolveServeSettings({ ...base, model: 'process-pool', 'supervisor-handles': 'release', 'max-connections': '30000', 'redis-url': 'redis://127.0.0.1:6379' }, given('model', 'supervisor-handles', 'max-connections', 'redis-url'));
  assert.deepEqual([released.supervisorHandles, released.maxConnections], ['release', 30000]);
  await assert.rejects(resolveServeSettings({ ...base, 'supervisor-handles': 'release' }, given('supervisor-handles')), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--supervisor-handles: .*--model event-loop/));
  await assert.rejects(resolveServeSettings({ ...base, model: 'process-pool', 'supervisor-handles': 'release', 'fd-cache': true, 'redis-url': 'redis://127.0.0.1:6379' }, given('model', 'supervisor-handles', 'fd-cache', 'redis-url')), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--fd-cache: .*release/));
  await assert.rejects(resolveServeSettings({ ...base, 'max-connections': '0' }, given('max-connections')), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--max-connections:/));
  const waiting = await resolveServeSettings({ ...base, model: 'process-pool', 'fd-request-wait': true, 'redis-url': 'redis://127.0.0.1:6379' }, given('model', 'fd-request-wait', 'redis-url'));
  assert.equal(waiting.fdRequestWait, true);
  assert.equal(pool.fdRequestWait, undefined, 'off unless asked for');
  await assert.rejects(resolveServeSettings({ ...base, 'fd-request-wait': true }, given('fd-request-wait')), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--fd-request-wait: .*--model event-loop/));
  await assert.rejects(resolveServeSettings({ ...base, model: 'process-pool', 'supervisor-handles': 'release', 'fd-request-wait': true, 'redis-url': 'redis://127.0.0.1:6379' }, given('model', 'supervisor-handles', 'fd-request-wait', 'redis-url')), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--fd-request-wait: .*release/));
  const threads = await resolveServeSettings({ ...base, model: 'thread-pool' }, given('model'));
  assert.equal(threads.state, 'sab');
  assert.ok(threads.workers >= 1);
  const single = await resolveServeSettings(base, given());
  assert.deepEqual([single.model, single.state, single.workers, single.idleStrategy], ['event-loop', 'local', 1, 'heap']);
});

test('--auth flags: credentials, realm, algorithms and limits checked together, naming the flag', async () => {
  const { userCredentials, formatUsersFile } = await import('@switchboard/core');
  await withConfig(formatUsersFile([userCredentials('alice', 'example.com', 'wonderland')]), async (users) => {
    const given = (...flags: string[]): Set<string> => new Set(['listen', ...flags]);
    const base = { listen: ['udp:127.0.0.1:0'], domain: ['example.com'] };
    const settings = await resolveServeSettings({ ...base, auth: 'register', 'auth-users': users }, given('auth', 'auth-users'));
    assert.deepEqual(settings.auth, { mode: 'register', realm: 'example.com', algorithms: ['MD5'], nonceTtlSeconds: 300, maxFailures: 10, failureWindowSeconds: 60, usersFile: users });
    const tuned = await resolveServeSettings({ ...base, auth: 'all', 'auth-users': users, 'auth-algorithms': 'md5,SHA-256', 'auth-nonce-ttl': '30', 'auth-max-failures': '3', 'auth-failure-window': '10' }, given('auth', 'auth-users', 'auth-algorithms', 'auth-nonce-ttl', 'auth-max-failures', 'auth-failure-window'));
    assert.deepEqual([tuned.auth?.algorithms, tuned.auth?.nonceTtlSeconds, tuned.auth?.maxFailures, tuned.auth?.failureWindowSeconds], [['MD5', 'SHA-256'], 30, 3, 10]);
    assert.equal((await resolveServeSettings(base, given())).auth, undefined, 'off by default');

    await assert.rejects(resolveServeSettings({ ...base, auth: 'everything' }, given('auth')), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--auth: must be one of off, register, invite, all/));
    await assert.rejects(resolveServeSettings({ ...base, auth: 'all' }, given('auth')), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--auth: --auth all needs credentials/));
    await assert.rejects(resolveServeSettings({ ...base, 'auth-users': users }, given('auth-users')), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--auth-users: is only used with --auth/));
    await assert.rejects(resolveServeSettings({ listen: base.listen, auth: 'all', 'auth-users': users }, given('auth', 'auth-users')), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--auth-realm: is needed when no --domain/));
    await assert.rejects(resolveServeSettings({ ...base, auth: 'all', 'auth-users': users, 'auth-realm': 'other.org' }, given('auth', 'auth-users', 'auth-realm')), rejects('ERR_SWITCHBOARD_AUTH_USERS', /^--auth-users: .* has no user in realm "other.org"/));
    await assert.rejects(resolveServeSettings({ ...base, auth: 'all', 'auth-users': '/nonexistent/users.json' }, given('auth', 'auth-users')), rejects('ERR_SWITCHBOARD_AUTH_USERS', /^--auth-users: cannot read/));
    await assert.rejects(resolveServeSettings({ ...base, auth: 'all', 'auth-users': users, 'auth-algorithms': 'MD5,MD5' }, given('auth', 'auth-users', 'auth-algorithms')), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--auth-algorithms: must list each algorithm at most once/));
    await assert.rejects(resolveServeSettings({ ...base, auth: 'all', 'auth-users': users, 'auth-nonce-ttl': '0' }, given('auth', 'auth-users', 'auth-nonce-ttl')), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--auth-nonce-ttl:/));
    await assert.rejects(resolveServeSettings({ ...base, auth: 'all', 'auth-users': users, 'auth-max-failures': '2.5' }, given('auth', 'auth-users', 'auth-max-failures')), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--auth-max-failures:/));
    await assert.rejects(resolveServeSettings({ ...base, auth: 'all', 'auth-users': users, 'auth-redis-hash': 'users' }, given('auth', 'auth-users', 'auth-redis-hash')), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--auth-users: .*exactly one of/));
    await assert.rejects(resolveServeSettings({ ...base, auth: 'all', 'auth-redis-hash': 'users' }, given('auth', 'auth-redis-hash')), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--auth-redis-hash: needs --redis-url/));
    const redisHash = await resolveServeSettings({ ...base, auth: 'invite', 'auth-redis-hash': 'users', 'redis-url': 'redis://127.0.0.1:6379' }, given('auth', 'auth-redis-hash', 'redis-url'));
    assert.deepEqual([redisHash.state, redisHash.redisUrl, redisHash.auth?.redisHash], ['local', 'redis://127.0.0.1:6379', 'users'], '--redis-url serves the credentials with --state local');
  });
  // In a config file the users file is relative to the config file.
  await withConfig('listen: [udp:127.0.0.1:0]\ndomain: example.com\nauth: all\nauth-users: users.json\n', async (path) => {
    const { writeFile: write } = await import('node:fs/promises');
    const { dirname: dir } = await import('node:path');
    const { userCredentials, formatUsersFile } = await import('@switchboard/core');
    await write(join(dir(path), 'users.json'), formatUsersFile([userCredentials('alice', 'example.com', 'wonderland')]));
    const settings = await resolveServeSettings({ config: path }, new Set());
    assert.equal(settings.auth?.usersFile, join(dir(path), 'users.json'));
  });
});

test('the shipped configs/proxy.yaml and configs/users.example.json are valid; the example passwords are the documented ones', async () => {
  const { fileURLToPath } = await import('node:url');
  const { loadUsersFile } = await import('@switchboard/core');
  const { digestHa1 } = await import('@switchboard/sip');
  const config = fileURLToPath(new URL('../../../configs/proxy.yaml', import.meta.url));
  const users = fileURLToPath(new URL('../../../configs/users.example.json', import.meta.url));
  assert.equal((await resolveServeSettings({ config }, new Set())).auth, undefined);
  const settings = await resolveServeSettings({ config, auth: 'all', 'auth-users': users }, new Set(['auth', 'auth-users']));
  assert.equal(settings.auth?.realm, 'example.com');
  const store = await loadUsersFile(users);
  assert.equal(await store.ha1('alice', 'example.com', 'SHA-256'), digestHa1('SHA-256', 'alice', 'example.com', 'wonderland'));
  assert.equal(await store.ha1('bob', 'example.com', 'MD5'), digestHa1('MD5', 'bob', 'example.com', 'builder'));
});

test('TLS: a tls: listener needs a certificate and its key; files and choices are checked, naming the flag', async () => {
  const { createTestCertificates } = await import('@switchboard/testkit/certificates');
  const certs = await createTestCertificates();
  try {
    const listen = ['udp:127.0.0.1:0', 'tls:127.0.0.1:0'];
    const flags = (extra: Record<string, unknown>): Parameters<typeof resolveServeSettings>[0] => ({ listen, 'tls-cert': certs.server.certFile, 'tls-key': certs.server.keyFile, ...extra });
    const given = (extra: Record<string, unknown>): Set<string> => new Set(['listen', 'tls-cert', 'tls-key', ...Object.keys(extra)]);
    const check = (extra: Record<string, unknown>) => resolveServeSettings(flags(extra), given(extra));

    const settings = await check({ 'tls-ca': certs.ca.certFile, 'tls-verify-client': true, 'tls-resumption': 'off', 'tls-ciphers': 'ECDHE-ECDSA-AES128-GCM-SHA256', 'tls-min-version': 'TLSv1.2', 'tls-max-version': 'TLSv1.2', 'tls-handshake-timeout': '3' });
    assert.deepEqual(settings.listen[1], { protocol: 'tls', host: '127.0.0.1', port: 0 });
    assert.deepEqual(settings.tls, {
      certFile: certs.server.certFile,
      keyFile: certs.server.keyFile,
      caFile: certs.ca.certFile,
      verifyClient: true,
      resumption: false,
      ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256',
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      handshakeTimeoutMs: 3000,
    });
    const defaults = await check({});
    assert.deepEqual([defaults.tls?.resumption, defaults.tls?.verifyClient, defaults.tls?.handshakeTimeoutMs], [true, false, 10_000]);

    await assert.rejects(resolveServeSettings({ listen }, new Set(['listen'])), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--tls-cert: a TLS listener needs a certificate/));
    await assert.rejects(resolveServeSettings({ listen, 'tls-cert': certs.server.certFile }, new Set(['listen', 'tls-cert'])), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--tls-key:/));
    await assert.rejects(check({ 'tls-cert': '/nonexistent/cert.pem' }), rejects('ERR_SWITCHBOARD_TLS_CREDENTIALS', /^--tls-cert: cannot read \/nonexistent\/cert.pem/));
    await assert.rejects(check({ 'tls-cert': certs.server.keyFile }), rejects('ERR_SWITCHBOARD_TLS_CREDENTIALS', /^--tls-cert: .* does not hold a PEM certificate/));
    await assert.rejects(check({ 'tls-key': certs.server.certFile }), rejects('ERR_SWITCHBOARD_TLS_CREDENTIALS', /^--tls-key: .* does not hold a PEM private key/));
    await assert.rejects(check({ 'tls-key': certs.client.keyFile }), rejects('ERR_SWITCHBOARD_TLS_CREDENTIALS', /^--tls-key: .* is not the private key of the certificate/));
    await assert.rejects(check({ 'tls-ca': certs.ca.keyFile }), rejects('ERR_SWITCHBOARD_TLS_CREDENTIALS', /^--tls-ca: .* holds no PEM certificate/));
    await assert.rejects(check({ 'tls-verify-client': true }), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--tls-verify-client: needs --tls-ca/));
    await assert.rejects(check({ 'tls-resumption': 'sometimes' }), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--tls-resumption: must be on or off/));
    await assert.rejects(check({ 'tls-ciphers': 'NO-SUCH-CIPHER' }), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--tls-ciphers: "NO-SUCH-CIPHER" names no cipher/));
    await assert.rejects(check({ 'tls-min-version': 'TLSv1' }), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--tls-min-version: must be one of TLSv1.2, TLSv1.3/));
    await assert.rejects(check({ 'tls-min-version': 'TLSv1.3', 'tls-max-version': 'TLSv1.2' }), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--tls-max-version: TLSv1.2 is below --tls-min-version TLSv1.3/));
    await assert.rejects(check({ 'tls-handshake-timeout': '0' }), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--tls-handshake-timeout:/));
    await assert.rejects(
      resolveServeSettings({ listen: ['udp:127.0.0.1:0'], 'tls-resumption': 'off' }, new Set(['listen', 'tls-resumption'])),
      rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--tls-resumption: is only used with a TLS listener/),
    );
    await withConfig(`listen: [tls:127.0.0.1:0]\ntls-cert: ${certs.server.certFile}\ntls-key: /nonexistent/key.pem\n`, async (path) => {
      await assert.rejects(resolveServeSettings({ config: path }, new Set()), rejects('ERR_SWITCHBOARD_TLS_CREDENTIALS', /^config key "tls-key": cannot read/));
    });
  } finally {
    await certs.remove();
  }
});

test('the proxy settings workers get are the settings less what only the command and the model start need', async () => {
  const settings = await resolveServeSettings({ listen: ['udp:127.0.0.1:0'], domain: ['example.com'], 'idle-timeout': '30', metrics: '127.0.0.1:9090' }, new Set(['listen', 'domain', 'idle-timeout', 'metrics']));
  const proxy = proxySettingsOf(settings) as unknown as Record<string, unknown>;
  for (const key of ['logLevel', 'metrics', 'model', 'workers', 'fdCache', 'assign', 'supervisorHandles', 'maxConnections']) assert.equal(key in proxy, false, key);
  assert.deepEqual([proxy.idleTimeoutMs, proxy.headerTimeoutMs, proxy.state, proxy.domains], [30_000, 10_000, 'local', ['example.com']]);
});

test('--timing: event-loop only; its trace flags only with it; settings reach the proxy', async () => {
  const given = (...flags: string[]): Set<string> => new Set(['listen', ...flags]);
  const base = { listen: ['udp:127.0.0.1:0'] };
  await assert.rejects(resolveServeSettings({ ...base, model: 'thread-pool', timing: true }, given('model', 'timing')), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--timing: .*event-loop.*--model thread-pool/));
  await assert.rejects(resolveServeSettings({ ...base, 'timing-trace': '/tmp/t.jsonl' }, given('timing-trace')), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--timing-trace: is only used with --timing/));
  await assert.rejects(resolveServeSettings({ ...base, timing: true, 'timing-sample': '1.5' }, given('timing', 'timing-sample')), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--timing-sample:/));
  const timed = await resolveServeSettings({ ...base, timing: true, 'timing-trace': '/tmp/t.jsonl', 'timing-sample': '0.5' }, given('timing', 'timing-trace', 'timing-sample'));
  assert.deepEqual(proxySettingsOf(timed).timing, { traceFile: '/tmp/t.jsonl', sampleRatio: 0.5 });
  assert.equal((await resolveServeSettings(base, given())).timing, undefined);
});

test('--transactions: owned by default, shared reaches the proxy settings, and shared with --stateless is refused', async () => {
  const owned = await resolveServeSettings({ listen: ['udp:127.0.0.1:0'] }, new Set(['listen']));
  assert.equal(owned.transactions, 'owned');
  const shared = await resolveServeSettings({ listen: ['udp:127.0.0.1:0'], transactions: 'shared' }, new Set(['listen', 'transactions']));
  assert.equal(proxySettingsOf(shared).transactions, 'shared');
  await assert.rejects(resolveServeSettings({ listen: ['udp:127.0.0.1:0'], transactions: 'shared', stateless: true }, new Set(['listen', 'transactions', 'stateless'])), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--transactions: .*--stateless/));
  await assert.rejects(resolveServeSettings({ listen: ['udp:127.0.0.1:0'], transactions: 'both' }, new Set(['listen', 'transactions'])), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--transactions:/));
});

test('--transaction-adoption-sweep-ms: absent by default (ten lease ticks in the worker), reaches the proxy settings when given, and only with --transactions shared', async () => {
  const listen = { listen: ['udp:127.0.0.1:0'] };
  const plain = await resolveServeSettings({ ...listen, transactions: 'shared' }, new Set(['listen', 'transactions']));
  assert.deepEqual(proxySettingsOf(plain).transactionLease, { leaseMs: 3000, tickMs: 1000 });
  const swept = await resolveServeSettings({ ...listen, transactions: 'shared', 'transaction-adoption-sweep-ms': '30000' }, new Set(['listen', 'transactions', 'transaction-adoption-sweep-ms']));
  assert.deepEqual(proxySettingsOf(swept).transactionLease, { leaseMs: 3000, tickMs: 1000, sweepMs: 30_000 });
  await assert.rejects(resolveServeSettings({ ...listen, 'transaction-adoption-sweep-ms': '30000' }, new Set(['listen', 'transaction-adoption-sweep-ms'])), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--transaction-adoption-sweep-ms: is only used with --transactions shared/));
});

test('--shared-responses: by-holder unless where-read is asked for, and only with shared transactions in the pools', async () => {
  const listen = { listen: ['udp:127.0.0.1:0'], 'redis-url': 'redis://127.0.0.1:6379' };
  const plain = await resolveServeSettings({ ...listen, model: 'process-pool', transactions: 'shared' }, new Set(['listen', 'redis-url', 'model', 'transactions']));
  assert.equal(proxySettingsOf(plain).sharedResponses, undefined, 'by-holder: nothing to tell the workers');
  const whereRead = await resolveServeSettings({ ...listen, model: 'process-pool', transactions: 'shared', 'shared-responses': 'where-read' }, new Set(['listen', 'redis-url', 'model', 'transactions', 'shared-responses']));
  assert.equal(proxySettingsOf(whereRead).sharedResponses, 'where-read');
  await assert.rejects(resolveServeSettings({ ...listen, model: 'process-pool', 'shared-responses': 'where-read' }, new Set(['listen', 'redis-url', 'model', 'shared-responses'])), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--shared-responses: is only used with --transactions shared/));
  await assert.rejects(resolveServeSettings({ listen: ['udp:127.0.0.1:0'], transactions: 'shared', 'shared-responses': 'where-read' }, new Set(['listen', 'transactions', 'shared-responses'])), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--shared-responses: .*the event-loop has one worker/));
  await assert.rejects(resolveServeSettings({ ...listen, model: 'process-pool', transactions: 'shared', 'shared-responses': 'anywhere' }, new Set(['listen', 'redis-url', 'model', 'transactions', 'shared-responses'])), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--shared-responses:/));
});

test('--model io-dispatch: any worker takes any message, so transactions must be shared, and in Redis', async () => {
  const given = (...flags: string[]): Set<string> => new Set(['listen', ...flags]);
  const base = { listen: ['udp:127.0.0.1:0'] };
  const redis = { 'redis-url': 'redis://127.0.0.1:6379' };
  await assert.rejects(resolveServeSettings({ ...base, ...redis, model: 'io-dispatch' }, given('model', 'redis-url')), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--transactions: --model io-dispatch needs --transactions shared/));
  await assert.rejects(resolveServeSettings({ ...base, ...redis, model: 'io-dispatch', transactions: 'owned' }, given('model', 'redis-url', 'transactions')), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--transactions: --model io-dispatch needs --transactions shared/));
  await assert.rejects(resolveServeSettings({ ...base, model: 'io-dispatch', transactions: 'shared', state: 'sab' }, given('model', 'transactions', 'state')), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--state: --model io-dispatch cannot run with --state sab/));
  await assert.rejects(resolveServeSettings({ ...base, model: 'io-dispatch', transactions: 'shared' }, given('model', 'transactions')), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /--model io-dispatch.*--redis-url/));
  await assert.rejects(resolveServeSettings({ ...base, ...redis, model: 'io-dispatch', transactions: 'shared', 'fd-cache': true }, given('model', 'redis-url', 'transactions', 'fd-cache')), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--fd-cache: .*--model io-dispatch/));
  const dispatching = await resolveServeSettings({ ...base, ...redis, model: 'io-dispatch', transactions: 'shared', workers: '2' }, given('model', 'redis-url', 'transactions', 'workers'));
  assert.deepEqual([dispatching.model, dispatching.state, dispatching.transactions, dispatching.workers], ['io-dispatch', 'redis', 'shared', 2]);
});
