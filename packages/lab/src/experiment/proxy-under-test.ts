/**
 * The proxy of one experiment point: `switchboard serve` started as its own process on a free
 * loopback port for UDP and TCP, with its metrics on another, ready when it logs `ready`, stopped
 * with SIGTERM (SIGKILL after a grace period). The runner puts it under the point's CPU budget
 * (cpu-budget.ts) once it runs. Its `node` takes the point's `node-flags` (proxy-node-flags.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { descendants } from '@switchboard/bench';
import { freePort } from '@switchboard/testkit/free-port';
import { ExperimentError } from './experiment-error.js';
import type { ExperimentPoint } from './experiment-record.js';
import { parseNodeFlags } from './proxy-node-flags.js';
import { proxyRunTotals, type ProxyRunTotals } from './proxy-run-totals.js';

export const EXPERIMENT_DOMAIN = 'bench.test';

export interface ProxyUnderTest {
  readonly pid: number;
  /** HOST:PORT for the generator. */
  readonly address: string;
  readonly metricsUrl: string;
  readonly args: readonly string[];
  /**
   * Stops it (SIGTERM, then SIGKILL for the whole tree after `graceMs`, 1.5 s by default); what
   * overload control did over its run, when it logged its counters in time.
   */
  stop(graceMs?: number): Promise<ProxyRunTotals | undefined>;
}

/**
 * The `serve` arguments of a point (without the launcher). With TLS, TLS takes `port` beside UDP
 * (the generator's listening callees register over UDP at the address its phones use) and TCP
 * takes `tcpPort`.
 */
export function serveArguments(point: ExperimentPoint, port: number, metricsPort: number, redisUrl: string | undefined, extra: Readonly<Record<string, string | number | boolean>>, tcpPort = port): string[] {
  const args = [
    'serve',
    '--listen', `udp:127.0.0.1:${port}`,
    '--listen', `tcp:127.0.0.1:${tcpPort}`,
    ...(point.transport === 'tls' ? ['--listen', `tls:127.0.0.1:${port}`] : []),
    '--domain', EXPERIMENT_DOMAIN,
    '--model', point.model,
    '--state', point.state,
    '--idle-strategy', point.idleStrategy,
    '--metrics', `127.0.0.1:${metricsPort}`,
    '--log-level', 'info',
    // io-dispatch runs only with shared transactions (any worker takes any message).
    ...(point.model === 'io-dispatch' && extra.transactions === undefined ? ['--transactions', 'shared'] : []),
  ];
  if (point.model !== 'event-loop') args.push('--workers', String(point.workers));
  if (point.fdCache > 0) args.push('--fd-cache', String(point.fdCache));
  if (redisUrl !== undefined) args.push('--redis-url', redisUrl);
  // A flag without a value (`--fd-request-wait`) is given as true (or "true", as extras are text).
  for (const [key, value] of Object.entries(extra)) {
    if (value === false || value === 'false') continue;
    args.push(`--${key}`);
    if (value !== true && value !== 'true') args.push(String(value));
  }
  return args;
}

/** Proxies still running, killed if this process exits (an interrupted experiment leaves none behind). */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function startProxyUnderTest(options: {
  readonly switchboardBin: string;
  readonly point: ExperimentPoint;
  readonly redisUrl?: string;
  readonly serve: Readonly<Record<string, string | number | boolean>>;
}): Promise<ProxyUnderTest> {
  const port = await freePort();
  const metricsPort = await freePort();
  const tcpPort = options.point.transport === 'tls' ? await freePort() : port;
  const args = serveArguments(options.point, port, metricsPort, options.redisUrl, options.serve, tcpPort);
  const nodeFlags = parseNodeFlags(options.point.extra?.['node-flags']);
  if ('problem' in nodeFlags) throw new ExperimentError('ERR_SWITCHBOARD_EXPERIMENT_CONFIG', `node-flags: ${nodeFlags.problem}`);
  const child: ChildProcess = spawn(process.execPath, [...nodeFlags.flags, options.switchboardBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no "ready" within 20 s')), 20_000);
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        if (output.includes('"msg":"ready"')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`exited (${signal ?? code})`));
      });
    });
  } catch (error) {
    child.kill('SIGKILL');
    throw new ExperimentError('ERR_SWITCHBOARD_EXPERIMENT_PROXY_START', `switchboard ${args.join(' ')}: ${(error as Error).message}: ${output.trim().slice(-600)}`);
  }
  // Keep reading so a chatty proxy never blocks on a full pipe.
  child.stdout?.resume();
  child.stderr?.resume();
  return {
    pid: child.pid ?? 0,
    address: `127.0.0.1:${port}`,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    args,
    async stop(graceMs = 1500) {
      if (child.exitCode !== null || child.signalCode !== null) return proxyRunTotals(output);
      // The measurement is over: a short graceful stop, then the whole tree goes, so finished
      // transactions lingering for their timers do not add seconds to every point.
      const workers = child.pid === undefined ? [] : await descendants(child.pid);
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        for (const pid of [child.pid ?? 0, ...workers]) {
          try {
            if (pid > 0) process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }, graceMs);
      await exited;
      clearTimeout(timer);
      for (const pid of workers) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // exited with its supervisor
        }
      }
      return proxyRunTotals(output);
    },
  };
}
