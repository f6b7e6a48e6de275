import { writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import cliProgress from 'cli-progress';
import type { BenchOptions, BenchProgress, BenchResult, ConnectionLifetime, RegistrationMode, RetryAfterBehaviour, RegistrationRunOptions } from '@switchboard/bench';
import { BENCH_OPTIONS } from './bench-schema.js';
import { loadBench } from './lazy-packages.js';
import { SwitchboardError } from './errors.js';
import { addSchemaOptions, commandValues, readSchemaValues, type SchemaValues } from './option-schema.js';

type BenchValues = SchemaValues<typeof BENCH_OPTIONS>;

function pem(path: string | undefined, flag: string): string | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new SwitchboardError('ERR_SWITCHBOARD_INVALID_FLAG', `${flag}: cannot read ${path}: ${(error as Error).message}`);
  }
}

/** The flags as BenchOptions; the bench library checks ranges and combinations. */
export function benchOptions(v: BenchValues): BenchOptions {
  return {
    proxy: `${v.proxy.host.includes(':') ? `[${v.proxy.host}]` : v.proxy.host}:${v.proxy.port}`,
    domain: v.domain,
    transport: v.transport,
    clients: v.clients,
    rate: v.rate,
    arrivals: v.arrivals,
    pairs: v.pairs,
    callerConnection: v.conn as ConnectionLifetime,
    calleeConnection: v['callee-conn'] as ConnectionLifetime | undefined,
    durationSeconds: v.duration,
    calls: v.calls,
    warmupSeconds: v.warmup,
    holdMs: v.hold,
    timeoutMs: v.timeout,
    procs: v.procs,
    localHosts: v['local-hosts'],
    tls: {
      ca: pem(v['tls-ca'], '--tls-ca'),
      cert: pem(v['tls-cert'], '--tls-cert'),
      key: pem(v['tls-key'], '--tls-key'),
      resume: v['tls-resume'],
      clientCertificate: v['tls-client-cert'],
    },
    authPassword: v['auth-password'],
    keepaliveSeconds: v.keepalive,
    seed: v.seed,
    proxyPid: v['proxy-pid'],
    proxyMetricsUrl: v['proxy-metrics'],
    generatorCpus: v['generator-cpus'],
    generatorCpuLimitPercent: v['cpu-limit'],
  };
}

/** The flags of a registration workload (`--workload scale|registration`) as its run options. */
export function registrationOptions(v: BenchValues): RegistrationRunOptions {
  const common = benchOptions(v);
  const probeRates = v['probe-rates'].split(',').map((rate) => Number(rate.trim()));
  if (!probeRates.every((rate) => rate > 0)) throw new SwitchboardError('ERR_SWITCHBOARD_INVALID_FLAG', `--probe-rates: expected positive REGISTER rates separated by commas, not ${v['probe-rates']}`, 2);
  if (v.keepalive !== undefined) throw new SwitchboardError('ERR_SWITCHBOARD_INVALID_FLAG', '--keepalive: only --workload calls sends keep-alives so far', 2);
  if (!['persistent', 'persistent-open', 'per-transaction'].includes(v.conn)) throw new SwitchboardError('ERR_SWITCHBOARD_INVALID_FLAG', `--conn: a registration workload takes persistent, persistent-open or per-transaction, not ${v.conn}`, 2);
  return {
    proxy: common.proxy,
    domain: v.domain,
    transport: v.transport,
    ...(v.transport === 'tls' ? { tls: { ...common.tls, resume: v['tls-resume'], clientCertificate: v['tls-client-cert'] } } : {}),
    workload: v.workload as 'scale' | 'registration',
    clients: v.clients ?? v.pairs ?? 1000,
    mode: v.conn as RegistrationMode,
    ...(v.rate === undefined ? {} : { rate: v.rate }),
    durationSeconds: v.duration,
    warmupSeconds: v.warmup,
    probeRates,
    openRate: v['open-rate'],
    expiresSeconds: v.expires,
    fileLimit: v['file-limit'],
    retryAfter: v['retry-after'] as RetryAfterBehaviour,
    timeoutMs: v.timeout,
    procs: v.procs,
    ...(v['proxy-pid'] === undefined ? {} : { proxyPid: v['proxy-pid'] }),
    ...(v['proxy-metrics'] === undefined ? {} : { proxyMetricsUrl: v['proxy-metrics'] }),
    ...(v['generator-cpus'] === undefined ? {} : { generatorCpus: v['generator-cpus'] }),
    generatorCpuLimitPercent: v['cpu-limit'],
  };
}

