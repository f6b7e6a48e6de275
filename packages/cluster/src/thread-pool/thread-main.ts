/** The entry of a thread-pool thread (started by ThreadPool with its ThreadConfig as workerData): a ThreadWorker on its parent port. */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { ThreadConfig, ThreadMessage } from './thread-messages.js';
import { ThreadWorker } from './thread-worker.js';

const parent = parentPort as MessagePort;
const worker = new ThreadWorker(workerData as ThreadConfig, { port: { send: (message, transfer) => parent.postMessage(message, transfer ?? []) } });
parent.on('message', (message: ThreadMessage) => worker.fromParent(message));
// A failed start has been told to the pool, which ends this thread.
worker.startIfReady().catch(() => undefined);
