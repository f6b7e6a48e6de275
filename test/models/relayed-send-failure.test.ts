import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdir, readFile, readlink } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { createTestCertificates, type TestCertificates } from '@switchboard/testkit/certificates';
import { freePort, MODEL_VARIANTS, prepareModel, proxyCounter, startProxy, type RunningProxy } from '../interop/harness.js';
import { childPids, sipRequest, TcpPhone } from './test-phones.js';

/**
 * A write relayed to the worker that owns a connection (process-pool with --supervisor-handles
 * release; TLS in every process-pool) that fails there must fail the transaction that wrote it, as
 * a local failed write does (RFC 3261 §18.4, §16.9): the caller gets its 500 at once, not a 408
 * when timer B runs out. Over TCP and over TLS, on one proxy. Real proxy processes and a real
 * redis-server.
 *
 * The failure is made certain by stopping the owner (SIGSTOP) while its connection's peer resets
 * it and a request for that peer is relayed to it: when the owner resumes, the connection is gone
 * or its write fails, whichever it sees first.
 */

const processPool = MODEL_VARIANTS.find((variant) => variant.name === 'process-pool');
if (processPool === undefined) throw new Error('no process-pool variant');

/** The worker process holding the proxy's end of the TCP connection whose peer's port is `peerPort`. */
async function ownerOf(workers: readonly number[], proxyPort: number, peerPort: number): Promise<number | undefined> {
  const hex = (port: number): string => port.toString(16).toUpperCase().padStart(4, '0');
  const table = await readFile('/proc/net/tcp', 'utf8');
  const row = table
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .find((fields) => fields[1]?.endsWith(`:${hex(proxyPort)}`) && fields[2]?.endsWith(`:${hex(peerPort)}`));
  const inode = row?.[9];
  if (inode === undefined) return undefined;
  for (const pid of workers) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => []);
    for (const fd of fds) if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')) === `socket:[${inode}]`) return pid;
  }
  return undefined;
}

/** bob: a phone on one TCP or TLS connection that registers as `user`; its raw TCP socket, to reset it. */
async function bobOn(protocol: 'tcp' | 'tls', port: number, ca: string | undefined, user: string): Promise<{ raw: net.Socket; localPort: number; register(): Promise<boolean> }> {
  const raw = net.connect({ port, host: '127.0.0.1' });
  await once(raw, 'connect');
  raw.on('error', () => undefined);
  let socket: net.Socket = raw;
  if (protocol === 'tls') {
    const secure = tls.connect({ socket: raw, ca, servername: 'localhost' });
    secure.on('error', () => undefined);
    await once(secure, 'secureConnect');
    socket = secure;
  }
  let read = '';
  socket.on('data', (chunk: Buffer) => {
    read += chunk.toString();
  });
  const local = `127.0.0.1:${raw.localPort}`;
  return {
    raw,
    localPort: raw.localPort as number,
    async register() {
      socket.write(sipRequest('REGISTER', 'sip:example.com', { via: `SIP/2.0/${protocol.toUpperCase()} ${local}`, from: `sip:${user}@example.com`, to: `sip:${user}@example.com`, extra: [`Contact: <sip:${user}@${local};transport=${protocol}>`, 'Expires: 300'] }));
      const deadline = Date.now() + 5000;
      while (!read.startsWith('SIP/2.0 200') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      return read.startsWith('SIP/2.0 200');
    },
  };
}

describe('a relayed write that fails reaches the transaction that wrote it', { concurrency: false, timeout: 90_000 }, () => {
  let model: { args: string[]; stop(): Promise<void> };
  let certs: TestCertificates;
  let proxy: RunningProxy;
  let metricsPort: number;
  before(async () => {
    model = await prepareModel(processPool);
    certs = await createTestCertificates();
    metricsPort = await freePort();
    // TCP with handles released (its writes on another worker's connection are relayed), TLS
    // (always relayed). T1 250 ms: timer B is 16 s, so a caller left to time out learns it within
    // the test, and a loaded machine has seconds to spare before it.
    proxy = await startProxy(['--domain', 'example.com', '--supervisor-handles', 'release', '--listen', 'tls:127.0.0.1:0', '--tls-cert', certs.server.certFile, '--tls-key', certs.server.keyFile, '--assign', 'round-robin', '--t1', '250', '--t2', '1000', '--metrics', `127.0.0.1:${metricsPort}`, ...model.args], 30_000);
  });
  after(async () => {
    await proxy.stop();
    await model.stop();
    await certs.remove();
  });

  for (const protocol of ['tcp', 'tls'] as const) {
    const how = protocol === 'tcp' ? 'TCP with --supervisor-handles release' : 'TLS (always relayed)';
    test(`process-pool, ${how}: an INVITE relayed to a connection that was reset is a 500 at once, not a 408 after timer B`, async () => {
      const user = `bob-${protocol}`;
      const bobPort = protocol === 'tcp' ? proxy.tcpPort : proxy.tlsPort;
      // Round-robin: bob's connection goes to one worker, alice's to the other.
      const bob = await bobOn(protocol, bobPort, certs.ca.cert, user);
      const alice = await TcpPhone.connect(proxy.tcpPort);
      let stopped: number | undefined;
      try {
        assert.ok(await bob.register(), `${user} registered`);
        const workers = await childPids(proxy.process.pid as number);
        assert.equal(workers.length, 2);
        stopped = await ownerOf(workers, bobPort, bob.localPort);
        assert.ok(stopped !== undefined, "found the worker holding bob's connection");
        assert.notEqual(await ownerOf(workers, proxy.tcpPort, alice.socket.localPort as number), stopped, "alice's connection is read by the other worker");
        const relays = `switchboard_${protocol}_relays_sent_total`;
        const relaysBefore = await proxyCounter(metricsPort, relays);
        process.kill(stopped, 'SIGSTOP');
        // The owner cannot notice: the supervisor still names it as the connection's owner.
        bob.raw.resetAndDestroy();
        await new Promise((resolve) => setTimeout(resolve, 200));
        // Handled by the worker reading alice's connection: the INVITE for bob is relayed to the stopped owner.
        alice.socket.write(sipRequest('INVITE', `sip:${user}@example.com`, { via: `SIP/2.0/TCP 127.0.0.1:${alice.socket.localPort}`, extra: [`Contact: <sip:alice@127.0.0.1:${alice.socket.localPort};transport=tcp>`] }));
        // Until the supervisor has passed the relay on to the stopped owner (the writer counts it
        // asked, the supervisor passed on: 2 more; the stopped worker's stats time out and count nothing).
        const relayed = async (): Promise<boolean> => (await proxyCounter(metricsPort, relays)) >= relaysBefore + 2;
        const relayedBy = Date.now() + 15_000;
        while (!(await relayed()) && Date.now() < relayedBy) await new Promise((resolve) => setTimeout(resolve, 100));
        assert.ok(await relayed(), 'the INVITE was relayed to the stopped owner');
        process.kill(stopped, 'SIGCONT');
        stopped = undefined;
        await alice.until(() => alice.responses.length > 0, 30_000);
        const final = alice.responses[0]?.status;
        assert.equal(final, 500, `the branch failed at once (§16.9), not by timer B (408); got ${final}`);
      } finally {
        if (stopped !== undefined) process.kill(stopped, 'SIGCONT');
        bob.raw.destroy();
        alice.close();
      }
    });
  }
});
