import type { Listener } from '@switchboard/core';
import type { Model } from './proxy-settings.js';
import type { WorkerStats } from './worker-stats.js';

/** A proxy running under one concurrency model, as the CLI drives it. */
export interface RunningModel {
  readonly model: Model;
  /** The addresses the proxy answers on (ports resolved). */
  readonly listeners: readonly Listener[];
  /** Counters of every worker (and of the supervisor, in the process-pool). */
  stats(): Promise<WorkerStats[]>;
  /** First step of a graceful stop: no new TCP connections. */
  stopAccepting(): void;
  close(): Promise<void>;
}
