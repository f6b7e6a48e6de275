import { writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { ARRIVALS, runBench, type BenchOptions, type BenchProgress, type BenchResult, type ConnectionLifetime } from '@switchboard/bench';
import { SwitchboardError } from './errors.js';

interface RawBenchFlags {
  proxy: string;
  domain: string;
  transport: 'udp' | 'tcp' | 'tls';
  clients?: string;
  rate?: string;
  arrivals: string;
  pairs?: string;
  conn: string;
  calleeConn?: string;
  duration: string;
  calls?: string;
  warmup: string;
  hold: string;
  timeout: string;
  procs: string;
  localHosts?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsResume?: boolean;
  tlsClientCert?: boolean;
  authPassword?: string;
  seed: string;
  proxyPid?: string;
  proxyMetrics?: string;
  generatorCpus?: string;
  cpuLimit: string;
  out?: string;
  quiet?: boolean;
}

function number(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed)) throw new SwitchboardError('ERR_SWITCHBOARD_INVALID_FLAG', `${flag}: expected a number, not ${value}`);
  return parsed;
}

function pem(path: string | undefined, flag: string): string | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new SwitchboardError('ERR_SWITCHBOARD_INVALID_FLAG', `${flag}: cannot read ${path}: ${(error as Error).message}`);
  }
}

/** The flags as BenchOptions; the bench library checks ranges and combinations. */
export function benchOptions(flags: RawBenchFlags): BenchOptions {
  return {
    proxy: flags.proxy,
    domain: flags.domain,
    transport: flags.transport,
    clients: number(flags.clients, '--clients'),
    rate: number(flags.rate, '--rate'),
    arrivals: flags.arrivals as BenchOptions['arrivals'],
    pairs: number(flags.pairs, '--pairs'),
    callerConnection: flags.conn as ConnectionLifetime,
    calleeConnection: flags.calleeConn as ConnectionLifetime | undefined,
    durationSeconds: number(flags.duration, '--duration') ?? 10,
    calls: number(flags.calls, '--calls'),
    warmupSeconds: number(flags.warmup, '--warmup'),
    holdMs: number(flags.hold, '--hold'),
    timeoutMs: number(flags.timeout, '--timeout'),
    procs: number(flags.procs, '--procs'),
    localHosts: number(flags.localHosts, '--local-hosts'),
    tls: {
      ca: pem(flags.tlsCa, '--tls-ca'),
      cert: pem(flags.tlsCert, '--tls-cert'),
      key: pem(flags.tlsKey, '--tls-key'),
      resume: flags.tlsResume === true,
      clientCertificate: flags.tlsClientCert === true,
    },
    authPassword: flags.authPassword,
    seed: number(flags.seed, '--seed'),
    proxyPid: number(flags.proxyPid, '--proxy-pid'),
    proxyMetricsUrl: flags.proxyMetrics,
    generatorCpus: flags.generatorCpus,
    generatorCpuLimitPercent: number(flags.cpuLimit, '--cpu-limit'),
  };
}

/** The few lines a person reads after a run; the JSON holds everything. */
export function benchSummary(result: BenchResult): string {
  const { settings, calls, operations } = result;
  const load = settings.clients === undefined ? `${settings.rate} calls/s (${settings.arrivals})` : `${settings.clients} clients`;
  const setup = result.latencyMs['invite-200'];
  const lines = [
    `${settings.transport.toUpperCase()} ${settings.transport === 'udp' ? '' : `caller ${settings.callerConnection}, callee ${settings.calleeConnection}, `}${load}, ${result.windowSeconds} s window`,
    `  ${operations.perSecond} operations/s, ${calls.perSecond} calls/s, success ${(calls.successRatio * 100).toFixed(2)}% (${calls.completed} completed, ${calls.failed} failed)`,
  ];
  if (setup !== undefined) lines.push(`  call setup (INVITE to 200): p50 ${setup.p50} ms, p99 ${setup.p99} ms, max ${setup.max} ms`);
  const failures = Object.entries(result.failures);
  if (failures.length > 0) lines.push(`  failures: ${failures.map(([kind, count]) => `${kind} ${count}`).join(', ')}`);
  if (result.proxy !== undefined) lines.push(`  proxy CPU ${result.proxy.cpuPercentTotal}% of one core over ${result.proxy.processes.length} process(es)`);
  const generatorCpu = result.generator.processes.map((usage) => `${usage.cpuPercent}%`).join(', ');
  lines.push(`  generator CPU ${generatorCpu}`);
  if (result.generator.saturated) {
    lines.push(`  WARNING: a generator process was above ${result.generator.thresholdPercent}% CPU: these figures measure the generator, not the proxy; add --procs or pin the generator to other cores.`);
  }
  return `${lines.join('\n')}\n`;
}

