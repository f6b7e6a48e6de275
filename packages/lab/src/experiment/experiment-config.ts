/**
 * The YAML of `configs/experiments/<id>.yaml`, as parsed and checked. Example:
 *
 * ```yaml
 * id: e1
 * title: Baseline UDP vs TCP by architecture
 * study: "002 Fig. 3"               # which published figure this reproduces
 * published: |                      # Markdown shown beside our figures in the report
 *   UDP is 2x TCP at 100 clients and more than 3x at 1000 ...
 * published_figures:                # optional numbers the report tabulates beside ours
 *   - { label: "UDP / TCP persistent, 100 clients", value: 2.0 }
 * repeats: 1
 * bench: { duration: 10, warmup: 2, procs: 1, timeout: 5, hold: 0 }
 * serve: { idle-timeout: 10 }       # extra `switchboard serve` flags for every point
 * matrix:                           # every combination is one point; invalid ones are skipped
 *   model: [process-pool]
 *   workers: [2]
 *   state: [redis]
 *   fd-cache: [0]
 *   idle-strategy: [scan]
 *   transport: [udp, tcp]
 *   connection: [persistent, per-ops:500, per-ops:50]
 *   callee-connection: [same]       # `same` = as `connection`
 *   clients: [100, 500, 1000]       # or rate: [...] with bench.arrivals
 * pin: { proxy: "0", generator: "1" }   # optional taskset CPU lists
 * quick: { duration: 2, warmup: 0.5, clients: [10], repeats: 1 }
 * ```
 */
export interface PublishedFigure {
  readonly label: string;
  readonly value: number;
  readonly unit?: string;
}

export interface ExperimentConfig {
  readonly id: string;
  readonly title: string;
  readonly study: string;
  readonly published: string;
  readonly publishedFigures: readonly PublishedFigure[];
  readonly repeats: number;
  readonly bench: {
    readonly durationSeconds: number;
    readonly warmupSeconds: number;
    readonly procs: number;
    readonly timeoutMs: number;
    readonly holdMs: number;
    readonly arrivals: 'exponential' | 'deterministic' | 'uniform' | 'pareto';
    /** Phone pairs for open-loop points. */
    readonly pairs: number;
  };
  readonly serve: Readonly<Record<string, string | number | boolean>>;
  readonly matrix: {
    readonly model: readonly string[];
    readonly workers: readonly number[];
    readonly state: readonly string[];
    readonly fdCache: readonly number[];
    readonly idleStrategy: readonly string[];
    readonly transport: readonly string[];
    readonly connection: readonly string[];
    readonly calleeConnection: readonly string[];
    readonly clients: readonly number[];
    readonly rate: readonly number[];
    readonly extra: Readonly<Record<string, readonly string[]>>;
  };
  readonly pin?: { readonly proxy?: string; readonly generator?: string };
  readonly quick: {
    readonly durationSeconds: number;
    readonly warmupSeconds: number;
    readonly clients?: readonly number[];
    readonly rate?: readonly number[];
    readonly repeats: number;
  };
}
