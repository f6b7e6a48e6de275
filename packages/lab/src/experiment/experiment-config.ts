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
import { CodedError } from '@switchboard/sip';

export interface PublishedFigure {
  readonly label: string;
  readonly value: number;
  readonly unit?: string;
  /**
   * Our counterpart: the metric (operationsPerSecond, callsPerSecond, successRatio, ipcShare,
   * fdCacheHitRate, callSetupP99Ms, proxyCpuPercent, callsPerProxyCpuSecond) of the best point matching `numerator`,
   * divided by that of the best point matching `denominator` when one is given.
   */
  readonly ours?: {
    readonly metric: string;
    readonly numerator: Readonly<Record<string, string | number>>;
    readonly denominator?: Readonly<Record<string, string | number>>;
  };
  /**
   * How ours is held against the published value: `side-of-one` (a ratio on the same side of
   * 1, the default), `at-least` (a target ours must reach), `at-most`.
   */
  readonly compare?: 'side-of-one' | 'at-least' | 'at-most';
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


/** Coded errors of experiments (listed in docs/errors.md). */
export const EXPERIMENT_ERROR_CODES = {
  ERR_SWITCHBOARD_EXPERIMENT_CONFIG: 'an experiment config cannot be read or has a bad key or value; the message names the file and key',
  ERR_SWITCHBOARD_EXPERIMENT_PROXY_START: 'the proxy of an experiment point did not start (the point is recorded as failed and the run goes on)',
  ERR_SWITCHBOARD_EXPERIMENT_RUN: 'a run of an experiment point failed for another reason, named in the message (recorded; the run goes on)',
} as const;

export type ExperimentErrorCode = keyof typeof EXPERIMENT_ERROR_CODES;

export class ExperimentError extends CodedError<ExperimentErrorCode> {
  static override readonly codes = EXPERIMENT_ERROR_CODES;
}

const MATRIX_KEYS: Record<string, keyof ExperimentConfig['matrix']> = {
  model: 'model',
  workers: 'workers',
  state: 'state',
  'fd-cache': 'fdCache',
  'idle-strategy': 'idleStrategy',
  transport: 'transport',
  connection: 'connection',
  'callee-connection': 'calleeConnection',
  clients: 'clients',
  rate: 'rate',
};
const NUMERIC = new Set(['workers', 'fdCache', 'clients', 'rate']);
const TOP_KEYS = new Set(['id', 'title', 'study', 'published', 'published_figures', 'repeats', 'bench', 'serve', 'matrix', 'extra', 'pin', 'quick']);
const BENCH_KEYS = new Set(['duration', 'warmup', 'procs', 'timeout', 'hold', 'arrivals', 'pairs']);

/**
 * Reads `configs/experiments/<id>.yaml` (already parsed from YAML into `raw`). Every error names
 * the file and the key.
 */
export function parseExperimentConfig(raw: unknown, file: string): ExperimentConfig {
  const fail = (key: string, problem: string): never => {
    throw new ExperimentError('ERR_SWITCHBOARD_EXPERIMENT_CONFIG', `${file}: ${key}: ${problem}`);
  };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail('(top level)', 'expected a mapping of keys');
  const top = raw as Record<string, unknown>;
  for (const key of Object.keys(top)) if (!TOP_KEYS.has(key)) fail(key, `unknown key (known: ${[...TOP_KEYS].join(', ')})`);
  const text = (key: string, required = true): string => {
    const value = top[key];
    if (value === undefined && !required) return '';
    if (typeof value !== 'string' || value.trim() === '') return fail(key, 'expected a non-empty string');
    return value;
  };
  const id = text('id');
  if (!/^[a-z0-9][a-z0-9-]*$/.test(id)) fail('id', `use lower-case letters, digits and dashes, not ${id}`);
  const mapping = (key: string): Record<string, unknown> => {
    const value = top[key] ?? {};
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return fail(key, 'expected a mapping');
    return value as Record<string, unknown>;
  };
  const positiveNumber = (key: string, value: unknown, fallback: number, allowZero = false): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) return fail(key, `expected a ${allowZero ? 'non-negative' : 'positive'} number, not ${String(value)}`);
    return value;
  };

  const bench = mapping('bench');
  for (const key of Object.keys(bench)) if (!BENCH_KEYS.has(key)) fail(`bench.${key}`, `unknown key (known: ${[...BENCH_KEYS].join(', ')})`);
  const arrivals = bench.arrivals ?? 'exponential';
  if (!['exponential', 'deterministic', 'uniform', 'pareto'].includes(String(arrivals))) fail('bench.arrivals', `must be exponential, deterministic, uniform or pareto, not ${String(arrivals)}`);

  const matrixRaw = mapping('matrix');
  const matrix: Record<string, unknown[]> = {};
  for (const [key, value] of Object.entries(matrixRaw)) {
    const field = MATRIX_KEYS[key];
    if (field === undefined) fail(`matrix.${key}`, `unknown dimension (known: ${Object.keys(MATRIX_KEYS).join(', ')})`);
    const list = Array.isArray(value) ? value : [value];
    if (list.length === 0) fail(`matrix.${key}`, 'expected at least one value');
    for (const item of list) {
      if (NUMERIC.has(field as string) ? typeof item !== 'number' || !(item >= 0) : typeof item !== 'string' && typeof item !== 'number') fail(`matrix.${key}`, `bad value ${JSON.stringify(item)}`);
    }
    matrix[field as string] = NUMERIC.has(field as string) ? list : list.map(String);
  }
  const has = (field: string): boolean => matrix[field] !== undefined;
  if (has('clients') === has('rate')) fail('matrix', 'give exactly one of clients (closed loop) and rate (open loop)');
  const checkChoices = (field: string, key: string, allowed: readonly string[]): void => {
    for (const value of (matrix[field] ?? []) as string[]) if (!allowed.includes(value)) fail(`matrix.${key}`, `must be one of ${allowed.join(', ')}, not ${value}`);
  };
  checkChoices('model', 'model', ['event-loop', 'process-pool', 'thread-pool']);
  checkChoices('state', 'state', ['default', 'local', 'sab', 'redis']);
  checkChoices('idleStrategy', 'idle-strategy', ['scan', 'heap']);
  checkChoices('transport', 'transport', ['udp', 'tcp', 'tls']);
  for (const [field, key] of [['connection', 'connection'], ['calleeConnection', 'callee-connection']] as const) {
    for (const value of (matrix[field] ?? []) as string[]) {
      if (!(value === 'persistent' || value === 'per-transaction' || value === 'same' || /^per-ops:[1-9]\d*$/.test(value))) fail(`matrix.${key}`, `must be persistent, per-ops:N, per-transaction${field === 'calleeConnection' ? ' or same' : ''}, not ${value}`);
    }
  }
  const extraRaw = mapping('extra');
  const extra: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(extraRaw)) extra[key] = (Array.isArray(value) ? value : [value]).map(String);

  const serve = mapping('serve') as Record<string, string | number | boolean>;
  for (const key of ['listen', 'model', 'workers', 'state', 'fd-cache', 'idle-strategy', 'metrics', 'redis-url', 'domain']) {
    if (serve[key] !== undefined) fail(`serve.${key}`, 'is set by the experiment for each point; vary it in matrix instead');
  }
  const pinRaw = top.pin === undefined ? undefined : mapping('pin');
  const quickRaw = mapping('quick');
  const figuresRaw = top.published_figures ?? [];
  if (!Array.isArray(figuresRaw)) fail('published_figures', 'expected a list');
  const publishedFigures = (figuresRaw as unknown[]).map((figure, index) => {
    const entry = figure as Record<string, unknown>;
    if (typeof entry?.label !== 'string' || typeof entry.value !== 'number') return fail(`published_figures[${index}]`, 'expected { label: text, value: number }');
    if (entry.compare !== undefined && !['side-of-one', 'at-least', 'at-most'].includes(String(entry.compare))) fail(`published_figures[${index}].compare`, `must be side-of-one, at-least or at-most, not ${String(entry.compare)}`);
    // Filters in `ours` use the matrix's words (fd-cache, idle-strategy); points use camelCase.
    const camel = (filter: unknown): unknown =>
      filter === null || typeof filter !== 'object' ? filter : Object.fromEntries(Object.entries(filter as Record<string, unknown>).map(([key, value]) => [MATRIX_KEYS[key] ?? key, value]));
    const ours = entry.ours as Record<string, unknown> | undefined;
    return {
      ...(entry as object),
      label: entry.label,
      value: entry.value,
      ...(ours === undefined ? {} : { ours: { ...ours, numerator: camel(ours.numerator), ...(ours.denominator === undefined ? {} : { denominator: camel(ours.denominator) }) } }),
    } as PublishedFigure;
  });
  const list = <T>(field: string, fallback: T[]): T[] => (matrix[field] as T[] | undefined) ?? fallback;
  return {
    id,
    title: text('title'),
    study: text('study', false),
    published: text('published', false),
    publishedFigures,
    repeats: positiveNumber('repeats', top.repeats, 1),
    bench: {
      durationSeconds: positiveNumber('bench.duration', bench.duration, 10),
      warmupSeconds: positiveNumber('bench.warmup', bench.warmup, 2, true),
      procs: positiveNumber('bench.procs', bench.procs, 1),
      timeoutMs: positiveNumber('bench.timeout', bench.timeout, 5, false) * 1000,
      holdMs: positiveNumber('bench.hold', bench.hold, 0, true),
      arrivals: arrivals as ExperimentConfig['bench']['arrivals'],
      pairs: positiveNumber('bench.pairs', bench.pairs, 100),
    },
    serve,
    matrix: {
      model: list('model', ['event-loop']),
      workers: list('workers', [2]),
      state: list('state', ['default']),
      fdCache: list('fdCache', [0]),
      idleStrategy: list('idleStrategy', ['heap']),
      transport: list('transport', ['udp']),
      connection: list('connection', ['persistent']),
      calleeConnection: list('calleeConnection', ['same']),
      clients: list('clients', []),
      rate: list('rate', []),
      extra,
    },
    ...(pinRaw === undefined ? {} : { pin: { ...(pinRaw.proxy === undefined ? {} : { proxy: String(pinRaw.proxy) }), ...(pinRaw.generator === undefined ? {} : { generator: String(pinRaw.generator) }) } }),
    quick: {
      durationSeconds: positiveNumber('quick.duration', quickRaw.duration, 2),
      warmupSeconds: positiveNumber('quick.warmup', quickRaw.warmup, 0.5, true),
      ...(Array.isArray(quickRaw.clients) ? { clients: quickRaw.clients as number[] } : {}),
      ...(Array.isArray(quickRaw.rate) ? { rate: quickRaw.rate as number[] } : {}),
      repeats: positiveNumber('quick.repeats', quickRaw.repeats, 1),
    },
  };
}
