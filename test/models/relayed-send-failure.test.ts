import assert from 'node:assert/strict';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { freePort, MODEL_VARIANTS, prepareModel, proxyCounter, startProxy } from '../interop/harness.js';
import { childPids, sipRequest, TcpPhone } from './test-phones.js';

/**
 * A write relayed to the worker that owns a connection (process-pool with --supervisor-handles
 * release; TLS in every process-pool) that fails there must fail the transaction that wrote it, as
 * a local failed write does (RFC 3261 §18.4, §16.9): the caller gets its 500 at once, not a 408
 * when timer B runs out. Real proxy processes and a real redis-server.
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

describe('a relayed write that fails reaches the transaction that wrote it', { concurrency: false, timeout: 60_000 }, () => {
  let model: { args: string[]; stop(): Promise<void> };
  before(async () => {
    model = await prepareModel(processPool);
  });
  after(async () => {
    await model.stop();
  });

  test('process-pool, --supervisor-handles release: an INVITE relayed to a connection that was reset is a 500 at once, not a 408 after timer B', async () => {
    // T1 100 ms: timer B is 6.4 s, so a caller left to time out learns it within the test.
    const metricsPort = await freePort();
    const proxy = await startProxy(['--domain', 'example.com', '--supervisor-handles', 'release', '--assign', 'round-robin', '--t1', '100', '--t2', '400', '--metrics', `127.0.0.1:${metricsPort}`, ...model.args]);
    // Round-robin: bob's connection goes to one worker, alice's to the other.
    const bob = await TcpPhone.connect(proxy.tcpPort);
    const alice = await TcpPhone.connect(proxy.tcpPort);
    let stopped: number | undefined;
    try {
      assert.equal(await bob.register('bob', 'example.com'), 200);
      const workers = await childPids(proxy.process.pid as number);
      assert.equal(workers.length, 2);
      stopped = await ownerOf(workers, proxy.tcpPort, bob.socket.localPort as number);
      assert.ok(stopped !== undefined, "found the worker holding bob's connection");
      assert.notEqual(await ownerOf(workers, proxy.tcpPort, alice.socket.localPort as number), stopped, "alice's connection is read by the other worker");
      process.kill(stopped, 'SIGSTOP');
      // The owner cannot notice: the supervisor still names it as the connection's owner.
      bob.socket.resetAndDestroy();
      await new Promise((resolve) => setTimeout(resolve, 200));
      // Handled by the worker reading alice's connection: the INVITE for bob is relayed to the stopped owner.
      alice.socket.write(sipRequest('INVITE', 'sip:bob@example.com', { via: `SIP/2.0/TCP 127.0.0.1:${alice.socket.localPort}`, extra: [`Contact: <sip:alice@127.0.0.1:${alice.socket.localPort};transport=tcp>`] }));
      // Until the supervisor has passed the relay on to the stopped owner (the writer counts it
      // asked, the supervisor passed on: 2; the stopped worker's stats time out and count nothing).
      const relayedBy = Date.now() + 15_000;
      while ((await proxyCounter(metricsPort, 'switchboard_tcp_relays_sent_total')) < 2 && Date.now() < relayedBy) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.ok((await proxyCounter(metricsPort, 'switchboard_tcp_relays_sent_total')) >= 2, 'the INVITE was relayed to the stopped owner');
      process.kill(stopped, 'SIGCONT');
      stopped = undefined;
      await alice.until(() => alice.responses.length > 0, 15_000);
      const final = alice.responses[0]?.status;
      assert.equal(final, 500, `the branch failed at once (§16.9), not by timer B (408); got ${final}`);
    } finally {
      if (stopped !== undefined) process.kill(stopped, 'SIGCONT');
      bob.close();
      alice.close();
      await proxy.stop();
    }
  });
});
