import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { answerDigestChallenge, formatDigestCredentials, parseDigestChallenges, parseMessage, type DigestAlgorithm, type SipMessage } from '@switchboard/sip';
import { EVERY_VARIANT, freePort, prepareModel, runSipp, settledCounter, sippCalls, startProxy, type RunningProxy } from './harness.js';

/**
 * Digest authentication against real SIPp, in every model: REGISTER (401, then 200) and INVITE
 * (407, ACK, INVITE with credentials, the call) with SIPp's [authentication]; a wrong password
 * gets 403 after the challenge; and, from a raw UDP socket, SHA-256 and SHA-512-256 answers
 * succeed while a replayed Authorization is refused by every worker it reaches.
 *
 * SIPp 3.6.1 (Debian's) answers MD5 only and reads the algorithm of the first challenge, so these
 * proxies list MD5 first (`--auth-algorithms MD5,SHA-256,SHA-512-256`) to test the SHA answers
 * too; the default is MD5 alone (see baresip-interop.test.ts).
 */

const BIN = fileURLToPath(new URL('../../../packages/cli/bin/switchboard.js', import.meta.url));
const USER = 'alice';
const PASSWORD = 'wonderland';

let directory: string;
let usersFile: string;
before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'switchboard-auth-'));
  usersFile = join(directory, 'users.json');
  const added = spawnSync(process.execPath, [BIN, 'users', 'add', '--user', USER, '--realm', 'example.com', '--file', usersFile], { input: `${PASSWORD}\n`, encoding: 'utf8' });
  assert.equal(added.status, 0, added.stderr);
});
after(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** A UDP phone that sends raw requests and waits for their final responses. */
class RawPhone {
  readonly socket = dgram.createSocket('udp4');
  readonly #responses: SipMessage[] = [];
  #sequence = 0;

  async open(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', () => resolve()));
    this.socket.on('message', (bytes) => {
      const message = parseMessage(bytes);
      if ((message.status ?? 0) >= 200) this.#responses.push(message);
    });
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** REGISTER for alice@example.com with the given Authorization (or none); resolves with the final response. */
  async register(proxyPort: number, callId: string, authorization?: string): Promise<SipMessage> {
    const n = ++this.#sequence;
    const branch = `z9hG4bK-raw-${process.pid}-${n}`;
    const bytes = Buffer.from(
      [
        'REGISTER sip:example.com SIP/2.0',
        `Via: SIP/2.0/UDP 127.0.0.1:${this.port};rport;branch=${branch}`,
        'Max-Forwards: 70',
        `From: <sip:${USER}@example.com>;tag=raw${n}`,
        `To: <sip:${USER}@example.com>`,
        `Call-ID: ${callId}`,
        `CSeq: ${n} REGISTER`,
        `Contact: <sip:${USER}@127.0.0.1:${this.port}>`,
        'Expires: 300',
        ...(authorization === undefined ? [] : [`Authorization: ${authorization}`]),
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
    this.socket.send(bytes, proxyPort, '127.0.0.1');
    const deadline = Date.now() + 5000;
    for (;;) {
      const found = this.#responses.find((response) => response.topVia?.branch === branch);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no final response to REGISTER ${n}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  close(): void {
    this.socket.close();
  }
}

function answer(challenged: SipMessage, algorithm: DigestAlgorithm, nc = 1): string {
  const challenge = challenged.headers('www-authenticate').flatMap((value) => parseDigestChallenges(value)).find((candidate) => candidate.algorithm === algorithm);
  assert.ok(challenge !== undefined, `a ${algorithm} challenge in ${challenged.headers('www-authenticate').join(' | ')}`);
  return formatDigestCredentials(answerDigestChallenge(challenge, { username: USER, password: PASSWORD, method: 'REGISTER', uri: 'sip:example.com', nc, cnonce: `raw-${nc}-${algorithm}` }));
}

/** A REGISTER for alice from `host:port` over `transport`, with an Authorization or none. */
function rawRegister(transport: 'UDP' | 'TCP', host: string, port: number, n: number, authorization?: string): string {
  return [
    'REGISTER sip:example.com SIP/2.0',
    `Via: SIP/2.0/${transport} ${host}:${port};rport;branch=z9hG4bK-burst-${process.pid}-${transport}-${n}`,
    'Max-Forwards: 70',
    `From: <sip:${USER}@example.com>;tag=burst${n}`,
    `To: <sip:${USER}@example.com>`,
    `Call-ID: burst-${transport}-${n}@${host}`,
    `CSeq: ${n} REGISTER`,
    `Contact: <sip:${USER}@${host}:${port};transport=${transport.toLowerCase()}>`,
    'Expires: 300',
    ...(authorization === undefined ? [] : [`Authorization: ${authorization}`]),
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** The 24 wrong answers and the right one (last) to a challenge, as raw requests. */
function burstOf(challenged: SipMessage, request: (n: number, authorization: string) => string): string[] {
  const challenge = challenged.headers('www-authenticate').flatMap((value) => parseDigestChallenges(value)).find((candidate) => candidate.algorithm === 'MD5');
  assert.ok(challenge !== undefined);
  return Array.from({ length: 25 }, (_, i) =>
    request(i + 2, formatDigestCredentials(answerDigestChallenge(challenge, { username: USER, password: i === 24 ? PASSWORD : `guess-${i}`, method: 'REGISTER', uri: 'sip:example.com', nc: i + 1, cnonce: `burst-${i}` }))),
  );
}

/** Final responses read from a TCP byte stream (bodies skipped by Content-Length). */
function framedResponses(buffer: string): SipMessage[] {
  const messages: SipMessage[] = [];
  for (let rest = buffer; ; ) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) return messages;
    const length = Number(/^content-length:\s*(\d+)/im.exec(rest.slice(0, end))?.[1] ?? 0);
    if (rest.length < end + 4 + length) return messages;
    const message = parseMessage(Buffer.from(rest.slice(0, end + 4 + length), 'latin1'));
    if ((message.status ?? 0) >= 200) messages.push(message);
    rest = rest.slice(end + 4 + length);
  }
}

/**
 * Of a burst's 25 answers: wrong passwords checked (403 without Retry-After), throttled, accepted,
 * and unavailable: 503 when a state-store call failed (an attempt whose slot was taken in Redis
 * but whose answer missed the client's command timeout under a loaded machine: seen in CI, one in
 * a burst), which the guard does not check but whose slot may stay used. The guard's promise is
 * that at most 10 attempts are checked.
 */
function tally(responses: SipMessage[]): { checked: number; throttled: number; accepted: number; unavailable: number; statuses: string } {
  return {
    unavailable: responses.filter((response) => response.status === 503).length,
    statuses: responses.map((response) => `${response.status}${response.header('retry-after') === undefined ? '' : '+RA'}`).join(' '),
    checked: responses.filter((response) => response.status === 403 && response.header('retry-after') === undefined).length,
    throttled: responses.filter((response) => response.status === 403 && response.header('retry-after') !== undefined).length,
    accepted: responses.filter((response) => response.status === 200).length,
  };
}

/**
 * What a burst of 24 wrong passwords and the right one, in flight at once, must get from a guard
 * of 10 failures: every attempt takes a slot before it is checked, so never more than 10 wrong
 * ones checked (one fewer per store failure that kept its slot). The right one, when checked,
 * gives its slot back; with workers racing it can hold that slot while a wrong one is refused and
 * give it back after the last wrong one has been answered, so the right one may stand in for the
 * tenth check (9 wrong checked, 1 accepted, 15 throttled).
 */
function assertBurstGuarded(responses: SipMessage[]): void {
  const { checked, throttled, accepted, unavailable, statuses } = tally(responses);
  assert.equal(responses.length, 25, statuses);
  assert.ok(checked <= 10, `never more than 10 wrong passwords checked: ${checked} checked, ${statuses}`);
  assert.ok(accepted <= 1, statuses);
  assert.ok(unavailable <= 1, statuses);
  assert.ok(checked + accepted >= 10 - unavailable, `10 checks (the right one may be the tenth; one fewer per store failure that kept its slot): ${checked} wrong and ${accepted} right checked, ${statuses}`);
  assert.equal(checked + throttled + accepted + unavailable, 25, `every answer a check, a throttle or a store failure: ${statuses}`);
}

/** One counter per worker, from the proxy's Prometheus text. */
async function perWorker(metricsPort: number, name: string): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  return new Map([...text.matchAll(new RegExp(`^${name}\\{worker="([^"]*)"\\} (\\d+)$`, 'gm'))].map((match) => [match[1] as string, Number(match[2])]));
}

for (const variant of EVERY_VARIANT) {
  describe(`digest authentication with SIPp, --model ${variant.name}`, { concurrency: false, timeout: 120_000 }, () => {
    let proxy: RunningProxy;
    let model: { args: string[]; stop(): Promise<void> };
    let metricsPort: number;
    /** Replays of an accepted Authorization sent so far, each answered 401 stale. */
    let replaysSent = 0;
    /** How many workers have refused a replay. */
    const refusingWorkers = async (): Promise<number> => [...(await perWorker(metricsPort, 'switchboard_auth_replays_total')).values()].filter((value) => value > 0).length;
    before(async () => {
      model = await prepareModel(variant);
      metricsPort = await freePort();
      proxy = await startProxy([
        '--domain', 'example.com', '--auth', 'all', '--auth-users', usersFile, '--auth-algorithms', 'MD5,SHA-256,SHA-512-256', '--auth-max-failures', '10',
        '--metrics', `127.0.0.1:${metricsPort}`, ...model.args,
      ]);
    });
    after(async () => {
      assert.equal(await proxy.stop(), 0, 'the proxy exits 0 on SIGTERM');
      await model.stop();
    });

    test('SIPp REGISTER with [authentication]: 401, then 200', async () => {
      const register = runSipp([
        '-sf', 'register-auth.xml', '-i', '127.0.0.1', '-p', '0', '-t', 'u1', '-key', 'domain', 'example.com', '-key', 'contact_port', String(await freePort()),
        '-s', USER, '-au', USER, '-ap', PASSWORD, '-m', '5', '-r', '20', `127.0.0.1:${proxy.udpPort}`,
      ], 20);
      const result = await register.done;
      assert.equal(result.code, 0, result.output.slice(-3000));
      assert.equal(sippCalls(result.output).successful, 5);
    });

    test('SIPp INVITE with [authentication]: 407, ACK, INVITE with credentials, 200, BYE', async () => {
      const calleePort = await freePort();
      const callee = runSipp(['-sf', 'uas-rr.xml', '-i', '127.0.0.1', '-p', String(calleePort), '-t', 'u1', '-m', '5'], 20);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const caller = runSipp([
        '-sf', 'uac-auth.xml', '-i', '127.0.0.1', '-p', '0', '-t', 'u1', '-key', 'target', `127.0.0.1:${calleePort}`, '-key', 'domain', 'example.com', '-key', 'caller', USER,
        '-s', 'bob', '-au', USER, '-ap', PASSWORD, '-m', '5', '-r', '20', `127.0.0.1:${proxy.udpPort}`,
      ], 20);
      const callerResult = await caller.done;
      const calleeResult = await callee.done;
      assert.equal(callerResult.code, 0, callerResult.output.slice(-3000));
      assert.equal(sippCalls(callerResult.output).successful, 5);
      assert.equal(calleeResult.code, 0, `callee:\n${calleeResult.output.slice(-3000)}`);
    });

    test('SIPp with a wrong password: 403 after the challenge', async () => {
      const wrong = runSipp([
        '-sf', 'register-auth-wrong.xml', '-i', '127.0.0.1', '-p', '0', '-t', 'u1', '-key', 'domain', 'example.com', '-key', 'contact_port', String(await freePort()),
        '-s', USER, '-au', USER, '-ap', 'not-the-password', '-m', '1', `127.0.0.1:${proxy.udpPort}`,
      ], 20);
      const result = await wrong.done;
      assert.equal(result.code, 0, result.output.slice(-3000));
    });

    test('SHA-256 and SHA-512-256 answers succeed; a replayed Authorization is refused whichever worker reads it', async () => {
      const phone = new RawPhone();
      await phone.open();
      try {
        const challenged = await phone.register(proxy.udpPort, 'raw-1');
        assert.equal(challenged.status, 401);
        assert.deepEqual(challenged.headers('www-authenticate').map((value) => parseDigestChallenges(value)[0]?.algorithm), ['MD5', 'SHA-256', 'SHA-512-256']);
        const credentials = answer(challenged, 'SHA-256');
        assert.equal((await phone.register(proxy.udpPort, 'raw-1', credentials)).status, 200);
        // The same Authorization again, on new transactions whose Call-IDs spread them over the
        // workers (the Call-ID hash, or io-dispatch's choice). The process-pool with shared
        // transactions hands no request over: a datagram is handled by whichever worker the kernel
        // gave it to, so more replays follow (at most 20; a replay costs no failure slot) until
        // both workers have refused one.
        const replay = async (): Promise<void> => {
          const refused = await phone.register(proxy.udpPort, `raw-replay-${replaysSent}`, credentials);
          assert.equal(refused.status, 401, `replay ${replaysSent}`);
          assert.equal(parseDigestChallenges(refused.header('www-authenticate') ?? '')[0]?.stale, true, 'a fresh challenge, marked stale');
          replaysSent++;
        };
        while (replaysSent < 4) await replay();
        if (variant.name !== 'event-loop') while (replaysSent < 20 && (await refusingWorkers()) < 2) await replay();
        const fresh = await phone.register(proxy.udpPort, 'raw-2');
        assert.equal((await phone.register(proxy.udpPort, 'raw-2', answer(fresh, 'SHA-512-256'))).status, 200);
        assert.equal((await phone.register(proxy.udpPort, 'raw-3', answer(fresh, 'SHA-512-256', 2))).status, 200, 'a nonce is reused with a higher count');
      } finally {
        phone.close();
      }
    });

    test('a REGISTER answering a nonce we never issued: a new challenge, counted apart, no failure', async () => {
      const phone = new RawPhone();
      await phone.open();
      try {
        const forged = `Digest username="${USER}", realm="example.com", nonce="${'A'.repeat(48)}", uri="sip:example.com", response="${'0'.repeat(32)}", algorithm=MD5, qop=auth, nc=00000001, cnonce="f"`;
        const answered = await phone.register(proxy.udpPort, 'raw-forged', forged);
        assert.equal(answered.status, 401);
        assert.equal(parseDigestChallenges(answered.header('www-authenticate') ?? '')[0]?.stale, true);
      } finally {
        phone.close();
      }
    });

    test('the auth counters reach --metrics from every worker', async () => {
      // Settled: the replay test's scrapes may have left stats from before the forged nonce in
      // --metrics' 100 ms cache.
      const settled = (name: string, least: number): Promise<number> => settledCounter(metricsPort, `switchboard_auth_${name}_total`, (value) => value >= least);
      assert.equal(await settled('forged_nonces', 1), 1, 'the forged nonce');
      assert.ok((await settled('challenges', 12)) >= 12, 'challenges');
      assert.ok((await settled('accepted', 13)) >= 13, 'accepted');
      assert.equal(await settled('rejected', 1), 1, 'the wrong password');
      assert.equal(await settled('replays', replaysSent), replaysSent);
      if (variant.name !== 'event-loop') {
        // The replays reached both workers, so one of them reached the worker that did not accept
        // the original: only the shared store (SharedArrayBuffer or Redis) can refuse it there.
        assert.equal(await refusingWorkers(), 2, `replays refused by both workers (${replaysSent} sent)`);
      }
    });

    // The bursts come from their own loopback addresses: the failures they leave are theirs.
    test('24 wrong passwords and the right one in one TCP write: 10 checks, the rest 403 with Retry-After', async () => {
      const socket = net.connect({ host: '127.0.0.1', port: proxy.tcpPort, localAddress: '127.0.0.2' });
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      let received = '';
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString('latin1');
      });
      const until = async (count: number): Promise<SipMessage[]> => {
        for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 20))) {
          const responses = framedResponses(received);
          if (responses.length >= count) return responses;
        }
        throw new Error(`${framedResponses(received).length} of ${count} responses:\n${received.slice(-2000)}`);
      };
      try {
        const port = socket.localPort ?? 0;
        socket.write(rawRegister('TCP', '127.0.0.2', port, 1));
        const [challenged] = await until(1);
        assert.equal(challenged?.status, 401);
        socket.write(burstOf(challenged as SipMessage, (n, authorization) => rawRegister('TCP', '127.0.0.2', port, n, authorization)).join(''));
        // The right one is last in the write; with workers it may still be checked before the
        // tenth wrong one (then it gives its slot back): 200, and one wrong one fewer throttled.
        assertBurstGuarded((await until(26)).slice(1));
      } finally {
        socket.destroy();
      }
    });

    test('the same burst in 25 UDP datagrams sent at once: 10 checks', async () => {
      const socket = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.3', () => resolve()));
      const responses: SipMessage[] = [];
      socket.on('message', (bytes) => {
        const message = parseMessage(bytes);
        if ((message.status ?? 0) >= 200) responses.push(message);
      });
      const until = async (count: number): Promise<void> => {
        for (const deadline = Date.now() + 10_000; responses.length < count; await new Promise((resolve) => setTimeout(resolve, 20))) {
          if (Date.now() > deadline) throw new Error(`${responses.length} of ${count} responses`);
        }
      };
      try {
        const port = socket.address().port;
        socket.send(rawRegister('UDP', '127.0.0.3', port, 1), proxy.udpPort, '127.0.0.1');
        await until(1);
        for (const datagram of burstOf(responses[0] as SipMessage, (n, authorization) => rawRegister('UDP', '127.0.0.3', port, n, authorization))) socket.send(datagram, proxy.udpPort, '127.0.0.1');
        await until(26);
        assertBurstGuarded(responses.slice(1));
      } finally {
        socket.close();
      }
    });
  });
}
