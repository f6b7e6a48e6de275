import http from 'node:http';
import { Registry, type Metric } from 'prom-client';
import { newProxyCounters, newTransportCounters } from '@switchboard/core';
import { newModelCounters, type HistogramSnapshot, type RunningModel, type WorkerStats } from '@switchboard/cluster';

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

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

function histogramSamples(name: string, worker: string, snapshot: HistogramSnapshot): Sample[] {
  const samples: Sample[] = [];
  let cumulative = 0;
  snapshot.bounds.forEach((bound, index) => {
    cumulative += snapshot.counts[index] ?? 0;
    samples.push({ metricName: `${name}_bucket`, labels: { worker, le: String(bound / 1000) }, value: cumulative });
  });
  samples.push({ metricName: `${name}_bucket`, labels: { worker, le: '+Inf' }, value: snapshot.count });
  samples.push({ metricName: `${name}_sum`, labels: { worker }, value: snapshot.sum / 1000 });
  samples.push({ metricName: `${name}_count`, labels: { worker }, value: snapshot.count });
  return samples;
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
  const sections: Array<[keyof WorkerStats & ('core' | 'transport' | 'model'), string]> = [
    ['core', 'proxy'],
    ['transport', 'transport'],
    ['model', 'concurrency model'],
  ];
  const names: Record<string, string[]> = {
    core: Object.keys(newProxyCounters()),
    transport: Object.keys(newTransportCounters()),
    model: Object.keys(newModelCounters()),
  };

  for (const [section, what] of sections) {
    for (const key of names[section] ?? []) {
      registry.registerMetric(
        metric(`switchboard_${snake(key)}_total`, `Switchboard ${what}: ${key}`, 'counter', (all) =>
          all.flatMap((worker) => {
            const values = worker[section] as unknown as Record<string, number> | undefined;
            return values?.[key] === undefined ? [] : [{ labels: { worker: worker.worker }, value: values[key] }];
          }), stats),
      );
    }
  }
  registry.registerMetric(metric('switchboard_transactions', 'Server and client transactions alive', 'gauge', (all) => all.filter((w) => w.core !== undefined).map((w) => ({ labels: { worker: w.worker }, value: w.transactions })), stats));
  registry.registerMetric(metric('switchboard_tcp_connections', 'TCP connections each worker owns (the supervisor: its table)', 'gauge', (all) => all.map((w) => ({ labels: { worker: w.worker }, value: w.tcpConnections })), stats));
  registry.registerMetric(metric('switchboard_tls_connections', 'TLS connections each worker owns, handshake done (the supervisor: its table)', 'gauge', (all) => all.map((w) => ({ labels: { worker: w.worker }, value: w.tlsConnections })), stats));
  registry.registerMetric(metric('switchboard_supervisor_queue_depth', 'IPC messages the supervisor has sent that are not yet flushed', 'gauge', (all) => all.filter((w) => w.supervisorQueueDepth !== undefined).map((w) => ({ labels: {}, value: w.supervisorQueueDepth ?? 0 })), stats));
  registry.registerMetric(metric('switchboard_worker_restarts_total', 'Workers replaced after they died', 'counter', (all) => all.filter((w) => w.workerRestarts !== undefined).map((w) => ({ labels: {}, value: w.workerRestarts ?? 0 })), stats));
  registry.registerMetric(metric('switchboard_ipc_round_trip_seconds', 'fd request round trips (request to handle)', 'histogram', (all) => all.filter((w) => w.ipcRoundTrip.count > 0 || w.core !== undefined).flatMap((w) => histogramSamples('switchboard_ipc_round_trip_seconds', w.worker, w.ipcRoundTrip)), stats));
  registry.registerMetric(metric('switchboard_state_store_seconds', 'Location store call latency', 'histogram', (all) => all.filter((w) => w.core !== undefined).flatMap((w) => histogramSamples('switchboard_state_store_seconds', w.worker, w.storeLatency)), stats));
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
