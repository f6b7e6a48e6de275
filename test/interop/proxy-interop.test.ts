import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EVERY_VARIANT, freePort, prepareModel, runSipp, sippCalls, startProxy, type RunningProxy } from './harness.js';

/**
 * SIPp caller -> Switchboard -> SIPp callee, for real, on loopback. Each test starts its own
 * proxy and SIPp processes on free ports and stops them.
 */

const CALLS = 300;
const RATE = 100;

async function callThrough(options: { transport: 'u1' | 't1' | 'tn'; calls: number; caller: string; callee: string; proxyArgs?: string[]; target?: string }): Promise<void> {
  const calleePort = await freePort();
  const tcp = options.transport !== 'u1';
  const route = `sip:127.0.0.1:${calleePort}${tcp ? ';transport=tcp' : ''}`;
  const proxy = await startProxy(['--default-route', route, ...(options.proxyArgs ?? [])]);
  try {
    const callee = runSipp(['-sf', options.callee, '-i', '127.0.0.1', '-p', String(calleePort), '-t', tcp ? 't1' : 'u1', '-m', String(options.calls)]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const proxyPort = tcp ? proxy.tcpPort : proxy.udpPort;
    const caller = runSipp([
      '-sf', options.caller, '-i', '127.0.0.1', '-p', '0', '-t', options.transport,
      '-key', 'target', options.target ?? `127.0.0.1:${calleePort}`,
      '-s', 'bob', '-m', String(options.calls), '-r', String(RATE), '-l', '200',
      `127.0.0.1:${proxyPort}`,
    ]);
    const callerResult = await caller.done;
    const calleeResult = await callee.done;
    const calls = sippCalls(callerResult.output);
    assert.equal(callerResult.code, 0, `caller failed (${calls.successful} ok, ${calls.failed} failed):\n${callerResult.output.slice(-3000)}`);
    assert.equal(calls.successful, options.calls);
    assert.equal(calleeResult.code, 0, `callee failed:\n${calleeResult.output.slice(-3000)}`);
  } finally {
    assert.equal(await proxy.stop(), 0, 'the proxy exits 0 on SIGTERM');
  }
}

for (const variant of EVERY_VARIANT) {
  describe(`SIPp interop through the proxy, --model ${variant.name}`, { concurrency: false, timeout: 300_000 }, () => {
    let model: { args: string[]; stop(): Promise<void> };
    before(async () => {
      model = await prepareModel(variant);
    });
    after(async () => {
      await model.stop();
    });

    test(`record-routed calls over UDP: ${CALLS} calls, all succeed`, async () => {
      await callThrough({ transport: 'u1', calls: CALLS, caller: 'uac-rr.xml', callee: 'uas-rr.xml', proxyArgs: model.args });
    });

    test(`record-routed calls over TCP, one connection (-t t1): ${CALLS} calls`, async () => {
      await callThrough({ transport: 't1', calls: CALLS, caller: 'uac-rr.xml', callee: 'uas-rr.xml', proxyArgs: model.args });
    });

    test(`record-routed calls over TCP, a connection per call (-t tn): ${CALLS} calls`, async () => {
      await callThrough({ transport: 'tn', calls: CALLS, caller: 'uac-rr.xml', callee: 'uas-rr.xml', proxyArgs: model.args });
    });

    test('a callee that answers 486: the caller gets it, ACKs hop by hop', async () => {
      await callThrough({ transport: 'u1', calls: 50, caller: 'uac-failure.xml', callee: 'uas-failure.xml', proxyArgs: model.args });
    });

    test('CANCEL before answer: 200 for the CANCEL, 487 for the INVITE', async () => {
      await callThrough({ transport: 'u1', calls: 50, caller: 'uac-cancel.xml', callee: 'uas-cancel.xml', proxyArgs: model.args });
    });
  });
}

for (const variant of EVERY_VARIANT) {
  describe(`registrar and location service with SIPp, --model ${variant.name}`, { concurrency: false, timeout: 120_000 }, () => {
    let proxy: RunningProxy;
    let model: { args: string[]; stop(): Promise<void> };
    before(async () => {
      model = await prepareModel(variant);
      proxy = await startProxy(['--domain', 'example.com', ...model.args]);
    });
    after(async () => {
      await proxy.stop();
      await model.stop();
    });

    test('REGISTER, then a call to the registered contact reaches it', async () => {
      const calleePort = await freePort();
      const register = runSipp([
        '-sf', 'register.xml', '-i', '127.0.0.1', '-p', '0', '-t', 'u1',
        '-key', 'domain', 'example.com', '-key', 'contact_port', String(calleePort), '-s', 'bob', '-m', '1',
        `127.0.0.1:${proxy.udpPort}`,
      ]);
      assert.equal((await register.done).code, 0, 'REGISTER answered 200');
      const callee = runSipp(['-sf', 'uas-rr.xml', '-i', '127.0.0.1', '-p', String(calleePort), '-t', 'u1', '-m', '20']);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const caller = runSipp([
        '-sf', 'uac-rr.xml', '-i', '127.0.0.1', '-p', '0', '-t', 'u1', '-key', 'target', 'example.com',
        '-s', 'bob', '-m', '20', '-r', '20', `127.0.0.1:${proxy.udpPort}`,
      ]);
      const result = await caller.done;
      assert.equal(result.code, 0, result.output.slice(-3000));
      assert.equal((await callee.done).code, 0);
    });
  });
}
