/**
 * The entry of an io-dispatch worker process (forked by IoDispatchModel through node:cluster with
 * SWITCHBOARD_IO_WORKER set): an IoWorker on its byte stream to the I/O process (the process-pool's
 * supervisor link; no handle ever crosses it here).
 */
import { performance } from 'node:perf_hooks';
import { openSupervisorLink } from '../process-pool/supervisor-link.js';
import { decodeToIoWorker, encodeIoMessage, type ToIoProcess } from './io-messages.js';
import { IoWorker, type IoWorkerConfig } from './io-worker.js';

const config = JSON.parse(process.env.SWITCHBOARD_IO_WORKER ?? '{}') as IoWorkerConfig;
const link = openSupervisorLink({
  message(raw, handle) {
    const started = performance.now();
    // No handle is ever sent to an io-dispatch worker: one that comes is closed.
    handle?.destroy();
    let message;
    try {
      message = decodeToIoWorker(raw);
    } catch {
      // A message this worker cannot read is dropped and counted (ipc_errors), never fatal.
      worker.counters.ipcErrors++;
      return;
    }
    worker.receive(message, started);
  },
  failed() {
    worker.counters.ipcErrors++;
  },
});
const worker = new IoWorker(config, {
  port: {
    send(message) {
      link.send(encodeIoMessage(message as ToIoProcess));
    },
  },
});

process.on('disconnect', () => process.exit(0));
// A signal sent to the whole process group (Ctrl-C, systemd's stop) reaches the workers with the
// I/O process: they leave stopping to it, so transactions drain, and exit when it says `stop`.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => undefined);
worker.start().catch(() => setTimeout(() => process.exit(1), 100));
