import http from 'node:http';
import { Registry, type Metric } from 'prom-client';
import { COUNTER_METRICS, OTHER_METRICS, type HistogramSnapshot, type RunningModel, type WorkerStats } from '@switchboard/cluster';

interface Sample {
  readonly labels: Record<string, string>;
  readonly value: number;
  readonly metricName?: string;
}

/** A metric whose samples are computed from the workers' stats at scrape time. */
function metric(name: string, help: string, type: 'counter' | 'gauge' | 'histogram', samples: (stats: WorkerStats[]) => Sample[], stats: () => Promise<WorkerStats[]>): Metric {
  return {
    name,
    help,
    type,
    aggregator: 'sum',
    async get() {
      return { name, help, type, aggregator: 'sum', values: samples(await stats()) };
    },
  } as unknown as Metric;
}

function histogramSamples(name: string, worker: string, snapshot: HistogramSnapshot, extra: Record<string, string> = {}): Sample[] {
  const samples: Sample[] = [];
  let cumulative = 0;
  snapshot.bounds.forEach((bound, index) => {
    cumulative += snapshot.counts[index] ?? 0;
    samples.push({ metricName: `${name}_bucket`, labels: { worker, ...extra, le: String(bound / 1000) }, value: cumulative });
  });
  samples.push({ metricName: `${name}_bucket`, labels: { worker, ...extra, le: '+Inf' }, value: snapshot.count });
  samples.push({ metricName: `${name}_sum`, labels: { worker, ...extra }, value: snapshot.sum / 1000 });
  samples.push({ metricName: `${name}_count`, labels: { worker, ...extra }, value: snapshot.count });
  return samples;
}

/** `--timing`: one service-time histogram per message type and worker. */
function serviceTimeSamples(name: string, all: WorkerStats[]): Sample[] {
  return all.flatMap((w) => (w.messageTiming === undefined ? [] : Object.entries(w.messageTiming.serviceTime).flatMap(([type, snapshot]) => histogramSamples(name, w.worker, snapshot, { type }))));
}

/**
 * The counters of every worker of a running model, in Prometheus text format (prom-client),
 * labelled by worker (`supervisor` and `parent` for the process that runs the pool). Stats are
 * gathered once per scrape.
 */
export function modelRegistry(running: RunningModel): Registry {
  const registry = new Registry();
  let gathering: Promise<WorkerStats[]> | undefined;
  const stats = (): Promise<WorkerStats[]> => {
    if (gathering === undefined) {
      gathering = running.stats();
      setTimeout(() => {
        gathering = undefined;
      }, 100).unref();
    }
    return gathering;
  };
  for (const { section, key, name, help } of COUNTER_METRICS) {
    registry.registerMetric(
      metric(name, help, 'counter', (all) =>
        all.flatMap((worker) => {
          const values = worker[section] as unknown as Record<string, number> | undefined;
          return values?.[key] === undefined ? [] : [{ labels: { worker: worker.worker }, value: values[key] }];
        }), stats),
    );
  }
  const other = OTHER_METRICS;
  const gauge = (spec: { name: string; type: 'counter' | 'gauge' | 'histogram'; help: string }, samples: (all: WorkerStats[]) => Sample[]): void => {
    registry.registerMetric(metric(spec.name, spec.help, spec.type, samples, stats));
  };
  gauge(other.transactions, (all) => all.filter((w) => w.core !== undefined).map((w) => ({ labels: { worker: w.worker }, value: w.transactions })));
  gauge(other.tcpConnections, (all) => all.map((w) => ({ labels: { worker: w.worker }, value: w.tcpConnections })));
  gauge(other.tlsConnections, (all) => all.map((w) => ({ labels: { worker: w.worker }, value: w.tlsConnections })));
  gauge(other.supervisorQueueDepth, (all) => all.filter((w) => w.supervisorQueueDepth !== undefined).map((w) => ({ labels: {}, value: w.supervisorQueueDepth ?? 0 })));
  // A gauge of the workers that report it, labelled by worker.
  const perWorker = (read: (worker: WorkerStats) => number | undefined) => (all: WorkerStats[]): Sample[] =>
    all.flatMap((worker) => {
      const value = read(worker);
      return value === undefined ? [] : [{ labels: { worker: worker.worker }, value }];
    });
  gauge(other.ioQueueDepth, perWorker((w) => w.ioQueueDepth));
  gauge(other.workerRestarts, (all) => all.filter((w) => w.workerRestarts !== undefined).map((w) => ({ labels: {}, value: w.workerRestarts ?? 0 })));
  gauge(other.overloadReduction, perWorker((w) => w.overloadReduction));
  gauge(other.overloadAdmittedRate, perWorker((w) => w.overloadAdmittedRate));
  gauge(other.overloadKernelRegisterPass, perWorker((w) => w.overloadKernelRegisterPass));
  gauge(other.ipcRoundTrip, (all) => all.filter((w) => w.ipcRoundTrip.count > 0 || w.core !== undefined).flatMap((w) => histogramSamples(other.ipcRoundTrip.name, w.worker, w.ipcRoundTrip)));
  gauge(other.messageServiceTime, (all) => serviceTimeSamples(other.messageServiceTime.name, all));
  gauge(other.storeLatency, (all) => all.filter((w) => w.core !== undefined).flatMap((w) => histogramSamples(other.storeLatency.name, w.worker, w.storeLatency)));
  return registry;
}

/** Serves GET /metrics; resolves once listening. */
export async function startMetricsServer(registry: Registry, host: string, port: number): Promise<http.Server> {
  const server = http.createServer((request, response) => {
    if (request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: Error) => response.writeHead(500).end(error.message),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
