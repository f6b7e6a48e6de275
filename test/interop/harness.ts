/**
 * Test harness for interop tests: starts `switchboard serve` and real SIPp processes on free
 * loopback ports, and stops them. Every process is bounded in time and killed on cleanup.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startRedisServer } from '@switchboard/testkit/redis-server';

const BIN = fileURLToPath(new URL('../../../packages/cli/bin/switchboard.js', import.meta.url));
export const SCENARIOS = fileURLToPath(new URL('../../../test/interop/scenarios/', import.meta.url));

/**
 * A port free for both UDP and TCP on 127.0.0.1 (SIPp and the proxy bind both), below the
 * ephemeral range, and never one returned before in this process: a test that asks for three
 * ports and got one twice would wire two of its peers to one address. (Inferred cause of one CI
 * run's failure: every INVITE got 100 then 482 Loop Detected, i.e. the proxy read its own INVITE
 * back, which a callee-side stunnel forwarding to the caller-side stunnel's port would do.)
 */
export { freePort } from '@switchboard/testkit/free-port';

export interface RunningProxy {
  readonly udpPort: number;
  readonly tcpPort: number;
  /** NaN unless `--listen tls:...` was among the extra arguments. */
  readonly tlsPort: number;
  readonly process: ChildProcess;
  readonly lines: string[];
  stop(): Promise<number | null>;
}

/**
 * Starts `switchboard serve` on UDP and TCP (free ports), plus whatever listeners `extraArgs` add
 * (`--listen tls:127.0.0.1:0`), and resolves at its `ready` line. A proxy not ready within
 * `readyTimeoutMs` is killed, so that no test leaves one behind. The default is generous: a pool
 * or io-dispatch takes 2-5 s to be ready on the loaded 2-core machine, and an io-dispatch proxy
 * with TLS once took more than 10 s with two test files running. `host` is the listeners' address
 * (another loopback address, 127.0.0.2, stands for another host).
 */
