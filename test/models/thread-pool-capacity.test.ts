import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freePort, startProxy } from '../interop/harness.js';
import { checkConnectionCap } from './connection-cap.js';

/**
 * The thread-pool's --max-connections is one cap its threads share, not a share each: the kernel
 * does not spread accepts evenly over threads accepting from one socket, and with equal shares E5
 * saw the thread-pool refuse 433 of 19,000 connections under a cap of 19,936 (one thread's share
 * full while the other had room). A real serve process with 4 threads and a cap of 60.
 */

test('thread-pool, 4 threads, --max-connections 60: all 60 held whichever threads accept them, the next refused and counted, room frees as they close', { timeout: 120_000 }, async () => {
  const metricsPort = await freePort();
  const proxy = await startProxy(['--model', 'thread-pool', '--workers', '4', '--domain', 'example.com', '--max-connections', '60', '--metrics', `127.0.0.1:${metricsPort}`]);
  try {
    await checkConnectionCap(proxy.tcpPort, metricsPort, 'switchboard_tcp_connections_refused_total', 60, 20);
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});
