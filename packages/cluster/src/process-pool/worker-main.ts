/**
 * The entry of a process-pool worker process (forked by ProcessPoolSupervisor through node:cluster
 * with SWITCHBOARD_WORKER set): a ProcessWorker on Node's IPC channel.
 */
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import { decodeToWorker, encodeControl, type ToSupervisor } from './control-messages.js';
import { ProcessWorker } from './process-worker.js';
import type { WorkerConfig } from './supervisor.js';

const config = JSON.parse(process.env.SWITCHBOARD_WORKER ?? '{}') as WorkerConfig;
const worker = new ProcessWorker(config, {
  port: {
    send(message, handle) {
      if (!process.connected) return;
      // A send that fails (the channel closing under it) is counted; without a callback it would
      // be an 'error' event nobody listens to, and kill the worker.
      process.send?.(encodeControl(message as ToSupervisor), handle, { keepOpen: true }, (error: Error | null) => {
        if (error !== null) worker.counters.ipcErrors++;
      });
    },
  },
});

process.on('message', (raw: unknown, handle?: net.Socket) => {
  const started = performance.now();
  let message;
  try {
    message = decodeToWorker(raw);
  } catch {
    // A message this worker cannot read is dropped and counted (ipc_errors), never fatal.
    worker.counters.ipcErrors++;
    handle?.destroy();
    return;
  }
  worker.receive(message, handle, started);
});
process.on('disconnect', () => process.exit(0));
// A signal sent to the whole process group (Ctrl-C, systemd's stop) reaches the workers with the
// supervisor: they leave stopping to it, so transactions drain, and exit when it says `stop` (or
// when it is gone: 'disconnect' above).
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => undefined);
worker.start().catch(() => setTimeout(() => process.exit(1), 100));