/** The lines a person reads after a registration run. */
export function registrationSummary(result: BenchResult): string {
  const figures = result.registration;
  if (figures === undefined) return '';
  const lines = [`${figures.workload}: ${figures.spreadNote}`];
  if (figures.workload === 'scale') {
    const per = figures.perConnection;
    lines.push(`  held ${figures.held} of ${figures.clients} (${figures.heldAtEnd} after the probes); opened ${figures.open?.perSecond}/s, closed ${figures.close?.perSecond}/s`);
    if (per !== undefined) lines.push(`  per connection: proxy RSS ${per.proxyRssBytes} B, PSS ${per.proxyPssBytes} B; kernel ${per.kernelBytesPerSocket ?? '?'} B per socket (slab ${per.slabBytesPerSocket ?? '?'}, TCP buffers ${per.tcpBufferBytesPerSocket ?? '?'})`);
    for (const probe of figures.probes ?? []) lines.push(`  probe ${probe.rate} REGISTER/s over ${probe.held} held: p50 ${probe.latency.p50} ms, p99 ${probe.latency.p99} ms, ${probe.completed}/${probe.attempted} answered 2xx`);
  } else {
    const latency = result.latencyMs.register;
    lines.push(`  ${figures.mode}, ${figures.rate} REGISTER/s offered: ${result.calls.perSecond}/s succeeded (${(result.calls.successRatio * 100).toFixed(2)}%)${latency === undefined ? '' : `, p50 ${latency.p50} ms, p99 ${latency.p99} ms`}`);
  }
  const failures = Object.entries(result.failures);
  if (failures.length > 0) lines.push(`  failures: ${failures.map(([kind, count]) => `${kind} ${count}`).join(', ')}`);
  if (result.proxy !== undefined) lines.push(`  proxy CPU ${result.proxy.cpuPercentTotal}% of one core in the last window`);
  return `${lines.join('\n')}\n`;
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
  const phones = result.phoneConnections;
  if (phones !== undefined) {
    const keepalive = phones.keepalive === undefined ? 'no keep-alives' : `keep-alive every ${settings.keepaliveSeconds} s idle: ${phones.keepalive.pingsSent} pings, ${phones.keepalive.pongsReceived} pongs, ${phones.keepalive.pongsMissing} missing`;
    lines.push(`  phones in the window: ${phones.opened} connections opened, ${phones.registrations} REGISTERs; ${keepalive}`);
  }
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
  const command = new Command('bench').description('simulate phones that register and call each other through a proxy, and measure it (every flag: docs/configuration.md)');
  return addSchemaOptions(command, BENCH_OPTIONS).action(async (_flags: unknown, self: Command) => {
    const { flags: raw, given } = commandValues(self, BENCH_OPTIONS);
    const flags = readSchemaValues(BENCH_OPTIONS, raw, given, {}, undefined).values;
    const { runBench, runRegistration } = await loadBench();
    const bar = progressBar(!flags.quiet && process.stderr.isTTY === true);
    let result: BenchResult;
    try {
      result = flags.workload === 'calls' ? await runBench({ ...benchOptions(flags), onProgress: bar.update }) : await runRegistration(registrationOptions(flags));
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
    if (!flags.quiet) process.stderr.write(result.registration === undefined ? benchSummary(result) : registrationSummary(result));
  });
}
