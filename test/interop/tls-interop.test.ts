import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTestCertificates, type TestCertificates } from '@switchboard/testkit/certificates';
import { EVERY_VARIANT, freePort, prepareModel, proxyCounter, runSipp, settledCounter, SHARED_TRANSACTION_VARIANTS, sippCalls, startProxy } from './harness.js';
import { sClient, startStunnel } from './tls-peers.js';

/**
 * SIP over TLS with real OpenSSL peers, once per model. Debian's SIPp has no TLS, so stunnel
 * carries it: SIPp caller -> stunnel (client mode) -> proxy's TLS port; proxy -> stunnel (server
 * mode) -> SIPp callee, which registered a sips: contact at stunnel's port. Mutual authentication
 * on both legs. `openssl s_client` probes session resumption and refused certificates. The test
 * CA and certificates are made when the suite starts and removed after it.
 */

const CALLS = 20;

let certs: TestCertificates;
let sessionDir: string;

function tlsArgs(): string[] {
  return ['--listen', 'tls:127.0.0.1:0', '--tls-cert', certs.server.certFile, '--tls-key', certs.server.keyFile, '--tls-ca', certs.ca.certFile];
}

function options(port: number): string {
  return [
    `OPTIONS sip:127.0.0.1:${port};transport=tls SIP/2.0`,
    `Via: SIP/2.0/TLS 127.0.0.1:9;branch=z9hG4bK-probe-${Math.random().toString(36).slice(2)}`,
    'Max-Forwards: 70',
    'From: <sip:probe@example.com>;tag=p1',
    `To: <sip:127.0.0.1:${port}>`,
    `Call-ID: probe-${Math.random().toString(36).slice(2)}`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** An s_client that sends OPTIONS to the proxy and reads the answer (if it gets one). */
async function probe(port: number, args: string[]): Promise<{ output: string; answered: boolean; session: 'New' | 'Reused' | undefined }> {
  const result = await sClient(port, ['-CAfile', certs.ca.certFile, ...args], { input: options(port), doneWhen: /SIP\/2\.0 \d{3}/ });
  const session = /^(New|Reused), /m.exec(result.output)?.[1] as 'New' | 'Reused' | undefined;
  return { output: result.output, answered: /SIP\/2\.0 200/.test(result.output), session };
}

before(async () => {
  certs = await createTestCertificates();
  sessionDir = await mkdtemp(join(tmpdir(), 'switchboard-tls-sessions-'));
});
after(async () => {
  await certs.remove();
  await rm(sessionDir, { recursive: true, force: true });
});

for (const variant of EVERY_VARIANT) {
  describe(`SIP over TLS with stunnel and openssl, --model ${variant.name}`, { concurrency: false, timeout: 120_000 }, () => {
    let model: { args: string[]; stop(): Promise<void> };
    before(async () => {
      model = await prepareModel(variant);
    });
    after(async () => {
      await model.stop();
    });

    test(`mutual TLS both ways: ${CALLS} calls, a TLS connection per call; s_client resumes, untrusted or missing client certificates and plaintext are refused`, async () => {
      const metrics = await freePort();
      const proxy = await startProxy([...tlsArgs(), '--tls-verify-client', '--domain', 'example.com', '--metrics', `127.0.0.1:${metrics}`, ...model.args]);
      const counter = (name: string): Promise<number> => proxyCounter(metrics, `switchboard_${name}`);
      /** A counter once it satisfies `ok` (see settledCounter). */
      const settled = (name: string, ok: (value: number) => boolean): Promise<number> => settledCounter(metrics, `switchboard_${name}`, ok);
      let stunnel: Awaited<ReturnType<typeof startStunnel>> | undefined;
      try {
        const [callerSide, calleeSide, calleePort] = [await freePort(), await freePort(), await freePort()];
        stunnel = await startStunnel([
          { name: 'caller', client: true, accept: callerSide, connect: proxy.tlsPort, certFile: certs.client.certFile, keyFile: certs.client.keyFile, caFile: certs.ca.certFile },
          { name: 'callee', client: false, accept: calleeSide, connect: calleePort, certFile: certs.server.certFile, keyFile: certs.server.keyFile, caFile: certs.ca.certFile },
        ]);
        const contact = `sips:bob@127.0.0.1:${calleeSide}`;
        const register = runSipp(['-sf', 'register-contact.xml', '-i', '127.0.0.1', '-p', '0', '-t', 'u1', '-key', 'domain', 'example.com', '-key', 'contact', contact, '-s', 'bob', '-m', '1', `127.0.0.1:${proxy.udpPort}`], 20);
        assert.equal((await register.done).code, 0, 'REGISTER of the sips: contact answered 200');

        const callee = runSipp(['-sf', 'uas-rr-contact.xml', '-i', '127.0.0.1', '-p', String(calleePort), '-t', 't1', '-key', 'contact', contact, '-m', String(CALLS)], 40);
        await new Promise((resolve) => setTimeout(resolve, 300));
        // -t tn: a TCP connection per call to stunnel, so a TLS connection (and handshake) per call to the proxy.
        const caller = runSipp([
          '-sf', 'uac-rr.xml', '-i', '127.0.0.1', '-p', '0', '-t', 'tn', '-key', 'target', 'example.com',
          '-s', 'bob', '-m', String(CALLS), '-r', '20', '-l', '20', `127.0.0.1:${callerSide}`,
        ], 40);
        const callerResult = await caller.done;
        const calleeResult = await callee.done;
        const calls = sippCalls(callerResult.output);
        assert.equal(callerResult.code, 0, `caller failed (${calls.successful} ok, ${calls.failed} failed):\n${callerResult.output.slice(-3000)}\n${stunnel.log().slice(-2000)}`);
        assert.equal(calls.successful, CALLS, `calls counted in SIPp's final screen:\n${callerResult.output.slice(-3000)}`);
        assert.equal(calleeResult.code, 0, `callee failed:\n${calleeResult.output.slice(-3000)}`);
        assert.ok((await settled('tls_handshakes_total', (n) => n >= CALLS)) >= CALLS, 'a server handshake per call');
        assert.ok((await settled('tls_client_handshakes_total', (n) => n >= 1)) >= 1, 'the proxy was the TLS client toward stunnel');
        if (variant.name.startsWith('process-pool')) {
          assert.ok((await settled('tls_relays_sent_total', (n) => n > 0)) > 0, 'writes on the other worker\'s TLS connection to the callee were relayed');
          assert.ok((await settled('tls_relays_missed_total', (n) => n >= 1)) >= 1, 'the first INVITE found no connection, and its worker opened one');
        }

        // openssl s_client: a trusted client certificate, a session saved and offered again.
        const sessionFile = join(sessionDir, `${variant.name}.pem`);
        const withCert = ['-cert', certs.client.certFile, '-key', certs.client.keyFile];
        const first = await probe(proxy.tlsPort, [...withCert, '-sess_out', sessionFile]);
        assert.equal(first.session, 'New', first.output);
        assert.ok(first.answered, first.output);
        const again = await probe(proxy.tlsPort, [...withCert, '-sess_in', sessionFile]);
        assert.equal(again.session, 'Reused', again.output);
        assert.ok(again.answered, again.output);

        const failuresBefore = await counter('tls_handshake_failures_bad_certificate_total');
        const none = await probe(proxy.tlsPort, []);
        assert.equal(none.answered, false, `no client certificate, no service:\n${none.output}`);
        const untrusted = await probe(proxy.tlsPort, ['-cert', certs.untrusted.certFile, '-key', certs.untrusted.keyFile]);
        assert.equal(untrusted.answered, false, `an untrusted client certificate, no service:\n${untrusted.output}`);
        assert.equal((await settled('tls_handshake_failures_bad_certificate_total', (n) => n >= failuresBefore + 2)) - failuresBefore, 2);

        const plain = net.connect(proxy.tlsPort, '127.0.0.1');
        await once(plain, 'connect');
        let answer = '';
        plain.on('data', (chunk: Buffer) => {
          answer += chunk.toString();
        });
        plain.write(options(proxy.tlsPort));
        await once(plain, 'close');
        assert.equal(answer, '', 'plaintext on the TLS port gets no answer');
        assert.equal(await settled('tls_handshake_failures_plaintext_total', (n) => n >= 1), 1);
        let failed = 0;
        for (const reason of ['bad_certificate', 'timeout', 'plaintext', 'protocol', 'aborted']) failed += await counter(`tls_handshake_failures_${reason}_total`);
        assert.equal(await settled('tls_failed_connections_closed_cleanly_total', (n) => n >= failed), failed, 'every refused connection closed in order');
      } finally {
        await stunnel?.stop();
        assert.equal(await proxy.stop(), 0, 'the proxy exits 0 on SIGTERM');
      }
    });

    // How the pools keep TLS sessions does not depend on --transactions (io-dispatch, which ends
    // TLS in its I/O process, runs it): left out of the shared pools to keep npm test short.
    const sessionsAsOwned = SHARED_TRANSACTION_VARIANTS.includes(variant) && 'TLS sessions as in the owned pool (CI budget)';
    test('--tls-resumption off: s_client offers its session and gets a new one', { skip: sessionsAsOwned }, async () => {
      const metrics = await freePort();
      const proxy = await startProxy([...tlsArgs(), '--tls-resumption', 'off', '--metrics', `127.0.0.1:${metrics}`, ...model.args]);
      try {
        // TLS 1.3 (tickets) and TLS 1.2 (tickets, or a session id).
        for (const version of [[], ['-tls1_2']]) {
          const sessionFile = join(sessionDir, `${variant.name}-off${version.join('')}.pem`);
          const first = await probe(proxy.tlsPort, ['-sess_out', sessionFile, ...version]);
          assert.equal(first.session, 'New', first.output);
          assert.ok(first.answered, first.output);
          const again = await probe(proxy.tlsPort, ['-sess_in', sessionFile, ...version]);
          assert.equal(again.session, 'New', again.output);
          assert.ok(again.answered, again.output);
        }
        await new Promise((resolve) => setTimeout(resolve, 150));
        assert.equal(await proxyCounter(metrics, 'switchboard_tls_handshakes_resumed_total'), 0);
        assert.ok((await proxyCounter(metrics, 'switchboard_tls_handshakes_total')) >= 4);
      } finally {
        assert.equal(await proxy.stop(), 0, 'the proxy exits 0 on SIGTERM');
      }
    });
  });
}
