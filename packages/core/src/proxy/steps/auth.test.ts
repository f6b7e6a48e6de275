import assert from 'node:assert/strict';
import { test } from 'node:test';
import { answerDigestChallenge, formatDigestCredentials, parseDigestChallenges } from '@switchboard/sip';
import { MemoryAuthStateStore } from '../../auth/auth-state-store.js';
import { MemoryCredentialStore, userCredentials, type CredentialStore } from '../../auth/credential-store.js';
import { DigestAuthenticator, type AuthMode } from '../../auth/digest-authenticator.js';
import { newNonceSecret } from '../../auth/nonce.js';
import { auth } from './auth.js';
import { ALICE, stepContext, stepRequest } from './routing-step.fixture.js';

const USERS = new MemoryCredentialStore([userCredentials('alice', 'example.com', 'wonderland')]);

function authContext(mode: AuthMode, credentials: CredentialStore = USERS): ReturnType<typeof stepContext> {
  const authenticator = new DigestAuthenticator({ mode, realm: 'example.com', secret: newNonceSecret(), credentials, state: new MemoryAuthStateStore({ sweepMs: 0 }), algorithms: ['MD5'] });
  return stepContext({ auth: authenticator });
}

test('auth: without --auth every request continues, synchronously', () => {
  assert.deepEqual(auth(stepRequest('INVITE', 'sip:bob@example.com'), ALICE, stepContext()), { kind: 'continue' });
});

test('auth: a REGISTER for our domain is challenged 401, an INVITE 407; ACK is never challenged', async () => {
  const context = authContext('all');
  const register = await auth(stepRequest('REGISTER', 'sip:example.com'), ALICE, context);
  assert.equal(register.kind === 'respond' && register.status, 401);
  const invite = await auth(stepRequest('INVITE', 'sip:bob@example.com'), ALICE, context);
  assert.equal(invite.kind === 'respond' && invite.status, 407);
  assert.deepEqual(await auth(stepRequest('ACK', 'sip:bob@example.com'), ALICE, context), { kind: 'continue' });
  assert.equal(context.counters.authChallenges, 2);
});

test('auth: good proxy credentials continue, and our realm\'s Proxy-Authorization is removed (§22.3)', async () => {
  const context = authContext('invite');
  const challenged = await auth(stepRequest('INVITE', 'sip:bob@example.com'), ALICE, context);
  const value = challenged.kind === 'respond' ? challenged.headers?.find(([name]) => name === 'Proxy-Authenticate')?.[1] : undefined;
  const challenge = parseDigestChallenges(value ?? assert.fail('a challenge'))[0] ?? assert.fail();
  const credentials = formatDigestCredentials(answerDigestChallenge(challenge, { username: 'alice', password: 'wonderland', method: 'INVITE', uri: 'sip:bob@example.com', nc: 1, cnonce: 'c1' }));
  const request = stepRequest('INVITE', 'sip:bob@example.com', { extra: [`Proxy-Authorization: ${credentials}`, 'Proxy-Authorization: Digest realm="other.example", username="x"'] });
  assert.deepEqual(await auth(request, ALICE, context), { kind: 'continue' });
  assert.deepEqual(request.headers('proxy-authorization'), ['Digest realm="other.example", username="x"']);
});

test('auth: a request that is not challenged still loses our realm\'s credentials (§22.3)', async () => {
  const context = authContext('invite');
  const credentials = (realm: string): string => `Digest username="alice", realm="${realm}", nonce="n1", uri="sip:bob@example.com", response="0123456789abcdef0123456789abcdef"`;
  const ack = stepRequest('ACK', 'sip:bob@example.com', { extra: [`Proxy-Authorization: ${credentials('example.com')}`, `Proxy-Authorization: ${credentials('other.example')}`] });
  assert.deepEqual(await auth(ack, ALICE, context), { kind: 'continue' });
  assert.deepEqual(ack.headers('proxy-authorization'), [credentials('other.example')]);
});

test('auth: a failing credential store gives 503 Authentication Service Unavailable', async () => {
  const down: CredentialStore = { ha1: () => Promise.reject(new Error('down')), close: async () => undefined };
  const context = authContext('all', down);
  const challenged = await auth(stepRequest('REGISTER', 'sip:example.com'), ALICE, context);
  const value = challenged.kind === 'respond' ? challenged.headers?.find(([name]) => name === 'WWW-Authenticate')?.[1] : undefined;
  const challenge = parseDigestChallenges(value ?? assert.fail('a challenge'))[0] ?? assert.fail();
  const credentials = formatDigestCredentials(answerDigestChallenge(challenge, { username: 'alice', password: 'wonderland', method: 'REGISTER', uri: 'sip:example.com', nc: 1, cnonce: 'c1' }));
  const result = await auth(stepRequest('REGISTER', 'sip:example.com', { extra: [`Authorization: ${credentials}`] }), ALICE, context);
  assert.equal(result.kind === 'respond' && result.status, 503);
  assert.equal(result.kind === 'respond' && result.reason, 'Authentication Service Unavailable');
  assert.equal(context.counters.stateStoreFailures, 1);
});
