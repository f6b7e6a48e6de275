import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { afterEach, test } from 'node:test';
import { answerDigestChallenge, formatDigestCredentials, parseDigestChallenges, parseMessage, type DigestAlgorithm, type SipMessage } from '@switchboard/sip';
import { ProxyCore } from '../proxy/proxy-core.js';
import { newProxyCounters } from '../proxy/proxy-counters.js';
import { MemoryLocationStore } from '../registrar/location-store.js';
import type { TransportAddress } from '../transport-address.js';
import { MemoryAuthStateStore, type AuthStateStore } from './auth-state-store.js';
import { MemoryCredentialStore, userCredentials, type CredentialStore } from './credential-store.js';
import { DigestAuthenticator, failureKey, type AuthMode, type AuthRejectedEvent } from './digest-authenticator.js';
import { newNonceSecret } from './nonce.js';

/**
 * Digest authentication through the proxy core, message by message: challenges, credentials
 * checked against stored HA1s, stale and replayed nonces, identities, the brute-force guard, and
 * which requests are never challenged.
 */

const PROXY = { address: '192.0.2.1', port: 5060 };
const ALICE: TransportAddress = { protocol: 'udp', address: '192.0.2.10', port: 5060 };
const REALM = 'example.com';
const USERS = new MemoryCredentialStore([userCredentials('alice', REALM, 'wonderland'), userCredentials('bob', REALM, 'builder', ['MD5'])]);

interface Sent {
  readonly target: TransportAddress;
  readonly message: SipMessage;
}

const cores: ProxyCore[] = [];
afterEach(() => {
  for (const core of cores.splice(0)) core.close();
});

function proxy(options: { mode?: AuthMode; state?: AuthStateStore; credentials?: CredentialStore; nonceTtlSeconds?: number; maxFailures?: number; algorithms?: DigestAlgorithm[]; stateless?: boolean } = {}) {
  const sent: Sent[] = [];
  const auth = new DigestAuthenticator({
    mode: options.mode ?? 'all',
    realm: REALM,
    secret: newNonceSecret(),
    credentials: options.credentials ?? USERS,
    state: options.state ?? new MemoryAuthStateStore({ sweepMs: 0 }),
    nonceTtlSeconds: options.nonceTtlSeconds,
    maxFailures: options.maxFailures,
    // RFC 8760's list unless a test asks for another (or, with `algorithms: undefined`, the default).
    algorithms: 'algorithms' in options ? options.algorithms : ['SHA-256', 'SHA-512-256', 'MD5'],
  });
  const core = new ProxyCore({
    listeners: [{ protocol: 'udp', host: PROXY.address, port: PROXY.port }],
    domains: [REALM],
    defaultRoute: 'sip:192.0.2.99:5060',
    store: new MemoryLocationStore(0),
    sender: { send: (target, bytes) => sent.push({ target, message: parseMessage(bytes) }) },
    auth,
    stateless: options.stateless,
  });
  cores.push(core);
  return { core, sent, auth };
}

