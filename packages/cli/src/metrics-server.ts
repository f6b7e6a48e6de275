import http from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import type { ProxyServer } from '@switchboard/core';

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/** The proxy's counters in Prometheus text format (prom-client), read when scraped. */
export function proxyRegistry(server: ProxyServer): Registry {
  const registry = new Registry();
  const counterSets: Array<Record<string, number>> = [
    server.core.counters as unknown as Record<string, number>,
    server.transportCounters as unknown as Record<string, number>,
  ];
  for (const counters of counterSets) {
    for (const key of Object.keys(counters)) {
      new Counter({
        name: `switchboard_${snake(key)}_total`,
        help: `Switchboard ${key}`,
        registers: [registry],
        collect() {
          this.reset();
          this.inc(counters[key] ?? 0);
        },
      });
    }
  }
  new Gauge({
    name: 'switchboard_transactions',
    help: 'Server and client transactions alive',
    registers: [registry],
    collect() {
      this.set(server.core.transactionCount);
    },
  });
  new Gauge({
    name: 'switchboard_tcp_connections',
    help: 'TCP connections open',
    registers: [registry],
    collect() {
      this.set(server.tcpConnections);
    },
  });
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
