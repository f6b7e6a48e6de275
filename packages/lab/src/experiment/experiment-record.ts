/**
 * What an experiment keeps on disk, in `results/<id>/`:
 * - `experiment.yaml`: the config it ran (copied at the start, so a report needs nothing else);
 * - `results.jsonl`: one `ExperimentRecord` per line, appended as each point and repeat ends,
 *   which is what makes a run resumable;
 * - `report.html`, `report.md` and `charts/*.svg` once `switchboard report` has run.
 */
import type { BenchResult } from '@switchboard/bench';
import type { MachineFacts } from '@switchboard/sip/machine-facts';
import type { AppliedBudget } from './cpu-budget.js';
import type { CodeVersion } from './code-version.js';
import type { LadderStep, PeakSearch } from './peak-ladder.js';
import type { WindowCheck } from './run-validity.js';
import type { OverloadStep } from './overload-steps.js';

/**
 * Version 2 adds the CPU budget, the peak ladder, the window checks and the reasons a run is
 * invalid. Version 1 records (made before these rules) are still read by `switchboard report`,
 * which says that the result set predates them.
 */
export const EXPERIMENT_RECORD_SCHEMA = 'switchboard-experiment/2';
export const LEGACY_RECORD_SCHEMA = 'switchboard-experiment/1';

/**
 * One point of an experiment's matrix: the proxy's configuration and the load. `fdCache` is the
 * cache size, 0 for none. `connection` is the caller's connection lifetime and `calleeConnection`
 * the callee's (the same unless the experiment says otherwise); both are `persistent` for UDP.
 * Exactly one of `clients` (closed loop) and `rate` (open loop, calls/s) is set.
 */
export interface ExperimentPoint {
  readonly model: 'event-loop' | 'process-pool' | 'thread-pool' | 'io-dispatch';
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
  readonly schema: typeof EXPERIMENT_RECORD_SCHEMA | typeof LEGACY_RECORD_SCHEMA;
  readonly experiment: string;
  /** A stable text form of the point, for resuming and grouping. */
  readonly pointKey: string;
  readonly point: ExperimentPoint;
  /** 0-based repeat index. */
  readonly repeat: number;
  readonly quick: boolean;
  readonly machine: MachineFacts;
  /** The code the run measured (absent in records made before it was recorded). */
  readonly code?: CodeVersion;
  /** Milliseconds of the fixed CPU workload on the proxy's CPUs, timed before this run (speed-probe.ts). */
  readonly speedProbeMs?: number;
  /** CPU lists given to taskset, when pinned (version 1 records). */
  readonly pinning?: { readonly proxy?: string; readonly generator?: string };
  /** The CPU budget really applied to the proxy, its Redis and the generator. */
  readonly budget?: AppliedBudget;
  /** A peak point: the ladder of offered rates and the peak found (`result` is the run there). */
  readonly peak?: { readonly search: PeakSearch; readonly rate?: number; readonly steps: readonly LadderStep[] };
  /** A registration point's overload steps past its peak (E6): goodput at multiples of the capacity. */
  readonly overload?: readonly OverloadStep[];
  /**
   * A point that ran no ladder of its own (`workload.overload.capacity-of`): the capacity its
   * overload steps multiplied, the peak of point `of` in the same repeat. `result` is then the
   * run at the first factor.
   */
  readonly capacity?: { readonly rate: number; readonly of: string };
  /** The measured window (seconds), whether the runner lengthened it, and the lifetime checks of `result`. */
  readonly window?: { readonly durationSeconds: number; readonly lengthened: boolean; readonly checks: readonly WindowCheck[] };
  /** Why this run does not measure the proxy (generator or Redis out of budget, other load on its CPUs, window, no peak); absent or empty when valid. */
  readonly invalid?: readonly string[];
  /** The `switchboard serve` arguments used. */
  readonly serveArgs: readonly string[];
  /** The bench result, or why the point could not be measured. */
  readonly result?: BenchResult;
  readonly error?: { readonly code: string; readonly message: string };
  /** The experiment whose run of the same point, settings and repeat this record is (`reuse:`), not measured again. */
  readonly reusedFrom?: string;
}
