/**
 * The process-pool's shared UDP socket and its one kernel filter (`--overload-kernel-filter`):
 * node:cluster gives every worker the same socket, whose filter the workers set together, each
 * writing what it wants into the program and reading the others' back (UdpKernelShedder). A real
 * pool (two forked workers, a real redis-server) is flooded with REGISTERs until it limits: every
 * worker reports a share of REGISTERs kept below 1, as read from the one socket at its last
 * sample, and the kernel took every filter; once the flood stops the filter is removed and every worker reports
 * 1 again. Nothing asserts on timings: each wait is for a state, bounded.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import { SOCKET_FILTER_PLATFORM } from '@switchboard/core';
import { freePort, MODEL_VARIANTS, prepareModel, proxyCounter, startProxy, type RunningProxy } from '../interop/harness.js';

const PROCESS_POOL = MODEL_VARIANTS.find((variant) => variant.name === 'process-pool');
const PASS_GAUGE = 'switchboard_overload_kernel_register_pass';

/** Each worker's share of REGISTERs kept, from one scrape (worker label to value). */
async function passByWorker(metricsPort: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const shares = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = line.match(/^switchboard_overload_kernel_register_pass\{worker="([^"]*)"\} (\S+)$/);
    if (match) shares.set(match[1] as string, Number(match[2]));
  }
  return shares;
}

/** Polls `read` every 100 ms until `ok` holds (then returns that value) or `ms` pass (undefined). */
async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, ms: number): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await read();
    if (ok(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return undefined;
}

function register(port: number, sent: number): Buffer {
  return Buffer.from(
    [
      'REGISTER sip:example.com SIP/2.0',
      `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-flood-${sent}`,
      'Max-Forwards: 70',
      `From: <sip:user${sent % 500}@example.com>;tag=flood`,
      `To: <sip:user${sent % 500}@example.com>`,
      `Call-ID: flood-${process.pid}-${sent}`,
      'CSeq: 1 REGISTER',
      `Contact: <sip:user${sent % 500}@127.0.0.1:${port}>`,
      'Expires: 60',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

describe('the process-pool\'s one kernel filter', { skip: (!SOCKET_FILTER_PLATFORM || PROCESS_POOL === undefined) && 'Linux socket filters, the process-pool' }, () => {
  let proxy: RunningProxy | undefined;
  let model: { args: string[]; stop(): Promise<void> } | undefined;
  let metricsPort = 0;
  const flood = dgram.createSocket('udp4');

  before(async () => {
    model = await prepareModel(PROCESS_POOL as NonNullable<typeof PROCESS_POOL>);
    await new Promise<void>((resolve) => flood.bind(0, '127.0.0.1', () => resolve()));
    // Answers (200s, 503s) are read and thrown away: only the proxy's gauges matter here.
    flood.on('message', () => {});
    metricsPort = await freePort();
    proxy = await startProxy([
      ...model.args,
      '--domain', 'example.com',
      '--metrics', `127.0.0.1:${metricsPort}`,
      '--overload', 'on',
      // As test/models/overload.test.ts: a real flood overloads the workers on any machine.
      '--overload-utilization', '0.05',
      '--overload-queue-delay', '0',
    ]);
  });

  after(async () => {
    if (proxy !== undefined && proxy.process.exitCode === null) {
      const exited = new Promise((resolve) => proxy?.process.once('exit', resolve));
      proxy.process.kill('SIGKILL');
      await exited;
    }
    await model?.stop();
    flood.close();
  });

  test('the workers set one filter and read the same share from the socket, and it is removed when the flood ends', async () => {
    const running = proxy as RunningProxy;
    let sent = 0;
    let flooding = true;
    const sending = (async () => {
      const deadline = Date.now() + 30_000;
      while (flooding && Date.now() < deadline) {
        for (let n = 0; n < 40; n++) flood.send(register(flood.address().port, ++sent), running.udpPort, '127.0.0.1');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    // Both workers report a share below 1 at one scrape: the socket's, as each last read it.
    const filtered = await until(() => passByWorker(metricsPort), (shares) => shares.size === 2 && [...shares.values()].every((share) => share < 1), 25_000);
    const filters = await proxyCounter(metricsPort, 'switchboard_overload_kernel_filters_total');
    const failures = await proxyCounter(metricsPort, 'switchboard_overload_kernel_filter_failures_total');
    flooding = false;
    await sending;
    assert.ok(filtered, `every worker read a filtered share (${JSON.stringify([...((await passByWorker(metricsPort)) ?? [])])}, ${sent} REGISTERs sent)`);
    assert.ok(filters >= 1, `the workers set filters: ${filters}`);
    assert.equal(failures, 0, 'the kernel took every filter');
    // Flood over: the workers stop limiting; the filter is removed and each reads it gone.
    const removed = await until(() => passByWorker(metricsPort), (shares) => shares.size === 2 && [...shares.values()].every((share) => share === 1), 30_000);
    assert.ok(removed, `every worker back to 1: ${JSON.stringify([...(await passByWorker(metricsPort))])}`);
  });
});
