import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Baresip } from './baresip-peer.js';
import { EVERY_VARIANT, freePort, prepareModel, proxyCounter, startProxy, type RunningProxy } from './harness.js';

/**
 * Digest authentication with a real phone: two baresip 1.0.0 (Debian's, libre) register as alice
 * and bob through the proxy (401, then 200), then alice calls bob twice (407, INVITE with
 * credentials): once she hangs up while it rings (CANCEL), once bob answers and she hangs up
 * (ACK, BYE), over UDP and TCP, in every model. The proxy runs with its default
 * `--auth-algorithms` (MD5 alone): baresip 1.0 gives up on a challenge list with any other
 * algorithm in it, which is why that is the default.
 */

const BIN = fileURLToPath(new URL('../../../packages/cli/bin/switchboard.js', import.meta.url));
const USERS = { alice: 'wonderland', bob: 'builder' } as const;

let directory: string;
let usersFile: string;
before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'switchboard-baresip-'));
  usersFile = join(directory, 'users.json');
  for (const [user, password] of Object.entries(USERS)) {
    const added = spawnSync(process.execPath, [BIN, 'users', 'add', '--user', user, '--realm', 'example.com', '--file', usersFile], { input: password, encoding: 'utf8' });
    assert.equal(added.status, 0, added.stderr);
  }
});
after(async () => {
  await rm(directory, { recursive: true, force: true });
});

for (const variant of EVERY_VARIANT) {
  describe(`baresip registers and calls with digest, --model ${variant.name}`, { concurrency: false, timeout: 240_000 }, () => {
    let proxy: RunningProxy | undefined;
    let model: { args: string[]; stop(): Promise<void> } | undefined;
    let metricsPort: number;
    before(async () => {
      model = await prepareModel(variant);
      metricsPort = await freePort();
      proxy = await startProxy(['--domain', 'example.com', '--auth', 'all', '--auth-users', usersFile, '--metrics', `127.0.0.1:${metricsPort}`, ...model.args]);
    });
    after(async () => {
      // Whatever failed before, the proxy and the redis-server are stopped.
      try {
        if (proxy !== undefined) assert.equal(await proxy.stop(), 0, 'the proxy exits 0 on SIGTERM');
      } finally {
        await model?.stop();
      }
    });

    for (const transport of ['udp', 'tcp'] as const) {
      test(`over ${transport.toUpperCase()}: REGISTER (401), a call cancelled while ringing and one answered and hung up (407)`, { timeout: 90_000 }, async () => {
        assert.ok(proxy !== undefined, 'the proxy started');
        const proxyPort = transport === 'udp' ? proxy.udpPort : proxy.tcpPort;
        const acceptedBefore = await proxyCounter(metricsPort, 'switchboard_auth_accepted_total');
        const phones: Baresip[] = [];
        try {
          const [alice, bob] = await Promise.all(
            (['alice', 'bob'] as const).map(async (user) => {
              const phone = await Baresip.start({ directory: join(directory, `${variant.name}-${transport}-${user}`), user, password: USERS[user], transport, proxyPort });
              phones.push(phone);
              return phone;
            }),
          );
          assert.ok(alice !== undefined && bob !== undefined);
          await Promise.all([alice.registered(), bob.registered()]);

          // Cancelled while ringing: bob never answers, alice hangs up.
          let seen = { alice: alice.events.length, bob: bob.events.length };
          assert.equal((await alice.command('dial', 'sip:bob@example.com')).ok, true);
          await bob.event('CALL_INCOMING', 15_000, seen.bob);
          await alice.event('CALL_RINGING', 15_000, seen.alice);
          await alice.command('hangup');
          const cancelled = await bob.event('CALL_CLOSED', 15_000, seen.bob);
          // libre ends a call cancelled by its caller with ECONNRESET.
          assert.match(cancelled.param ?? '', /Connection reset by peer/, `bob's call ended by the CANCEL: ${cancelled.param ?? ''}`);

          // Answered, then hung up by the caller: ACK and BYE through the proxy.
          seen = { alice: alice.events.length, bob: bob.events.length };
          assert.equal((await alice.command('dial', 'sip:bob@example.com')).ok, true);
          await bob.event('CALL_INCOMING', 15_000, seen.bob);
          assert.equal((await bob.command('accept')).ok, true);
          await Promise.all([alice.event('CALL_ESTABLISHED', 15_000, seen.alice), bob.event('CALL_ESTABLISHED', 15_000, seen.bob)]);
          await alice.command('hangup');
          const closed = await bob.event('CALL_CLOSED', 15_000, seen.bob);
          // Established, so only a BYE ends it (libre says ECONNRESET for a BYE too).
          assert.match(closed.param ?? '', /Connection reset by peer/, `bob's call ended by the BYE: ${closed.param ?? ''}`);

          // Two REGISTERs and two INVITEs answered with credentials, at least.
          assert.ok((await proxyCounter(metricsPort, 'switchboard_auth_accepted_total')) - acceptedBefore >= 4);
        } finally {
          await Promise.all(phones.map((phone) => phone.stop()));
        }
      });
    }
  });
}
