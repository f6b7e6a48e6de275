/**
 * A generator process of a registration run: holds one share of the clients (RegisteringClients)
 * and does what the run that forked it orders: open them all, run an open-loop load, count the
 * held connections, close them, stop. Plain JSON over the IPC channel; latencies travel as
 * arrays of numbers (a window has at most some tens of thousands).
 */
import type { LoadCounts, LoadPlan } from './register-load.js';
import { registerOpenLoop } from './register-load.js';
import { RegisteringClients, type RegisteringClientsOptions } from './registering-clients.js';

export type ToRegistrationProcess =
  | { readonly type: 'init'; readonly clients: RegisteringClientsOptions }
  | { readonly type: 'open'; readonly rate: number; readonly concurrency: number; readonly refreshMs?: number }
  | { readonly type: 'load'; readonly plan: LoadPlan }
  | { readonly type: 'count' }
  | { readonly type: 'close'; readonly rate: number }
  | { readonly type: 'stop' };

export type FromRegistrationProcess =
  | { readonly type: 'ready' }
  | { readonly type: 'opened'; readonly registered: number; readonly held: number; readonly failures: Record<string, number>; readonly seconds: number }
  | { readonly type: 'loaded'; readonly counts: LoadCounts; readonly cpuPercent: number; readonly rssBytes: number }
  | { readonly type: 'counted'; readonly held: number; readonly open: number; readonly reconnected: number }
  | { readonly type: 'closed'; readonly closed: number; readonly seconds: number }
  | { readonly type: 'error'; readonly message: string };

function send(message: FromRegistrationProcess): void {
  process.send?.(message);
}

let clients: RegisteringClients | undefined;
let offset = 0;

async function handle(message: ToRegistrationProcess): Promise<void> {
  switch (message.type) {
    case 'init':
      clients = new RegisteringClients(message.clients);
      if (message.clients.transport === 'udp') await clients.bindUdp();
      send({ type: 'ready' });
      return;
    case 'open': {
      if (clients === undefined) throw new Error('open before init');
      const opened = await clients.openAll(message.rate, message.concurrency);
      if (message.refreshMs !== undefined) clients.startRefresh(message.refreshMs);
      send({ type: 'opened', ...opened, held: clients.held });
      return;
    }
    case 'load': {
      if (clients === undefined) throw new Error('load before init');
      const cpu = process.cpuUsage();
      const at = performance.now();
      const { nextOffset, ...counts } = await registerOpenLoop(clients, { ...message.plan, startOffset: offset });
      offset = nextOffset;
      const used = process.cpuUsage(cpu);
      const elapsedMs = performance.now() - at;
      send({ type: 'loaded', counts, cpuPercent: elapsedMs > 0 ? Math.round(((used.user + used.system) / 1000 / elapsedMs) * 1000) / 10 : 0, rssBytes: process.memoryUsage.rss() });
      return;
    }
    case 'count':
      send({ type: 'counted', held: clients?.held ?? 0, open: clients?.openConnections ?? 0, reconnected: clients?.reconnected ?? 0 });
      return;
    case 'close': {
      const closed = (await clients?.closeAll(message.rate)) ?? { closed: 0, seconds: 0 };
      send({ type: 'closed', ...closed });
      return;
    }
    case 'stop':
      clients?.close();
      process.disconnect?.();
      setTimeout(() => process.exit(0), 100).unref();
      return;
  }
}

process.on('message', (message: ToRegistrationProcess) => {
  handle(message).catch((error: Error) => send({ type: 'error', message: error.message }));
});
process.on('disconnect', () => {
  clients?.close();
  setTimeout(() => process.exit(0), 100).unref();
});
