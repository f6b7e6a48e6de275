/**
 * What an experiment keeps on disk, in `results/<id>/`:
 * - `experiment.yaml`: the config it ran (copied at the start, so a report needs nothing else);
 * - `results.jsonl`: one `ExperimentRecord` per line, appended as each point and repeat ends,
 *   which is what makes a run resumable;
 * - `report.html`, `report.md` and `charts/*.svg` once `switchboard report` has run.
 */
import type { BenchResult } from '@switchboard/bench';
import type { MachineFacts } from '@switchboard/sip/machine-facts';

export const EXPERIMENT_RECORD_SCHEMA = 'switchboard-experiment/1';

/**
 * One point of an experiment's matrix: the proxy's configuration and the load. `fdCache` is the
 * cache size, 0 for none. `connection` is the caller's connection lifetime and `calleeConnection`
 * the callee's (the same unless the experiment says otherwise); both are `persistent` for UDP.
 * Exactly one of `clients` (closed loop) and `rate` (open loop, calls/s) is set.
 */
export interface ExperimentPoint {
  readonly model: 'event-loop' | 'process-pool' | 'thread-pool';
  readonly workers: number;
  readonly state: 'local' | 'sab' | 'redis';
  readonly fdCache: number;
  readonly idleStrategy: 'scan' | 'heap';
  readonly transport: 'udp' | 'tcp' | 'tls';
  readonly connection: string;
  readonly calleeConnection: string;
  readonly clients?: number;
  readonly rate?: number;
  /** Optional extra dimensions an experiment varies (for example `auth` or `tlsResume`), as strings. */
  readonly extra?: Readonly<Record<string, string>>;
}

export interface ExperimentRecord {
  readonly schema: typeof EXPERIMENT_RECORD_SCHEMA;
  readonly experiment: string;
  /** A stable text form of the point, for resuming and grouping. */
  readonly pointKey: string;
  readonly point: ExperimentPoint;
  /** 0-based repeat index. */
  readonly repeat: number;
  readonly quick: boolean;
  readonly machine: MachineFacts;
  /** CPU lists given to taskset, when pinned. */
  readonly pinning?: { readonly proxy?: string; readonly generator?: string };
  /** The `switchboard serve` arguments used. */
  readonly serveArgs: readonly string[];
  /** The bench result, or why the point could not be measured. */
  readonly result?: BenchResult;
  readonly error?: { readonly code: string; readonly message: string };
}
