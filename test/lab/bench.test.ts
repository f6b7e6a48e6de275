import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { benchSettings, runBench, type BenchProgress, type BenchResult } from '@switchboard/bench';
import { freePort } from '@switchboard/testkit/free-port';

/**
 * The load generator against a real `switchboard serve`: every call it counts as completed went
 * through INVITE/180/200/ACK/BYE/200, its counts agree with themselves and with the proxy's own
 * counters, connection lifetimes really open connections, and a proxy that dies shows up as
 * failures, not as silence.
 */

const BIN = fileURLToPath(new URL('../../../packages/cli/bin/switchboard.js', import.meta.url));

interface Proxy {
  readonly child: ChildProcess;
  readonly address: string;
  readonly metricsUrl: string;
}

async function startProxy(extraArgs: string[] = []): Promise<Proxy> {
  const port = await freePort();
  const metricsPort = await freePort();
  const child = spawn(process.execPath, [BIN, 'serve', '--listen', `udp:127.0.0.1:${port}`, '--listen', `tcp:127.0.0.1:${port}`, '--domain', 'example.com', '--metrics', `127.0.0.1:${metricsPort}`, ...extraArgs], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('"msg":"ready"')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`proxy exited ${code}`)));
  });
  child.stdout?.resume();
  return { child, address: `127.0.0.1:${port}`, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` };
}

async function stop(proxy: Proxy): Promise<void> {
  if (proxy.child.exitCode !== null || proxy.child.signalCode !== null) return;
  const exited = new Promise((resolve) => proxy.child.once('exit', resolve));
  proxy.child.kill('SIGKILL');
  await exited;
}

let proxy: Proxy;
before(async () => {
  proxy = await startProxy();
});
after(async () => {
  await stop(proxy);
});

function assertConsistent(result: BenchResult, clients: number): void {
  assert.equal(result.registrations.completed, 2 * clients, 'every caller and callee registered');
  assert.equal(result.calls.failed, 0, `no failures: ${JSON.stringify(result.failures)}`);
  assert.equal(result.calls.successRatio, 1);
  assert.ok(result.calls.completed >= 50, `calls completed: ${result.calls.completed}`);
  assert.equal(result.operations.total, result.operations.invite + result.operations.bye);
  // The calls started in the window are counted to their end, so the counts are exact: every
  // call is completed or failed, and every completed call is one INVITE and one BYE transaction.
  assert.equal(result.calls.completed + result.calls.failed, result.calls.attempted, 'every call started in the window is accounted for');
  assert.equal(result.operations.bye, result.calls.completed, `${result.operations.bye} BYEs for ${result.calls.completed} calls`);
  assert.ok(Math.abs(result.operations.perSecond - result.operations.total / result.windowSeconds) < 1);
  assert.equal(result.latencyMs['invite-200']?.count, result.operations.invite, 'one call-setup time per 2xx INVITE');
  assert.equal(result.latencyMs['bye-200']?.count, result.operations.bye);
  assert.ok((result.latencyMs['invite-200']?.p50 ?? 0) > 0);
  assert.ok((result.latencyMs['invite-100']?.count ?? 0) > 0, 'the stateful proxy answers 100 Trying');
  // The proxy forwarded at least INVITE, ACK and BYE of each call it saw in the window.
  const forwarded = result.proxyCounters?.switchboard_requests_forwarded_total ?? 0;
  assert.ok(forwarded >= 3 * result.calls.completed - 3 * clients, `proxy forwarded ${forwarded} requests for ${result.calls.completed} calls`);
  assert.ok((result.proxy?.cpuPercentTotal ?? 0) > 0, 'proxy CPU measured');
  assert.equal(result.generator.processes.length, result.settings.procs);
}

test('UDP, closed loop: every call completes and the counts agree with the proxy\'s', async () => {
  const result = await runBench({ proxy: proxy.address, transport: 'udp', clients: 10, durationSeconds: 1.5, warmupSeconds: 0.3, proxyPid: proxy.child.pid, proxyMetricsUrl: proxy.metricsUrl });
  assertConsistent(result, 10);
  assert.equal(result.proxyCounters?.switchboard_tcp_connections_accepted_total, 0);
  // The kernel's UDP drops over the window (machine-wide, so only their presence is checked).
  if (process.platform === 'linux') assert.ok(result.udpDrops !== undefined && result.udpDrops.receiveBufferErrors >= 0 && result.udpDrops.noPorts >= 0, JSON.stringify(result.udpDrops));
});

test('TCP, a new caller connection every 4 operations and a new callee connection per call', async () => {
  const result = await runBench({
    proxy: proxy.address,
    transport: 'tcp',
    clients: 5,
    callerConnection: 'per-ops:4',
    calleeConnection: 'per-transaction',
    durationSeconds: 1.5,
    warmupSeconds: 0.3,
    procs: 2,
    proxyPid: proxy.child.pid,
    proxyMetricsUrl: proxy.metricsUrl,
  });
  assertConsistent(result, 5);
  const accepted = result.proxyCounters?.switchboard_tcp_connections_accepted_total ?? 0;
  const opened = result.proxyCounters?.switchboard_tcp_connections_opened_total ?? 0;
  // Callers: one connection per 4 operations (2 calls); callees: the proxy connects once per call.
  assert.ok(accepted >= result.operations.total / 4 - 10, `${accepted} connections accepted for ${result.operations.total} operations`);
  assert.ok(opened >= result.calls.completed - 10, `${opened} connections opened to callees for ${result.calls.completed} calls`);
});

test('open loop: a deterministic rate starts that many calls', async () => {
  const result = await runBench({ proxy: proxy.address, transport: 'tcp', rate: 200, arrivals: 'deterministic', pairs: 20, durationSeconds: 2, warmupSeconds: 0.2, procs: 2 });
  assert.ok(Math.abs(result.calls.attempted - 400) <= 40, `attempted ${result.calls.attempted} calls at 200/s for 2 s`);
  assert.equal(result.calls.failed, 0, JSON.stringify(result.failures));
  assert.equal(result.calls.completed, result.calls.attempted, 'the calls started in the window, each to its end');
  // Counting completions inside the window instead took in the warm-up's backlog (an E7 run: 10% above the offered rate).
  assert.ok(result.calls.perSecond <= 220, `achieved ${result.calls.perSecond} calls/s of 200 offered`);
});

test('a proxy that dies mid-window shows as timeouts, not as silence', async () => {
  const doomed = await startProxy();
  // Killed 0.8 s into the window (a timer from the start killed it before the phones had
  // registered on a loaded machine).
  let killer: NodeJS.Timeout | undefined;
  const killInWindow = (progress: BenchProgress): void => {
    if (progress.phase === 'window' && killer === undefined) killer = setTimeout(() => doomed.child.kill('SIGKILL'), 800);
  };
  try {
    const result = await runBench({ proxy: doomed.address, transport: 'udp', clients: 5, durationSeconds: 2, warmupSeconds: 0, timeoutMs: 300, onProgress: killInWindow });
    assert.ok(result.calls.completed > 0);
    assert.ok(result.calls.failed > 0);
    assert.ok(result.calls.successRatio < 1);
    const timeouts = Object.entries(result.failures).filter(([kind]) => kind.startsWith('timeout:')).reduce((sum, [, count]) => sum + count, 0);
    assert.equal(timeouts, result.calls.failed, JSON.stringify(result.failures));
  } finally {
    clearTimeout(killer);
    await stop(doomed);
  }
});

test('no proxy at the address: a coded error naming --proxy', async () => {
  const port = await freePort();
  await assert.rejects(runBench({ proxy: `127.0.0.1:${port}`, transport: 'udp', clients: 2, durationSeconds: 1, timeoutMs: 300 }), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'ERR_SWITCHBOARD_BENCH_PROXY_UNREACHABLE');
    assert.match(error.message, /--proxy/);
    return true;
  });
});

test('bad options are refused with the flag named', () => {
  const base = { proxy: '127.0.0.1:5060', transport: 'udp' as const, durationSeconds: 1 };
  const refuses = (options: Parameters<typeof benchSettings>[0], flag: RegExp): void => {
    assert.throws(() => benchSettings(options), (error: Error & { code?: string }) => error.code === 'ERR_SWITCHBOARD_BENCH_OPTION' && flag.test(error.message));
  };
  refuses({ ...base }, /--clients \/ --rate/);
  refuses({ ...base, clients: 1, rate: 5 }, /--clients \/ --rate/);
  refuses({ ...base, clients: 1, callerConnection: 'per-ops:5' }, /--conn/);
  refuses({ ...base, transport: 'tcp', clients: 1, callerConnection: 'per-ops:0' as never }, /--conn/);
  refuses({ ...base, clients: 0 }, /--clients/);
  refuses({ ...base, proxy: 'nowhere', clients: 1 }, /--proxy/);
  refuses({ ...base, rate: 10, arrivals: 'bursty' as never }, /--arrivals/);
});

test('digest authentication: phones answer 401 and 407 with --auth-password; a wrong one is a coded error', async () => {
  const { userCredentials, formatUsersFile } = await import('@switchboard/core');
  const { mkdtemp, rm, writeFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'bench-auth-'));
  const users = join(dir, 'users.json');
  const clients = 8;
  await writeFile(users, formatUsersFile(Array.from({ length: clients }, (_, i) => [userCredentials(`caller${i}`, 'example.com', 'secret'), userCredentials(`callee${i}`, 'example.com', 'secret')]).flat()));
  const guarded = await startProxy(['--auth', 'all', '--auth-users', users]);
  try {
    const result = await runBench({ proxy: guarded.address, transport: 'tcp', clients, durationSeconds: 1.5, warmupSeconds: 0.3, authPassword: 'secret', proxyMetricsUrl: guarded.metricsUrl });
    assert.equal(result.registrations.completed, 2 * clients);
    assert.equal(result.calls.failed, 0, JSON.stringify(result.failures));
    assert.ok(result.calls.completed >= 20, `calls completed: ${result.calls.completed}`);
    assert.equal(result.settings.auth, true);
    // Each call: an INVITE challenged with 407, the INVITE again with credentials, and the BYE (in a dialog we record-routed: not challenged).
    // The phones count the calls started in the window, each to its end; the proxy's counters
    // count accepts between its two scrapes. They differ by the up to `clients` calls in flight at
    // the window's edges, and by the calls set up in the scrapes' overhang (measured, at the
    // window's rate). A second accept per call (or none) would be off by about 100%.
    const accepted = result.proxyCounters?.switchboard_auth_accepted_total ?? 0;
    const overhang = result.proxyCountersOverhangMs;
    assert.ok(overhang !== undefined && overhang.beforeWindow >= 0 && overhang.afterWindow >= 0, JSON.stringify(overhang));
    const inOverhang = Math.ceil((result.calls.perSecond * (overhang.beforeWindow + overhang.afterWindow)) / 1000);
    assert.ok(Math.abs(accepted - result.calls.completed) <= clients + inOverhang, `${accepted} authenticated INVITEs for ${result.calls.completed} calls (overhang ${JSON.stringify(overhang)})`);
    assert.ok(Math.abs(result.operations.invite - 2 * result.calls.completed) <= 2 * clients, `${result.operations.invite} INVITE transactions for ${result.calls.completed} calls`);
    assert.equal(result.proxyCounters?.switchboard_auth_rejected_total, 0);
    // One call setup per call: provisionals of the challenged INVITE and of its retry count once.
    assert.ok((result.latencyMs['invite-100']?.count ?? 0) <= (result.latencyMs['invite-200']?.count ?? 0) + clients, JSON.stringify(result.latencyMs['invite-100']));
    await assert.rejects(runBench({ proxy: guarded.address, transport: 'udp', clients: 2, durationSeconds: 0.5, authPassword: 'wrong' }), { code: 'ERR_SWITCHBOARD_BENCH_OPTION', message: /--auth-password: .*answered 403/ });
    await assert.rejects(runBench({ proxy: guarded.address, transport: 'udp', clients: 2, durationSeconds: 0.5 }), { code: 'ERR_SWITCHBOARD_BENCH_OPTION', message: /answered 401; it asks for credentials, give --auth-password/ });
  } finally {
    await stop(guarded);
    await rm(dir, { recursive: true, force: true });
  }
});

test('thread-pool, a new connection per call on both sides: calls keep flowing when callees close between calls', async () => {
  // A callee closes its connection after each call. A thread that looked the connection up
  // before the FIN reached its owner must not have the next INVITE written into the closed
  // connection: before the fix every caller stalled on a 5 s timeout.
  const pool = await startProxy(['--model', 'thread-pool', '--workers', '2']);
  try {
    const result = await runBench({ proxy: pool.address, transport: 'tcp', clients: 20, callerConnection: 'per-ops:2', calleeConnection: 'per-ops:2', durationSeconds: 2, warmupSeconds: 0.3 });
    // Stalled callers (the bug) time out after 5 s: every call started in the window is counted to
    // its end, so each stall is a failure here, whatever the machine's speed (no throughput floor).
    assert.ok(result.calls.completed >= 20, `calls completed: ${result.calls.completed} (${JSON.stringify(result.failures)})`);
    assert.equal(result.calls.completed + result.calls.failed, result.calls.attempted);
    // At 0.9, not 0.98: counted to their end, the calls now include the known race of a FIN that
    // reaches the owner after the next INVITE was written into its connection (docs/architecture.md,
    // "Connection lifetimes"): 13 of about 460 calls timed out in one CI run. A stall leaves far fewer.
    assert.ok(result.calls.successRatio >= 0.9, `success ${result.calls.successRatio}: ${JSON.stringify(result.failures)}`);
  } finally {
    await stop(pool);
  }
});