export async function startProxy(extraArgs: string[], readyTimeoutMs = 30_000, host = '127.0.0.1'): Promise<RunningProxy> {
  const child = spawn(process.execPath, [BIN, 'serve', '--listen', `udp:${host}:0`, '--listen', `tcp:${host}:0`, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const ready = await new Promise<{ listeners: string[] }>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Not ready: killed here, since no caller holds it to stop it (it would outlive the test).
      child.kill('SIGKILL');
      reject(new Error(`proxy not ready in ${readyTimeoutMs / 1000} s: ${stderr}`));
    }, readyTimeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`proxy exited with ${code}: ${stderr}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      const entry = JSON.parse(line) as { msg?: string; listeners?: string[] };
      if (entry.msg === 'ready') {
        clearTimeout(timer);
        resolve({ listeners: entry.listeners ?? [] });
      }
    });
  });
  const portOf = (protocol: string): number => Number(ready.listeners.find((listener) => listener.startsWith(`${protocol}:`))?.split(':').pop());
  return {
    udpPort: portOf('udp'),
    tcpPort: portOf('tcp'),
    tlsPort: portOf('tls'),
    process: child,
    lines,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** One concurrency model as the suites run it, with what it needs started beside it. */
export interface ModelVariant {
  readonly name: string;
  /** Extra `serve` flags; `redisUrl` is set for the variants that need Redis. */
  args(redisUrl: string | undefined): string[];
  readonly needsRedis: boolean;
}

/** The suites run once per model (issue: every model passes the interop and hostile suites). */
export const MODEL_VARIANTS: readonly ModelVariant[] = [
  { name: 'event-loop', needsRedis: false, args: () => ['--model', 'event-loop'] },
  { name: 'process-pool', needsRedis: true, args: (url) => ['--model', 'process-pool', '--workers', '2', '--redis-url', url ?? ''] },
  { name: 'thread-pool', needsRedis: false, args: () => ['--model', 'thread-pool', '--workers', '2'] },
];

/**
 * The fourth model (issue 16 item 6): one I/O process reads every socket and dispatches each
 * message to the least-loaded worker, so transactions must be shared (in Redis). Kept out of
 * MODEL_VARIANTS (the model suites such as overload and capacity do not run it); the interop and
 * hostile-input suites run it through SHARED_VARIANTS, and test/models/io-dispatch.test.ts alone.
 */
export const IO_DISPATCH_VARIANT: ModelVariant = {
  name: 'io-dispatch',
  needsRedis: true,
  args: (url) => ['--model', 'io-dispatch', '--workers', '2', '--transactions', 'shared', '--redis-url', url ?? ''],
};

/**
 * The pools with `--transactions shared` (issue 16: every interop and hostile-input suite passes
 * with shared transactions): the thread-pool's in a SharedArrayBuffer table, the process-pool's in
 * Redis. Run by every interop and hostile-input suite through SHARED_VARIANTS.
 */
export const SHARED_TRANSACTION_VARIANTS: readonly ModelVariant[] = [
  { name: 'process-pool --transactions shared', needsRedis: true, args: (url) => ['--model', 'process-pool', '--workers', '2', '--transactions', 'shared', '--redis-url', url ?? ''] },
  { name: 'thread-pool --transactions shared', needsRedis: false, args: () => ['--model', 'thread-pool', '--workers', '2', '--transactions', 'shared'] },
];

/**
 * What every interop and hostile-input suite runs beside MODEL_VARIANTS (issue 16: they all pass
 * with `--transactions shared` in the pools and in io-dispatch): the pools with shared
 * transactions, then io-dispatch.
 */
export const SHARED_VARIANTS: readonly ModelVariant[] = [...SHARED_TRANSACTION_VARIANTS, IO_DISPATCH_VARIANT];

/** Every variant an interop suite runs: the three models, then the shared variants. */
export const EVERY_VARIANT: readonly ModelVariant[] = [...MODEL_VARIANTS, ...SHARED_VARIANTS];

/** Starts what a variant needs (a real redis-server for process-pool); resolves its flags. */
export async function prepareModel(variant: ModelVariant): Promise<{ args: string[]; stop(): Promise<void> }> {
  if (!variant.needsRedis) return { args: variant.args(undefined), stop: async () => {} };
  const redis = await startRedisServer();
  return { args: variant.args(redis.url), stop: () => redis.stop() };
}

export interface SippResult {
  readonly code: number | null;
  readonly output: string;
}

/**
 * Runs SIPp to completion (or kills it after `timeoutSeconds`). SIPp exits 0 when every call
 * succeeded, 1 when some failed.
 */
export function runSipp(args: string[], timeoutSeconds = 60): { done: Promise<SippResult>; process: ChildProcess } {
  const child = spawn('sipp', [...args, '-nostdin', '-timeout', `${timeoutSeconds}s`, '-timeout_error', '-max_socket', '1000'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: SCENARIOS,
  });
  // stdout and stderr kept apart: SIPp's final statistics screen is on stdout, and a burst of
  // error lines on stderr at the end (failed calls) must not push it out of the tail kept.
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout = (stdout + chunk.toString()).slice(-20_000);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-20_000);
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), (timeoutSeconds + 10) * 1000);
  // 'close', not 'exit': 'exit' can come before the last of stdout is read (SIPp writes its
  // final statistics screen as it exits), and a run parsed before it had "0 successful calls"
  // although SIPp exited 0. 'close' comes once the process has exited and its pipes are drained.
  const done = new Promise<SippResult>((resolve) => {
    child.once('close', (code) => {
      clearTimeout(killer);
      resolve({ code, output: `${stdout}${stderr === '' ? '' : `\n${stderr}`}` });
    });
  });
  return { done, process: child };
}

/** A counter of the proxy's Prometheus text (`--metrics`), summed over its workers. */
export async function proxyCounter(metricsPort: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/**
 * A counter (as proxyCounter) once it satisfies `ok`, or its value after `waitMs`: `--metrics`
 * gathers the workers' stats at most once per 100 ms (packages/cli/src/metrics-server.ts), so a
 * scrape soon after another reads counters from before the messages sent in between.
 */
export async function settledCounter(metricsPort: number, name: string, ok: (value: number) => boolean, waitMs = 3000): Promise<number> {
  const deadline = Date.now() + waitMs;
  let value = await proxyCounter(metricsPort, name);
  while (!ok(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await proxyCounter(metricsPort, name);
  }
  return value;
}

/** The last statistics SIPp printed: successful and failed call counts. */
export function sippCalls(output: string): { successful: number; failed: number } {
  const successful = [...output.matchAll(/Successful call\s+\|\s+\d+\s+\|\s+(\d+)/g)].pop()?.[1];
  const failed = [...output.matchAll(/Failed call\s+\|\s+\d+\s+\|\s+(\d+)/g)].pop()?.[1];
  return { successful: Number(successful ?? 0), failed: Number(failed ?? 0) };
}