function progressBar(enabled: boolean): { update: (progress: BenchProgress) => void; stop: () => void } {
  if (!enabled) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    { format: '{phase} [{bar}] {value}/{total} s | {completed} calls, {failed} failed, {running} running', stream: process.stderr, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(progress) {
      const payload = { phase: progress.phase.padEnd(8), completed: progress.callsCompleted, failed: progress.callsFailed, running: progress.running };
      const total = Math.max(1, Math.round(progress.totalSeconds));
      if (!started) {
        bar.start(total, 0, payload);
        started = true;
      }
      bar.setTotal(total);
      bar.update(Math.min(total, Math.round(progress.elapsedSeconds)), payload);
    },
    stop: () => bar.stop(),
  };
}

export function benchCommand(): Command {
  return new Command('bench')
    .description('simulate phones that register and call each other through a proxy, and measure it')
    .requiredOption('--proxy <host:port>', 'the proxy under test')
    .option('--domain <name>', 'the domain the proxy serves', 'example.com')
    .addOption(new Option('--transport <transport>', 'how phones reach the proxy').choices(['udp', 'tcp', 'tls']).default('udp'))
    .option('--clients <n>', 'closed loop: caller phones (each with its own callee); each calls again when its call ends')
    .option('--rate <calls/s>', 'open loop: calls started per second')
    .addOption(new Option('--arrivals <law>', 'open loop: inter-arrival times').choices([...ARRIVALS]).default('exponential'))
    .option('--pairs <n>', 'open loop: caller/callee pairs the calls are spread over (default: the rate, at least 10)')
    .option('--conn <lifetime>', 'caller connections: persistent, per-ops:N (new connection every N INVITE/BYE transactions) or per-transaction', 'persistent')
    .option('--callee-conn <lifetime>', 'callee connections (default: as --conn); non-persistent callees listen and the proxy connects to them')
    .option('--duration <seconds>', 'length of the measured window', '10')
    .option('--calls <n>', 'end the window after this many calls')
    .option('--warmup <seconds>', 'load before the window, not measured', '2')
    .option('--hold <ms>', 'how long a call stays up between ACK and BYE', '0')
    .option('--timeout <ms>', 'a transaction without a final response after this long fails as a timeout', '5000')
    .option('--procs <n>', 'generator processes', '1')
    .option('--local-hosts <n>', 'spread phones over 127.0.0.1-127.0.0.N (default 50 when the proxy is on loopback)')
    .option('--tls-ca <file>', 'TLS: CA to verify the proxy with (no verification without it)')
    .option('--tls-cert <file>', 'TLS: certificate for client authentication and for callees that accept connections')
    .option('--tls-key <file>', 'TLS: key of --tls-cert')
    .option('--tls-resume', 'TLS: resume the previous session on each new connection')
    .option('--tls-client-cert', 'TLS: present --tls-cert to the proxy')
    .option('--auth-password <password>', 'digest authentication: every phone (callerN, calleeN) answers 401/407 with this password')
    .option('--seed <n>', 'seed of the open-loop arrival times', '1')
    .option('--proxy-pid <pid>', 'record CPU and memory of this process and its descendants')
    .option('--proxy-metrics <url>', 'record the proxy\'s counters over the window, e.g. http://127.0.0.1:9090/metrics')
    .option('--generator-cpus <list>', 'run the generator processes under taskset -c LIST')
    .option('--cpu-limit <percent>', 'a generator process busier than this marks the result generator-bound', '90')
    .option('--out <file>', 'write the JSON result here instead of stdout')
    .option('--quiet', 'no progress bar and no summary')
    .action(async (flags: RawBenchFlags) => {
      const bar = progressBar(flags.quiet !== true && process.stderr.isTTY === true);
      let result: BenchResult;
      try {
        result = await runBench({ ...benchOptions(flags), onProgress: bar.update });
      } catch (error) {
        const { code, message } = error as Error & { code?: string };
        if (code === 'ERR_SWITCHBOARD_BENCH_OPTION' || code === 'ERR_SWITCHBOARD_BENCH_PROXY_UNREACHABLE' || code === 'ERR_SWITCHBOARD_BENCH_PROCESS') throw new SwitchboardError(code, message, code === 'ERR_SWITCHBOARD_BENCH_OPTION' ? 2 : 1);
        throw error;
      } finally {
        bar.stop();
      }
      const json = `${JSON.stringify(result, null, 2)}\n`;
      if (flags.out === undefined) process.stdout.write(json);
      else await writeFile(flags.out, json);
      if (flags.quiet !== true) process.stderr.write(benchSummary(result));
    });
}
