/**
 * The entry of a process-pool worker process (forked by ProcessPoolSupervisor through node:cluster
 * with SWITCHBOARD_WORKER set): a ProcessWorker on its link to the supervisor (handles over Node's
 * IPC channel, every other message as a frame on its own byte stream).
 */
import { performance } from 'node:perf_hooks';
import { decodeToWorker, encodeControl, type ToSupervisor } from './control-messages.js';
import { ProcessWorker } from './process-worker.js';
import { openSupervisorLink } from './supervisor-link.js';
import type { WorkerConfig } from './supervisor.js';

const config = JSON.parse(process.env.SWITCHBOARD_WORKER ?? '{}') as WorkerConfig;
const link = openSupervisorLink({
  message(raw, handle) {
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
  },
  failed() {
    worker.counters.ipcErrors++;
  },
});
const worker = new ProcessWorker(config, {
  port: {
    send(message, handle) {
      link.send(encodeControl(message as ToSupervisor), handle);
    },
  },
});

process.on('disconnect', () => process.exit(0));
// A signal sent to the whole process group (Ctrl-C, systemd's stop) reaches the workers with the
// supervisor: they leave stopping to it, so transactions drain, and exit when it says `stop` (or
// when it is gone: 'disconnect' above).
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => undefined);
worker.start().catch(() => setTimeout(() => process.exit(1), 100));
