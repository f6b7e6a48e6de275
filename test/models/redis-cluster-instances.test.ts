import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { userCredentials } from '@switchboard/core';
import { startRedisCluster, type RedisTestCluster } from '@switchboard/testkit/redis-cluster';
import { freePort, proxyCounter, runSipp, sippCalls, startProxy, type RunningProxy } from '../interop/harness.js';
import { DigestPhone, type Answer } from './digest-phone.js';

/**
 * Several Switchboard instances, as on several hosts (127.0.0.2, .3 and .4), on one real Redis
 * Cluster (three masters, three replicas): registrations, digest nonces and nonce counts are
 * shared; a master killed under load costs 503s for the requests whose keys it held, for as long
 * as its replica takes to be promoted, and nothing else.
 */

const BIN = fileURLToPath(new URL('../../../packages/cli/bin/switchboard.js', import.meta.url));
/** alice and bob, and 30 more so some share a master with bob (the failover test picks them). */
const USERS = ['alice', 'bob', ...Array.from({ length: 30 }, (_, i) => `user${i}`)];
const PASSWORD = 'cluster-test';

interface Instance {
  readonly host: string;
  readonly proxy: RunningProxy;
  readonly metricsPort: number;
}

let cluster: RedisTestCluster;
let folder: string;
const instances: Instance[] = [];

before(async () => {
  folder = await mkdtemp(join(tmpdir(), 'switchboard-cluster-instances-'));
  const usersFile = join(folder, 'users.json');
  await writeFile(usersFile, JSON.stringify({ users: USERS.map((user) => userCredentials(user, 'example.com', PASSWORD, ['MD5'])) }));
  cluster = await startRedisCluster();
  const models = [
    ['--model', 'event-loop', '--state', 'redis'],
    ['--model', 'process-pool', '--workers', '2'],
    ['--model', 'thread-pool', '--workers', '2', '--state', 'redis'],
  ];
  const hosts = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
  const started = await Promise.allSettled(
    hosts.map(async (host, index) => {
      const metricsPort = await freePort();
      const proxy = await startProxy(['--domain', 'example.com', '--redis-url', cluster.url, '--auth', 'register', '--auth-users', usersFile, '--metrics', `127.0.0.1:${metricsPort}`, ...(models[index] as string[])], 30_000, host);
      return { host, proxy, metricsPort };
    }),
  );
  // Every instance that started is stopped by `after`, even when another failed to.
  for (const outcome of started) if (outcome.status === 'fulfilled') instances.push(outcome.value);
  for (const outcome of started) if (outcome.status === 'rejected') throw outcome.reason;
});

after(async () => {
  for (const instance of instances) await instance.proxy.stop();
  await cluster?.stop();
  if (folder !== undefined) await rm(folder, { recursive: true, force: true });
});

function instance(index: number): Instance {
  return instances[index] as Instance;
}

/** No serve process or worker died: each is running and logged no worker or thread failure. */
function assertNoCrash(): void {
  for (const { host, proxy } of instances) {
    assert.equal(proxy.process.exitCode, null, `the instance on ${host} is running`);
    const crashes = proxy.lines.filter((line) => /"msg":"(worker-exited|thread-exited|thread-error)"/.test(line) && !line.includes('"expected":true'));
    assert.deepEqual(crashes, [], `no worker of the instance on ${host} died`);
  }
}

