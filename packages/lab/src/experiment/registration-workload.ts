/**
 * The registration workloads of an experiment point (E5 scale, E6 registration test; see
 * workload-config.ts): the generator's mode from the point, the connections the proxy can hold
 * on this machine (a point asking for more is recorded invalid, not run), and the run itself.
 */
import { runRegistration, type BenchResult, type BenchTlsOptions, type RegistrationMode, type RetryAfterBehaviour } from '@switchboard/bench';
import type { ExperimentConfig } from './experiment-config.js';
import type { ExperimentPoint } from './experiment-record.js';
import type { WorkloadConfig } from './workload-config.js';

/** Files a proxy process keeps for itself (listeners, IPC, libraries) besides its connections. */
const PROXY_RESERVED_FILES = 300;

/** What the point's phones do with a 503's Retry-After (extra `retry-after`, validated with the config; default ignore). */
export function retryAfterOf(point: ExperimentPoint): RetryAfterBehaviour {
  return point.extra?.['retry-after'] === 'honour' ? 'honour' : 'ignore';
}

export function registrationMode(point: ExperimentPoint): RegistrationMode {
  if (point.transport === 'udp') return 'udp';
  if (point.connection === 'per-transaction') return 'per-transaction';
  if (point.connection === 'persistent-open') return 'persistent-open';
  return 'persistent';
}

/**
 * Connections the point's proxy can hold with `fileLimit` open files per process: one process
 * holds them all in the event-loop and the thread-pool, and in the process-pool the supervisor
 * keeps a handle of each unless `supervisor-handles: release`, when the workers share them.
 */
export function proxyConnectionCapacity(point: ExperimentPoint, fileLimit: number): number {
  const perProcess = Math.max(0, fileLimit - PROXY_RESERVED_FILES);
  if (point.model === 'process-pool' && point.extra?.['supervisor-handles'] === 'release') return perProcess * point.workers;
  return perProcess;
}

/** Why a scale point cannot run on this machine; undefined when it can. */
export function capacityReason(workload: WorkloadConfig | undefined, point: ExperimentPoint): string | undefined {
  if (workload?.kind !== 'scale' || point.clients === undefined) return undefined;
  const capacity = proxyConnectionCapacity(point, workload.fileLimit);
  if (point.clients <= capacity) return undefined;
  const who = point.model === 'process-pool' ? (point.extra?.['supervisor-handles'] === 'release' ? `${point.workers} workers` : 'the supervisor (it keeps a handle of every connection)') : 'its one process';
  return `machine: ${point.clients} connections exceed what ${who} can hold with ${workload.fileLimit} open files per process (about ${capacity}); not run`;
}

export interface RegistrationTarget {
  readonly proxy: string;
  readonly domain: string;
  readonly tls?: Partial<BenchTlsOptions>;
  readonly proxyPid?: number;
  readonly proxyMetricsUrl?: string;
  readonly generatorCpus?: string;
  readonly observe?: ReadonlyArray<{ pid: number; role: string }>;
}

/** One registration run of `point`: `clients` held (scale) or REGISTERs at `rate` over `clients` (registration). */
export async function runRegistrationPoint(config: ExperimentConfig, point: ExperimentPoint, load: { clients: number } | { rate: number; pairs: number }, durationSeconds: number, warmupSeconds: number, target: RegistrationTarget): Promise<BenchResult> {
  const workload = config.workload as WorkloadConfig;
  const clients = 'clients' in load ? load.clients : load.pairs;
  return runRegistration({
    proxy: target.proxy,
    domain: target.domain,
    transport: point.transport,
    ...(point.transport === 'tls' ? { tls: { ...target.tls, resume: target.tls?.resume ?? false, clientCertificate: target.tls?.clientCertificate ?? false } } : {}),
    workload: workload.kind,
    clients,
    mode: registrationMode(point),
    ...('rate' in load ? { rate: load.rate } : {}),
    durationSeconds,
    warmupSeconds,
    ...(workload.kind === 'scale' ? { probeRates: workload.probeRates, openRate: workload.openRate, closeRate: workload.closeRate } : {}),
    expiresSeconds: workload.expiresSeconds,
    fileLimit: workload.fileLimit,
    ...(workload.kind === 'registration' ? { retryAfter: retryAfterOf(point) } : {}),
    timeoutMs: config.bench.timeoutMs,
    procs: config.bench.procs,
    ...(target.proxyPid === undefined ? {} : { proxyPid: target.proxyPid }),
    ...(target.proxyMetricsUrl === undefined ? {} : { proxyMetricsUrl: target.proxyMetricsUrl }),
    ...(target.generatorCpus === undefined ? {} : { generatorCpus: target.generatorCpus }),
    ...(target.observe === undefined ? {} : { observe: target.observe }),
  });
}
