import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { freePort, MODEL_VARIANTS, prepareModel, runSipp, sippCalls, startProxy, type RunningProxy } from '../interop/harness.js';
import { childPids, workerPidsBySlot } from './test-phones.js';
import { waitFor } from './wait-for.js';

/**
 * Failover over TCP (issue 16 item 4): SIGKILL one of two process-pool workers 2 s into 600 SIPp
 * calls at 100 calls/s, one TCP connection per side (`-t t1`), `--state redis --transactions
 * shared`. The supervisor holds a handle of every TCP connection (`--supervisor-handles keep`, the
 * default) and hands the dead worker's connections to the survivor, so SIPp's connection stays
 * open and at least 99.5% of the calls complete; the replacement worker comes up. Run twice: the
 * victim owns the caller's connection (it also opened the callee's: it forwarded the first
 * INVITE), or it is the other worker. Client transactions are still owned by their worker here, so
 * only calls in flight in the victim at the instant of the kill may be lost.
 */

const processPool = MODEL_VARIANTS.find((variant) => variant.name === 'process-pool');
if (processPool === undefined) throw new Error('no process-pool variant');

const CALLS = 600;
const RATE = 100;
/** At least 99.5% of the calls complete. */
const MIN_SUCCESSFUL = Math.ceil(CALLS * 0.995);

/** A metric of the proxy's Prometheus text, by worker label. */
async function byWorker(metricsPort: number, name: string): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = new RegExp(`^${name}\\{worker="([^"]+)"\\} (\\S+)$`).exec(line);
    if (match !== null) values.set(match[1] as string, Number(match[2]));
  }
  return values;
}

describe('process-pool failover over TCP: a dead worker\'s connections are handed to the survivor', { concurrency: false, timeout: 120_000 }, () => {
  let model: { args: string[]; stop(): Promise<void> };
  before(async () => {
    model = await prepareModel(processPool);
  });
  after(async () => {
    await model.stop();
  });

  for (const victim of ['owner', 'other'] as const) {
    test(`SIGKILL of the worker that is the ${victim === 'owner' ? "owner of the caller's connection" : "other one (not the caller's connection's owner)"}: >= 99.5% of ${CALLS} calls complete, the connection stays open, a replacement comes up`, async (t) => {
      const calleePort = await freePort();
      const metricsPort = await freePort();
      const proxy: RunningProxy = await startProxy(['--default-route', `sip:127.0.0.1:${calleePort};transport=tcp`, '--state', 'redis', '--transactions', 'shared', '--metrics', `127.0.0.1:${metricsPort}`, ...model.args], 20_000);
      const callee = runSipp(['-sf', 'uas-rr.xml', '-i', '127.0.0.1', '-p', String(calleePort), '-t', 't1'], 30);
      let caller: ReturnType<typeof runSipp> | undefined;
      try {
        const workers = await workerPidsBySlot(proxy.process.pid as number);
        assert.equal(workers.length, 2);
        await new Promise((resolve) => setTimeout(resolve, 300));
        caller = runSipp([
          '-sf', 'uac-rr.xml', '-i', '127.0.0.1', '-p', '0', '-t', 't1', '-key', 'target', `127.0.0.1:${calleePort}`,
          '-s', 'bob', '-m', String(CALLS), '-r', String(RATE), '-l', '200', '-recv_timeout', '5000',
          `127.0.0.1:${proxy.tcpPort}`,
        ], 30);
        await new Promise((resolve) => setTimeout(resolve, 2000));
        // The caller's connection is the one connection the proxy accepted: its owner counted it.
        const accepted = await byWorker(metricsPort, 'switchboard_tcp_connections_accepted_total');
        const owners = [...accepted].filter(([worker, count]) => worker !== 'supervisor' && count > 0).map(([worker]) => Number(worker));
        assert.equal(owners.length, 1, `one worker accepted the caller's connection: ${JSON.stringify([...accepted])}`);
        const owner = owners[0] as number;
        const slot = victim === 'owner' ? owner : 1 - owner;
        const pid = workers[slot] as number;
        const connectionsBefore = (await byWorker(metricsPort, 'switchboard_tcp_connections')).get('supervisor');
        assert.equal(connectionsBefore, 2, 'the caller\'s connection and the one to the callee');
        process.kill(pid, 'SIGKILL');

        // The replacement says ready (it answers stats again), in the victim's slot.
        await waitFor(async () => {
          const restarts = await byWorker(metricsPort, 'switchboard_tcp_connections');
          const now = await childPids(proxy.process.pid as number);
          return now.length === 2 && !now.includes(pid) && restarts.has('0') && restarts.has('1');
        }, 'the replacement worker', 15_000, 100);
        // Both connections still open: none was closed with the worker, nor opened again.
        const supervisor = async (name: string): Promise<number | undefined> => (await byWorker(metricsPort, name)).get('supervisor');
        assert.equal(await supervisor('switchboard_tcp_connections'), 2, 'the supervisor still holds the same two connections');
        assert.equal(await supervisor('switchboard_connections_lost_with_worker_total'), 0);
        // /metrics reuses a gathering for 100 ms, so a scrape right after the replacement shows up
        // in /proc can predate the supervisor's handing over: wait for the count, briefly.
        const handedOver = victim === 'owner' ? 2 : 0;
        await waitFor(async () => (await supervisor('switchboard_connections_handed_over_total')) === handedOver, `${handedOver} connections handed over`, 2000, 50);

        const result = await caller.done;
        const calls = sippCalls(result.output);
        t.diagnostic(`${calls.successful} of ${CALLS} calls completed; hand-offs given back (their worker gone): ${await supervisor('switchboard_hand_offs_returned_total')}`);
        assert.ok(calls.successful >= MIN_SUCCESSFUL, `successful ${calls.successful}, failed ${calls.failed} (at least ${MIN_SUCCESSFUL}):\n${result.output.slice(-3000)}`);
        assert.doesNotMatch(result.output, /broken pipe|remote peer|connection reset|connection closed|reconnect/i, 'SIPp saw its connection stay open');
        const exited = proxy.lines.map((line) => JSON.parse(line) as { msg?: string; worker?: number; pid?: number; connectionsHandedOver?: number }).find((entry) => entry.msg === 'worker-exited');
        assert.equal(exited?.pid, pid, 'the supervisor logged the victim\'s exit');
        assert.equal(exited?.worker, slot);
        assert.equal(exited?.connectionsHandedOver, victim === 'owner' ? 2 : 0);
      } finally {
        caller?.process.kill('SIGKILL');
        callee.process.kill('SIGKILL');
        await callee.done;
        assert.equal(await proxy.stop(), 0);
      }
    });
  }
});