test('an unreachable cluster at start: serve exits 1 with ERR_SWITCHBOARD_STATE_UNAVAILABLE naming --redis-url', async () => {
  const [one, two] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, [BIN, 'serve', '--listen', 'udp:127.0.0.1:0', '--state', 'redis', '--redis-url', `redis+cluster://127.0.0.1:${one},127.0.0.1:${two}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 1);
  assert.match(stderr, /ERR_SWITCHBOARD_STATE_UNAVAILABLE: --redis-url: Redis Cluster at redis\+cluster:\/\/127\.0\.0\.1:\d+,127\.0\.0\.1:\d+ is not reachable/);
});

test('three instances on one cluster: a phone registered on one is called through each of the others; nonces of one are accepted by another, replays refused by a third; a refresh through another instance', { timeout: 60_000 }, async () => {
  const [a, b, c] = [instance(0), instance(1), instance(2)];
  // bob registers through the first instance (SIPp answers the 401 itself) and takes calls.
  const calleePort = await freePort();
  const registration = runSipp([
    '-sf', 'register-auth.xml', '-i', '127.0.0.1', '-p', '0', '-t', 'u1', '-key', 'domain', 'example.com', '-key', 'contact_port', String(calleePort),
    '-s', 'bob', '-au', 'bob', '-ap', PASSWORD, '-m', '1', `${a.host}:${a.proxy.udpPort}`,
  ]);
  const registered = await registration.done;
  assert.equal(registered.code, 0, `bob registered through ${a.host}: ${registered.output.slice(-1500)}`);
  const callee = runSipp(['-sf', 'uas-rr.xml', '-i', '127.0.0.1', '-p', String(calleePort), '-t', 'u1', '-m', '6']);
  await new Promise((resolve) => setTimeout(resolve, 300));
  for (const through of [b, c]) {
    const caller = runSipp(['-sf', 'uac-rr.xml', '-i', '127.0.0.1', '-p', '0', '-t', 'u1', '-key', 'target', 'example.com', '-s', 'bob', '-m', '3', '-r', '10', `${through.host}:${through.proxy.udpPort}`]);
    const result = await caller.done;
    assert.equal(result.code, 0, `calls through ${through.host}: ${result.output.slice(-2000)}`);
    assert.equal(sippCalls(result.output).successful, 3);
  }
  assert.equal((await callee.done).code, 0, 'bob took all six calls');

  // alice: challenged by the first instance, answers it at the second: accepted (shared secret).
  const alice = new DigestPhone('alice', PASSWORD);
  await alice.open();
  try {
    const challenged = await alice.register(a.host, a.proxy.udpPort);
    assert.equal(challenged.status, 401);
    const challenge = DigestPhone.challenge(challenged);
    const credentials = alice.credentials(challenge, 1);
    const accepted = await alice.register(b.host, b.proxy.udpPort, { authorization: credentials });
    assert.equal(accepted.status, 200, `${b.host} accepts a nonce ${a.host} issued`);
    // The same credentials again, at the third instance: a replay (stale challenge, no binding change).
    const replayed = await alice.register(c.host, c.proxy.udpPort, { authorization: credentials, expires: 60 });
    assert.equal(replayed.status, 401, `${c.host} refuses the nonce count ${b.host} accepted`);
    assert.equal(DigestPhone.challenge(replayed).stale, true);
    assert.equal(await proxyCounter(c.metricsPort, 'switchboard_auth_replays_total'), 1);
    // A refresh through the third instance, next nonce count: accepted, one binding with the new expiry.
    const refreshed = await alice.register(c.host, c.proxy.udpPort, { authorization: alice.credentials(challenge, 2), expires: 120 });
    assert.equal(refreshed.status, 200, `refresh through ${c.host}`);
    const contacts = (refreshed.message.header('contact') ?? '').split(',');
    assert.equal(contacts.length, 1, 'the refresh replaced the binding, not added one');
    const expires = Number(/expires=(\d+)/.exec(contacts[0] ?? '')?.[1]);
    assert.ok(expires > 100 && expires <= 120, `the binding's expiry is the refresh's (${expires} s)`);
    // The first instance sees it too: a REGISTER without Contact lists the bindings.
    const listed = await alice.registerWithAuth(a.host, a.proxy.udpPort, { contact: null });
    assert.equal(listed.status, 200);
    assert.match(listed.message.header('contact') ?? '', /sip:alice@127\.0\.0\.1:\d+>;expires=(1[01]\d|120)\b/);
  } finally {
    alice.close();
  }
  assertNoCrash();
});

test('a master killed under load through two instances: 503 with Retry-After while its replica is promoted, no process crashes, replicated registrations still served, every request answered again', { timeout: 120_000 }, async () => {
  const [a, b] = [instance(0), instance(1)];
  const locationKey = (user: string): string => `switchboard:loc:{sip:${user}@example.com}`;
  const master = await cluster.masterOf(locationKey('bob'));
  const sameMaster: string[] = [];
  for (const user of USERS.slice(2)) if ((await cluster.masterOf(locationKey(user))).port === master.port) sameMaster.push(user);
  assert.ok(sameMaster.length >= 2, `two more users on bob's master (${sameMaster.join(', ')})`);
  const [survivorName, probeName] = sameMaster as [string, string];

  // Before the kill: bob (a SIPp callee) and the survivor registered, and replicated.
  const calleePort = await freePort();
  const bobRegistered = await runSipp([
    '-sf', 'register-auth.xml', '-i', '127.0.0.1', '-p', '0', '-t', 'u1', '-key', 'domain', 'example.com', '-key', 'contact_port', String(calleePort),
    '-s', 'bob', '-au', 'bob', '-ap', PASSWORD, '-m', '1', `${a.host}:${a.proxy.udpPort}`,
  ]).done;
  assert.equal(bobRegistered.code, 0);
  const survivor = new DigestPhone(survivorName, PASSWORD);
  const probe = new DigestPhone(probeName, PASSWORD);
  await survivor.open();
  await probe.open();
  const callee = runSipp(['-sf', 'uas-rr.xml', '-i', '127.0.0.1', '-p', String(calleePort), '-t', 'u1', '-m', '100000'], 110);
  let probing = false;
  try {
    assert.equal((await survivor.registerWithAuth(b.host, b.proxy.udpPort)).status, 200);
    await cluster.waitReplicated();
    const failuresBefore = (await proxyCounter(a.metricsPort, 'switchboard_state_store_failures_total')) + (await proxyCounter(b.metricsPort, 'switchboard_state_store_failures_total'));

    // Load: calls to bob through both instances, registrations through the second, and a probe
    // registering every 100 ms, alternating instances, to time the gap.
    const callers = [a, b].map((through) => runSipp(['-sf', 'uac-rr.xml', '-i', '127.0.0.1', '-p', '0', '-t', 'u1', '-key', 'target', 'example.com', '-s', 'bob', '-m', '30', '-r', '5', `${through.host}:${through.proxy.udpPort}`], 90));
    const registrations = runSipp(['-sf', 'register-auth.xml', '-i', '127.0.0.1', '-p', '0', '-t', 'u1', '-key', 'domain', 'example.com', '-key', 'contact_port', String(await freePort()), '-s', 'alice', '-au', 'alice', '-ap', PASSWORD, '-m', '30', '-r', '5', `${b.host}:${b.proxy.udpPort}`], 90);
    const probes: { at: number; status: number; retryAfter: string | undefined }[] = [];
    probing = true;
    const probeLoop = (async () => {
      for (let i = 0; probing; i++) {
        const through = i % 2 === 0 ? a : b;
        const at = Date.now();
        const answer: Answer = await probe.registerWithAuth(through.host, through.proxy.udpPort, { timeoutMs: 4000 });
        probes.push({ at, status: answer.status, retryAfter: answer.message.header('retry-after') });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const killedAt = Date.now();
    await master.kill();
    await cluster.waitHealthy(30_000);
    const healthyAt = Date.now();
    // Keep probing until ten in a row succeed after the promotion (or 25 s).
    const deadline = Date.now() + 25_000;
    while (Date.now() < deadline) {
      const recent = probes.filter((p) => p.at > healthyAt);
      if (recent.length >= 10 && recent.slice(-10).every((p) => p.status === 200)) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    probing = false;
    await probeLoop;
    const callResults = await Promise.all(callers.map((caller) => caller.done));
    const registrationResult = await registrations.done;

    const afterKill = probes.filter((p) => p.at >= killedAt);
    const failed = afterKill.filter((p) => p.status !== 200);
    assert.ok(afterKill.length > 0);
    for (const p of failed) {
      assert.equal(p.status, 503, `a probe during the failover got ${p.status}, not 503`);
      assert.equal(p.retryAfter, '5', '503 with Retry-After');
    }
    const lastFailure = failed.at(-1);
    const backAt = lastFailure === undefined ? killedAt : (afterKill.find((p) => p.at > lastFailure.at && p.status === 200)?.at ?? Number.NaN);
    const gapMs = backAt - killedAt;
    assert.ok(Number.isFinite(gapMs) && gapMs < 20_000, `service back within 20 s of the kill (gap ${gapMs} ms)`);
    assert.ok(afterKill.slice(-10).every((p) => p.status === 200), 'every probe answered 200 at the end');
    const failuresAfter = (await proxyCounter(a.metricsPort, 'switchboard_state_store_failures_total')) + (await proxyCounter(b.metricsPort, 'switchboard_state_store_failures_total'));
    const failovers = (await proxyCounter(a.metricsPort, 'switchboard_redis_cluster_failovers_total')) + (await proxyCounter(b.metricsPort, 'switchboard_redis_cluster_failovers_total'));
    assert.ok(failovers > 0, 'the instances counted the failover');

    // After: nothing crashed; the survivor's binding (acknowledged and replicated before the kill) is
    // listed by both instances; a call to bob (registered before the kill) goes through.
    assertNoCrash();
    for (const through of [a, b]) {
      const listed = await survivor.registerWithAuth(through.host, through.proxy.udpPort, { contact: null });
      assert.equal(listed.status, 200);
      assert.match(listed.message.header('contact') ?? '', new RegExp(`sip:${survivorName}@127\\.0\\.0\\.1:\\d+`), `${through.host} still serves ${survivorName}'s binding`);
    }
    const lastCall = await runSipp(['-sf', 'uac-rr.xml', '-i', '127.0.0.1', '-p', '0', '-t', 'u1', '-key', 'target', 'example.com', '-s', 'bob', '-m', '2', '-r', '10', `${a.host}:${a.proxy.udpPort}`]).done;
    assert.equal(lastCall.code, 0, `bob's binding from before the kill still routes calls: ${lastCall.output.slice(-1500)}`);
    const calls = callResults.map((result) => sippCalls(result.output));
    const regs = sippCalls(registrationResult.output);
    console.log(
      `failover: master ${master.address} killed; cluster healthy again after ${healthyAt - killedAt} ms; probes failing for ${gapMs} ms (${failed.length} of ${afterKill.length} after the kill got 503); ` +
        `503s from the store: ${failuresAfter - failuresBefore}; calls ok/failed ${calls.map((c) => `${c.successful}/${c.failed}`).join(' and ')}; registrations ok/failed ${regs.successful}/${regs.failed}; failovers counted ${failovers}`,
    );
    assert.ok(calls.every((c) => c.successful > 0), callResults.map((result) => result.output.slice(-2500)).join('\n----\n'));
  } finally {
    probing = false;
    survivor.close();
    probe.close();
    callee.process.kill('SIGTERM');
    await callee.done;
  }
});
