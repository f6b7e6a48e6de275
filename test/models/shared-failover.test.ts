import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { freePort, MODEL_VARIANTS, prepareModel, proxyCounter, runSipp, sippCalls, startProxy } from '../interop/harness.js';
import { childPids } from './test-phones.js';
import { waitFor } from './wait-for.js';

/**
 * `--transactions shared` failover over UDP (issue 16, item 3): one of the process-pool's two
 * workers is SIGKILLed 2 s into 600 SIPp calls at 100 calls/s. The supervisor tells the survivor
 * (and the replacement worker) of the death, and they take the dead worker's transactions over at
 * once, before their leases lapse (transactions_taken_over), and every call completes:
 * SIPp's retransmissions carry the calls over the gap. Real proxy processes, a real
 * redis-server, real SIPp.
 */

const processPool = MODEL_VARIANTS.find((variant) => variant.name === 'process-pool');
if (processPool === undefined) throw new Error('no process-pool variant');

describe('process-pool --state redis --transactions shared: a worker SIGKILLed under UDP load', { concurrency: false, timeout: 120_000 }, () => {
  let model: { args: string[]; stop(): Promise<void> };
  before(async () => {
    model = await prepareModel(processPool);
  });
  after(async () => {
    await model.stop();
  });

  test('600 calls at 100 calls/s, one of two workers killed 2 s in: every call completes, and its transactions are adopted', async (t) => {
    const calleePort = await freePort();
    const metricsPort = await freePort();
    const proxy = await startProxy(['--default-route', `sip:127.0.0.1:${calleePort}`, '--transactions', 'shared', '--t1', '1000', '--metrics', `127.0.0.1:${metricsPort}`, ...model.args], 20_000);
    try {
      const workers = await childPids(proxy.process.pid as number);
      assert.equal(workers.length, 2);
      // A callee that rings for 300 ms before it answers, so each worker holds calls in
      // Proceeding (with their client branches) when it dies. T1 of 1 s: on a loaded machine a
      // proxy whose 180 waits over 500 ms retransmits the INVITE (timer A), and SIPp's callee,
      // getting it after its 200, aborts the call on the ACK, with or without a failover.

      const callee = runSipp(['-sf', 'uas-rr-ring.xml', '-i', '127.0.0.1', '-p', String(calleePort), '-t', 'u1'], 60);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const caller = runSipp([
        '-sf', 'uac-rr.xml', '-i', '127.0.0.1', '-p', '0', '-t', 'u1', '-key', 'target', `127.0.0.1:${calleePort}`,
        '-s', 'bob', '-m', '600', '-r', '100', '-l', '400', `127.0.0.1:${proxy.udpPort}`,
      ], 60);
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const victim = workers[1] as number;
      process.kill(victim, 'SIGKILL');
      await waitFor(async () => {
        const now = await childPids(proxy.process.pid as number);
        return now.length === 2 && !now.includes(victim);
      }, 'a replacement worker', 15_000);

      const result = await caller.done;
      callee.process.kill('SIGTERM');
      await callee.done;
      const calls = sippCalls(result.output);
      const counters = async (name: string): Promise<number> => proxyCounter(metricsPort, `switchboard_${name}_total`);
      const adopted = await counters('transactions_adopted');
      const takenOver = await counters('transactions_taken_over');
      const report = `successful ${calls.successful}, failed ${calls.failed}; adopted ${adopted} (taken over at the death notice ${takenOver}, re-routed ${await counters('transactions_adopted_rerouted')}), leases lost ${await counters('transaction_leases_lost')}, lease failures ${await counters('transaction_lease_failures')}, replayed ${await counters('shared_retransmissions_replayed')}, dropped ${await counters('shared_retransmissions_dropped')}`;
      t.diagnostic(report);
      assert.equal(calls.successful, 600, `${report}\n${result.output.slice(-2500)}`);
      assert.equal(calls.failed, 0, report);
      assert.ok(adopted > 0, `the survivors adopted the dead worker's transactions (${report})`);
      // Counted only for leases taken from a dead owner named by the supervisor's notice (a lapsed
      // lease found by the 10 s sweep is not), so this is the notice at work.
      assert.ok(takenOver > 0, `taken over at the death notice, not when the leases lapsed (${report})`);
      assert.equal(await counters('internal_errors'), 0, report);
      assert.ok(proxy.lines.some((line) => line.includes('"worker-exited"')), 'the supervisor logged the exit');
    } finally {
      assert.equal(await proxy.stop(), 0);
    }
  });
});