let branches = 0;
function request(method: string, uri: string, options: { from?: string; to?: string; extra?: string[]; callId?: string; cseq?: number } = {}): Buffer {
  return Buffer.from(
    [
      `${method} ${uri} SIP/2.0`,
      `Via: SIP/2.0/UDP ${ALICE.address}:${ALICE.port};branch=z9hG4bK-a${++branches}`,
      'Max-Forwards: 70',
      `From: <${options.from ?? 'sip:alice@example.com'}>;tag=a1`,
      `To: <${options.to ?? uri}>`,
      `Call-ID: ${options.callId ?? `call-${branches}`}`,
      `CSeq: ${options.cseq ?? 1} ${method}`,
      'Contact: <sip:alice@192.0.2.10>',
      ...(options.extra ?? []),
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

/** Sends a request and waits for its final response (or, for a forwarded request, the copy sent on). */
async function exchange(core: ProxyCore, sent: Sent[], bytes: Buffer): Promise<SipMessage> {
  const before = sent.length;
  core.receive(bytes, ALICE);
  for (let turn = 0; turn < 50; turn++) {
    const reply = sent.slice(before).find((entry) => (entry.message.isResponse && (entry.message.status ?? 0) >= 200) || entry.message.isRequest);
    if (reply !== undefined) return reply.message;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('no answer');
}

function credentialsFor(challengeResponse: SipMessage, options: { user?: string; password?: string; method: string; uri: string; nc?: number; algorithm?: DigestAlgorithm }): string {
  const header = challengeResponse.status === 401 ? 'www-authenticate' : 'proxy-authenticate';
  const challenges = challengeResponse.headers(header).flatMap((value) => parseDigestChallenges(value));
  const challenge = options.algorithm === undefined ? challenges[0] : challenges.find((candidate) => candidate.algorithm === options.algorithm);
  assert.ok(challenge !== undefined, `a ${options.algorithm ?? 'first'} challenge`);
  return formatDigestCredentials(answerDigestChallenge(challenge, { username: options.user ?? 'alice', password: options.password ?? 'wonderland', method: options.method, uri: options.uri, nc: options.nc, cnonce: `c${branches}` }));
}

test('by default one MD5 challenge, which common phones answer', async () => {
  const { core, sent } = proxy({ mode: 'register', algorithms: undefined });
  const challenged = await exchange(core, sent, request('REGISTER', 'sip:example.com', { to: 'sip:alice@example.com' }));
  assert.deepEqual(challenged.headers('www-authenticate').map((value) => parseDigestChallenges(value)[0]?.algorithm), ['MD5']);
});

test('REGISTER: 401 with one WWW-Authenticate per algorithm (RFC 8760 order, one nonce, qop=auth), then 200', async () => {
  const { core, sent } = proxy({ mode: 'register', algorithms: ['SHA-256', 'SHA-512-256', 'MD5'] });
  const challenged = await exchange(core, sent, request('REGISTER', 'sip:example.com', { to: 'sip:alice@example.com' }));
  assert.equal(challenged.status, 401);
  const challenges = challenged.headers('www-authenticate').map((value) => parseDigestChallenges(value)[0]);
  assert.deepEqual(challenges.map((challenge) => challenge?.algorithm), ['SHA-256', 'SHA-512-256', 'MD5']);
  assert.equal(new Set(challenges.map((challenge) => challenge?.nonce)).size, 1);
  assert.deepEqual(challenges[0]?.qop, ['auth']);
  assert.equal(challenges[0]?.realm, REALM);
  for (const algorithm of ['SHA-256', 'SHA-512-256', 'MD5'] as const) {
    const authorization = credentialsFor(challenged, { method: 'REGISTER', uri: 'sip:example.com', algorithm, nc: 1 });
    const answered = await exchange(core, sent, request('REGISTER', 'sip:example.com', { to: 'sip:alice@example.com', extra: [`Authorization: ${authorization}`], callId: `reg-${algorithm}` }));
    assert.equal(answered.status, algorithm === 'SHA-256' ? 200 : 401, `${algorithm}: the nonce's count 1 is spent once`);
  }
  // With the register mode, INVITEs pass unchallenged.
  const invite = await exchange(core, sent, request('INVITE', 'sip:carol@elsewhere.example'));
  assert.equal(invite.method, 'INVITE');
});

test('INVITE: 407, then credentials with the nonce; our Proxy-Authorization is removed, another realm\'s kept', async () => {
  const { core, sent } = proxy({ mode: 'invite' });
  const challenged = await exchange(core, sent, request('INVITE', 'sip:carol@elsewhere.example'));
  assert.equal(challenged.status, 407);
  assert.equal(challenged.headers('proxy-authenticate').length, 3);
  const ours = credentialsFor(challenged, { method: 'INVITE', uri: 'sip:carol@elsewhere.example', algorithm: 'SHA-512-256' });
  const theirs = 'Digest username="alice", realm="elsewhere.example", nonce="x", uri="sip:carol@elsewhere.example", response="00"';
  const forwarded = await exchange(core, sent, request('INVITE', 'sip:carol@elsewhere.example', { extra: [`Proxy-Authorization: ${theirs}`, `Proxy-Authorization: ${ours}`], cseq: 2 }));
  assert.equal(forwarded.method, 'INVITE');
  assert.deepEqual(forwarded.headers('proxy-authorization'), [theirs]);
  // With the invite mode, other requests and REGISTER pass.
  assert.equal((await exchange(core, sent, request('MESSAGE', 'sip:carol@elsewhere.example'))).method, 'MESSAGE');
  assert.equal((await exchange(core, sent, request('REGISTER', 'sip:example.com', { to: 'sip:alice@example.com' }))).status, 200);
});

test('our realm\'s Proxy-Authorization is removed from every forwarded request: ACK, in-dialog BYE and re-INVITE, stateless too', async () => {
  for (const stateless of [false, true]) {
    const { core, sent } = proxy({ mode: 'all', stateless });
    const challenged = await exchange(core, sent, request('INVITE', 'sip:carol@elsewhere.example'));
    const ours = credentialsFor(challenged, { method: 'INVITE', uri: 'sip:carol@elsewhere.example' });
    const theirs = 'Digest username="alice", realm="elsewhere.example", nonce="n", uri="sip:carol@elsewhere.example", response="00"';
    const inDialog = (method: string) =>
      Buffer.from(request(method, 'sip:carol@192.0.2.30', { extra: ['Route: <sip:192.0.2.1:5060;lr;sbd>', `Proxy-Authorization: ${ours}`, `Proxy-Authorization: ${theirs}`] }).toString().replace(/^To: (.*)$/m, 'To: $1;tag=x'));
    for (const method of ['ACK', 'BYE', 'INVITE']) {
      const forwarded = await exchange(core, sent, inDialog(method));
      assert.equal(forwarded.method, method, `${method} forwarded (stateless: ${stateless})`);
      assert.deepEqual(forwarded.headers('proxy-authorization'), [theirs], `${method}: ours removed, theirs kept (stateless: ${stateless})`);
    }
    const ack = await exchange(core, sent, request('ACK', 'sip:carol@elsewhere.example', { extra: [`Proxy-Authorization: ${ours}`] }));
    assert.deepEqual(ack.headers('proxy-authorization'), [], `an ACK out of any transaction (stateless: ${stateless})`);
  }
});

test('wrong password or unknown user: 403 after the challenge, and counted', async () => {
  const { core, sent } = proxy();
  const rejected: AuthRejectedEvent[] = [];
  const listener = (event: unknown): void => {
    rejected.push(event as AuthRejectedEvent);
  };
  diagnostics.subscribe('switchboard:auth:rejected', listener);
  try {
    const challenged = await exchange(core, sent, request('REGISTER', 'sip:example.com', { to: 'sip:alice@example.com' }));
    const wrong = credentialsFor(challenged, { method: 'REGISTER', uri: 'sip:example.com', password: 'guess' });
    assert.equal((await exchange(core, sent, request('REGISTER', 'sip:example.com', { to: 'sip:alice@example.com', extra: [`Authorization: ${wrong}`] }))).status, 403);
    const unknown = credentialsFor(challenged, { method: 'REGISTER', uri: 'sip:example.com', user: 'mallory' });
    assert.equal((await exchange(core, sent, request('REGISTER', 'sip:example.com', { to: 'sip:mallory@example.com', extra: [`Authorization: ${unknown}`] }))).status, 403);
    // bob has an MD5 HA1 only: his SHA-256 answer cannot be checked, so it fails like a wrong one.
    const sha = credentialsFor(challenged, { method: 'REGISTER', uri: 'sip:example.com', user: 'bob', password: 'builder' });
    assert.equal((await exchange(core, sent, request('REGISTER', 'sip:example.com', { to: 'sip:bob@example.com', extra: [`Authorization: ${sha}`] }))).status, 403);
    const md5 = credentialsFor(challenged, { method: 'REGISTER', uri: 'sip:example.com', user: 'bob', password: 'builder', algorithm: 'MD5' });
    assert.equal((await exchange(core, sent, request('REGISTER', 'sip:example.com', { to: 'sip:bob@example.com', extra: [`Authorization: ${md5}`] }))).status, 200);
    assert.equal(core.counters.authRejected, 3);
    assert.equal(core.counters.authAccepted, 1);
    assert.deepEqual(rejected.map((event) => [event.reason, event.user, event.address]), [['credentials', 'alice', ALICE.address], ['unknown-user', 'mallory', ALICE.address], ['unknown-user', 'bob', ALICE.address]]);
  } finally {
    diagnostics.unsubscribe('switchboard:auth:rejected', listener);
  }
});

test('a replayed nonce count, and an expired or foreign nonce, get a new challenge with stale=true', async () => {
  const { core, sent } = proxy({ nonceTtlSeconds: 0.2 });
  const challenged = await exchange(core, sent, request('INVITE', 'sip:carol@elsewhere.example'));
  const first = credentialsFor(challenged, { method: 'INVITE', uri: 'sip:carol@elsewhere.example', nc: 1 });
  assert.equal((await exchange(core, sent, request('INVITE', 'sip:carol@elsewhere.example', { extra: [`Proxy-Authorization: ${first}`] }))).method, 'INVITE');
  const replay = await exchange(core, sent, request('INVITE', 'sip:carol@elsewhere.example', { extra: [`Proxy-Authorization: ${first}`] }));
  assert.equal(replay.status, 407, 'the same Proxy-Authorization again is a replay');
  assert.equal(parseDigestChallenges(replay.header('proxy-authenticate') ?? '')[0]?.stale, true);
  assert.equal(core.counters.authReplays, 1);
  const next = credentialsFor(challenged, { method: 'INVITE', uri: 'sip:carol@elsewhere.example', nc: 2 });
  assert.equal((await exchange(core, sent, request('INVITE', 'sip:carol@elsewhere.example', { extra: [`Proxy-Authorization: ${next}`] }))).method, 'INVITE', 'a higher count reuses the nonce');
  await new Promise((resolve) => setTimeout(resolve, 250));
  const late = credentialsFor(challenged, { method: 'INVITE', uri: 'sip:carol@elsewhere.example', nc: 3 });
  const expired = await exchange(core, sent, request('INVITE', 'sip:carol@elsewhere.example', { extra: [`Proxy-Authorization: ${late}`] }));
  assert.equal(expired.status, 407);
  assert.equal(parseDigestChallenges(expired.header('proxy-authenticate') ?? '')[0]?.stale, true);
  // A nonce another proxy (another secret) issued, answered with the right password: stale too.
  const other = proxy();
  const foreign = credentialsFor(await exchange(other.core, other.sent, request('INVITE', 'sip:carol@elsewhere.example')), { method: 'INVITE', uri: 'sip:carol@elsewhere.example' });
  const restarted = await exchange(core, sent, request('INVITE', 'sip:carol@elsewhere.example', { extra: [`Proxy-Authorization: ${foreign}`] }));
  assert.equal(parseDigestChallenges(restarted.header('proxy-authenticate') ?? '')[0]?.stale, true);
  assert.equal(core.counters.authStaleNonces, 1, 'the expired one');
  assert.equal(core.counters.authForgedNonces, 1, 'the foreign one');
});

test('answers to nonces we never issued are no failures: they cannot lock the real user out', async () => {
  const state = new MemoryAuthStateStore({ sweepMs: 0 });
  const { core, sent } = proxy({ maxFailures: 10, state });
  const other = proxy();
  const foreignChallenge = await exchange(other.core, other.sent, request('REGISTER', 'sip:example.com', { to: 'sip:alice@example.com' }));
  const madeUp = (i: number) => `Digest username="alice", realm="example.com", nonce="${'A'.repeat(47)}${i % 10}", uri="sip:example.com", response="${'0'.repeat(64)}", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="x${i}"`;
  for (let i = 0; i < 12; i++) {
    const forged = i % 2 === 0 ? madeUp(i) : credentialsFor(foreignChallenge, { method: 'REGISTER', uri: 'sip:example.com', password: `guess${i}`, nc: i });
    const answer = await exchange(core, sent, request('REGISTER', 'sip:example.com', { to: 'sip:alice@example.com', extra: [`Authorization: ${forged}`] }));
    assert.equal(answer.status, 401, `forged nonce ${i}: a new challenge`);
    assert.equal(parseDigestChallenges(answer.header('www-authenticate') ?? '')[0]?.stale, true);
  }
  assert.equal(core.counters.authForgedNonces, 12);
  assert.equal(core.counters.authRejected, 0);
  assert.equal(await state.failures(ALICE.address, Date.now()), 0);
  const challenged = await exchange(core, sent, request('REGISTER', 'sip:example.com', { to: 'sip:alice@example.com' }));
  const right = credentialsFor(challenged, { method: 'REGISTER', uri: 'sip:example.com' });
  assert.equal((await exchange(core, sent, request('REGISTER', 'sip:example.com', { to: 'sip:alice@example.com', extra: [`Authorization: ${right}`] }))).status, 200, 'the real user still registers');
});

test('the throttled 403 says when the window ends, not how long a window is', async () => {
  const { auth } = proxy({ maxFailures: 1 });
  const counters = newProxyCounters();
  const start = Date.now();
  const challenge = auth.challenge('registrar', counters, false, start);
  const offered = parseDigestChallenges(challenge.kind === 'respond' ? (challenge.headers[0]?.[1] ?? '') : '')[0];
  assert.ok(offered !== undefined);
  const attempt = (password: string, nc: number, now: number) =>
    auth.authenticate(parseMessage(request('REGISTER', 'sip:example.com', { to: 'sip:alice@example.com', extra: [`Authorization: ${formatDigestCredentials(answerDigestChallenge(offered, { username: 'alice', password, method: 'REGISTER', uri: 'sip:example.com', nc, cnonce: 'c' }))}`] })), ALICE, 'registrar', 'alice', counters, now);
  assert.equal(((await attempt('guess', 1, start)) as { status: number }).status, 403);
  const throttled = await attempt('wonderland', 2, start + 45_200);
  assert.equal(throttled.kind, 'respond');
  assert.deepEqual(throttled.kind === 'respond' ? throttled.headers : [], [['Retry-After', '15']], '60 s window, 45.2 s gone');
  const last = await attempt('wonderland', 3, start + 59_900);
  assert.deepEqual(last.kind === 'respond' ? last.headers : [], [['Retry-After', '1']], 'at least 1');
});

test('the authenticated user must be the To user of a REGISTER and the From user of other requests', async () => {
  const { core, sent } = proxy();
  const challenged = await exchange(core, sent, request('REGISTER', 'sip:example.com', { to: 'sip:bob@example.com' }));
  const alice = credentialsFor(challenged, { method: 'REGISTER', uri: 'sip:example.com' });
  const register = await exchange(core, sent, request('REGISTER', 'sip:example.com', { to: 'sip:bob@example.com', extra: [`Authorization: ${alice}`] }));
  assert.equal(register.status, 403);
  assert.match(register.reason ?? '', /Not Allowed to Register/);
  const invite = await exchange(core, sent, request('INVITE', 'sip:carol@elsewhere.example', { from: 'sip:bob@example.com' }));
  const asAlice = credentialsFor(invite, { method: 'INVITE', uri: 'sip:carol@elsewhere.example' });
  assert.equal((await exchange(core, sent, request('INVITE', 'sip:carol@elsewhere.example', { from: 'sip:bob@example.com', extra: [`Proxy-Authorization: ${asAlice}`] }))).status, 403);
});

test('the brute-force guard: past the failure limit a source gets 403 with Retry-After, nothing checked', async () => {
  const state = new MemoryAuthStateStore({ sweepMs: 0 });
  const { core, sent } = proxy({ maxFailures: 3, state });
  const challenged = await exchange(core, sent, request('REGISTER', 'sip:example.com', { to: 'sip:alice@example.com' }));
  for (let attempt = 1; attempt <= 3; attempt++) {
    const guess = credentialsFor(challenged, { method: 'REGISTER', uri: 'sip:example.com', password: `guess${attempt}`, nc: attempt });
    assert.equal((await exchange(core, sent, request('REGISTER', 'sip:example.com', { to: 'sip:alice@example.com', extra: [`Authorization: ${guess}`] }))).status, 403);
  }
  const right = credentialsFor(challenged, { method: 'REGISTER', uri: 'sip:example.com', nc: 9 });
  const throttled = await exchange(core, sent, request('REGISTER', 'sip:example.com', { to: 'sip:alice@example.com', extra: [`Authorization: ${right}`] }));
  assert.equal(throttled.status, 403, 'even the right password, once throttled');
  assert.equal(throttled.header('retry-after'), '60');
  assert.equal(core.counters.authThrottled, 1);
  assert.equal(await state.failures(ALICE.address, Date.now()), 3);
  assert.equal((await exchange(core, sent, request('REGISTER', 'sip:example.com', { to: 'sip:alice@example.com' }))).status, 401, 'challenges still go out');
});

test('never challenged: ACK, CANCEL, requests in a dialog we record-routed, calls from other domains to ours', async () => {
  const { core, sent } = proxy();
  const before = core.counters.authChallenges;
  assert.equal((await exchange(core, sent, request('ACK', 'sip:carol@elsewhere.example'))).method, 'ACK', 'forwarded');
  assert.equal((await exchange(core, sent, request('CANCEL', 'sip:carol@elsewhere.example'))).status, 481);
  const inDialog = Buffer.from(request('BYE', 'sip:carol@192.0.2.30', { from: 'sip:carol@elsewhere.example', extra: ['Route: <sip:192.0.2.1:5060;lr;sbd>'] }).toString().replace(/^To: (.*)$/m, 'To: $1;tag=x'));
  assert.equal((await exchange(core, sent, inDialog)).method, 'BYE');
  const incoming = await exchange(core, sent, request('MESSAGE', 'sip:alice@example.com', { from: 'sip:carol@elsewhere.example' }));
  assert.equal(incoming.status, 404, 'routed (alice is not registered), not challenged');
  assert.equal(core.counters.authChallenges, before);
  // A To tag without our Route mark is challenged; so is a request from another domain to another.
  const forged = Buffer.from(request('INVITE', 'sip:premium@gateway.example').toString().replace(/^To: (.*)$/m, 'To: $1;tag=x'));
  assert.equal((await exchange(core, sent, forged)).status, 407);
  assert.equal((await exchange(core, sent, request('INVITE', 'sip:premium@gateway.example', { from: 'sip:eve@elsewhere.example' }))).status, 407);
});

test('malformed credentials and a missing qop get 400; an algorithm not offered gets a challenge', async () => {
  const { core, sent } = proxy({ algorithms: ['SHA-256'] });
  const malformed = await exchange(core, sent, request('INVITE', 'sip:carol@elsewhere.example', { extra: ['Proxy-Authorization: Digest username="alice", realm="example.com'] }));
  assert.equal(malformed.status, 400);
  assert.equal(core.counters.authMalformed, 1);
  const challenged = await exchange(core, sent, request('INVITE', 'sip:carol@elsewhere.example'));
  assert.deepEqual(challenged.headers('proxy-authenticate').map((value) => parseDigestChallenges(value)[0]?.algorithm), ['SHA-256']);
  const nonce = parseDigestChallenges(challenged.header('proxy-authenticate') ?? '')[0]?.nonce ?? '';
  const noQop = `Digest username="alice", realm="example.com", nonce="${nonce}", uri="sip:carol@elsewhere.example", response="${'0'.repeat(64)}", algorithm=SHA-256`;
  assert.equal((await exchange(core, sent, request('INVITE', 'sip:carol@elsewhere.example', { extra: [`Proxy-Authorization: ${noQop}`] }))).status, 400);
  const md5 = `Digest username="alice", realm="example.com", nonce="${nonce}", uri="sip:carol@elsewhere.example", response="${'0'.repeat(32)}", algorithm=MD5, qop=auth, nc=00000001, cnonce="c"`;
  assert.equal((await exchange(core, sent, request('INVITE', 'sip:carol@elsewhere.example', { extra: [`Proxy-Authorization: ${md5}`] }))).status, 407);
});

test('a credential or state store that fails gives 503 with Retry-After', async () => {
  const down: CredentialStore = { ha1: () => Promise.reject(new Error('Redis down')), close: async () => {} };
  const { core, sent } = proxy({ credentials: down });
  const challenged = await exchange(core, sent, request('INVITE', 'sip:carol@elsewhere.example'));
  const credentials = credentialsFor(challenged, { method: 'INVITE', uri: 'sip:carol@elsewhere.example' });
  const answer = await exchange(core, sent, request('INVITE', 'sip:carol@elsewhere.example', { extra: [`Proxy-Authorization: ${credentials}`] }));
  assert.equal(answer.status, 503);
  assert.equal(answer.header('retry-after'), '5');
  assert.equal(core.counters.stateStoreFailures, 1);
});

test('a store that throws instead of rejecting, at any step, gives a counted 503, stateful or stateless', async () => {
  const steps = ['tryAttempt', 'releaseAttempt', 'acceptNonceCount', 'ha1'] as const;
  for (const stateless of [false, true]) {
    for (const step of steps) {
      const memory = new MemoryAuthStateStore({ sweepMs: 0 });
      const throwing = (name: string) => () => {
        if (name === step) throw new Error(`${name} broke`);
      };
      const state: AuthStateStore = {
        tryAttempt: (...args) => (throwing('tryAttempt')(), memory.tryAttempt(...args)),
        releaseAttempt: (...args) => (throwing('releaseAttempt')(), memory.releaseAttempt(...args)),
        acceptNonceCount: (...args) => (throwing('acceptNonceCount')(), memory.acceptNonceCount(...args)),
        failures: (...args) => memory.failures(...args),
        close: () => memory.close(),
      };
      const credentials: CredentialStore = { ha1: (...args) => (throwing('ha1')(), USERS.ha1(...args)), close: async () => {} };
      const { core, sent } = proxy({ state, credentials, stateless });
      const challenged = await exchange(core, sent, request('INVITE', 'sip:carol@elsewhere.example'));
      const answer = await exchange(core, sent, request('INVITE', 'sip:carol@elsewhere.example', { extra: [`Proxy-Authorization: ${credentialsFor(challenged, { method: 'INVITE', uri: 'sip:carol@elsewhere.example' })}`] }));
      assert.equal(answer.status, 503, `${step} (stateless: ${stateless})`);
      assert.equal(core.counters.stateStoreFailures, 1, `${step} (stateless: ${stateless})`);
      // The slot a failing store could not give back stays taken: one failure, not a lock-out.
      assert.equal(await memory.failures(ALICE.address, Date.now()), step === 'releaseAttempt' ? 1 : 0, `${step}: slots given back`);
    }
  }
});

test('failures are counted per IPv4 address and per IPv6 /64', () => {
  assert.equal(failureKey('192.0.2.10'), '192.0.2.10');
  assert.equal(failureKey('::ffff:192.0.2.10'), '192.0.2.10');
  assert.equal(failureKey('2001:db8:0:1:aaaa::1'), '2001:db8:0:1::/64');
  assert.equal(failureKey('2001:0db8:0000:0001:bbbb:cccc:dddd:eeee'), '2001:db8:0:1::/64');
  assert.equal(failureKey('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(failureKey('::1'), '0:0:0:0::/64');
});
