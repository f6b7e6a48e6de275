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
 * bench: { duration: 10, warmup: 2, procs: 1, timeout: 5, hold: 0 }   # keepalive: N = phones' CRLF pings (TCP, TLS)
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
 * repeats: 3                       # every point at least 3 times: medians and 95% intervals
 * budget: { proxy-cpus: "0", proxy-quota: 1, generator-cpus: "1" }   # the proxy's CPUs apart from the generator's
 * peak: { from: 200, to: 8000, factor: 1.5, refine: 2 }   # each point's throughput is its open-loop peak
 *                                 # (seed: false makes every repeat climb from `from`)
 * window: { max: 60 }               # lengthen a window up to 60 s so connection lifetimes churn (reconnections: 50)
 * tolerance: 1.5                    # "reproduced" = within a factor 1.5 of the published magnitude
 * quick: { duration: 2, warmup: 0.5, clients: [10], repeats: 1 }
 * ```
 */
import { RETRY_AFTER_BEHAVIOURS } from '@switchboard/bench';
import type { BudgetConfig } from './cpu-budget.js';
import { ExperimentError } from './experiment-error.js';
import { DEFAULT_PEAK, type PeakSearch } from './peak-ladder.js';
import { DEFAULT_RECONNECTIONS } from './run-validity.js';
import { parseWorkload, type WorkloadConfig } from './workload-config.js';
import { parseNodeFlags } from './proxy-node-flags.js';

export interface PublishedFigure {
  readonly label: string;
  /** The published value (or our target); absent for an observation with no published counterpart. */
  readonly value?: number;
  /** A published range ("4–7x" → [4, 7]); the tolerance band is built around it. */
  readonly range?: readonly [number, number];
  /**
   * `published` (a study's figure, the default), `target` (our own goal: the default with
   * `compare: at-least` or `at-most`), or `observation` (ours only, no verdict).
   */
  readonly kind?: 'published' | 'target' | 'observation';
  readonly unit?: string;
  /**
   * Our counterpart: the metric (see METRICS in report-data.ts) of the valid point matching
   * `numerator` (the best one when several match), divided by that of the point matching
   * `denominator` when one is given.
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
  /** What the generator does (workload-config.ts); absent: calls. */
  readonly workload?: WorkloadConfig;
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
    /** RFC 5626 CRLF keep-alives on TCP and TLS points: phones ping after this many idle seconds (absent: none). */
    readonly keepaliveSeconds?: number;
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
  /**
   * Extra flags implied by an extra value: `implies: { "transactions=shared": { fd-request-wait: true } }`
   * gives every point with `transactions: shared` that flag too (unless its own extras set it).
   */
  readonly implies: ReadonlyArray<{ readonly key: string; readonly value: string; readonly flags: Readonly<Record<string, string>> }>;
  /**
   * Partial points left out of the product (as GitHub Actions' matrix `exclude`): a point matching
   * every key of one entry (matrix words or extra keys) is not run.
   */
  readonly exclude: ReadonlyArray<Readonly<Record<string, string>>>;
  /**
   * Experiments whose recorded runs this one takes instead of measuring them again: a run of the
   * same point and repeat, made under the same settings (see `reusableSettings`), found in the
   * sibling result directory of that experiment (`results/e1` beside `results/e2`).
   */
  readonly reuse: readonly string[];
  /** @deprecated read as `budget` (proxy-cpus, generator-cpus); kept so old configs still parse. */
  readonly pin?: { readonly proxy?: string; readonly generator?: string };
  /** The proxy's (and its Redis') CPU budget apart from the generator's. */
  readonly budget?: BudgetConfig;
  /** When set, a point's throughput is its open-loop peak (clients are then the phone pairs). */
  readonly peak?: PeakSearch;
  /** Windows are lengthened up to `maxSeconds` so their operations imply `reconnections` reconnections per side with a lifetime. */
  readonly window: { readonly maxSeconds: number; readonly reconnections: number };
  /** The factor (log scale) within which a published magnitude counts as reproduced. */
  readonly tolerance: number;
  readonly quick: {
    readonly durationSeconds: number;
    readonly warmupSeconds: number;
    readonly clients?: readonly number[];
    readonly rate?: readonly number[];
    readonly repeats: number;
    /** A shorter ladder for the smoke run; without it a quick run of a peak experiment runs closed loop. */
    readonly peak?: PeakSearch;
    /** Fewer values of some extra keys for the smoke run (each a subset of the matrix's). */
    readonly extra?: Readonly<Record<string, readonly string[]>>;
  };
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
const TOP_KEYS = new Set(['id', 'title', 'study', 'published', 'published_figures', 'repeats', 'bench', 'serve', 'matrix', 'extra', 'pin', 'budget', 'peak', 'window', 'tolerance', 'quick', 'workload', 'implies', 'reuse', 'exclude']);
const BUDGET_KEYS = new Set(['proxy-cpus', 'proxy-quota', 'generator-cpus']);
const PEAK_KEYS = new Set(['from', 'to', 'factor', 'refine', 'success', 'achieved', 'arrivals', 'seed', 'p99-ms', 'floor']);
const QUICK_KEYS = new Set(['duration', 'warmup', 'clients', 'rate', 'repeats', 'peak', 'extra']);
const BENCH_KEYS = new Set(['duration', 'warmup', 'procs', 'timeout', 'hold', 'arrivals', 'pairs', 'keepalive']);

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
  checkChoices('model', 'model', ['event-loop', 'process-pool', 'thread-pool', 'io-dispatch']);
  checkChoices('state', 'state', ['default', 'local', 'sab', 'redis']);
  checkChoices('idleStrategy', 'idle-strategy', ['scan', 'heap']);
  checkChoices('transport', 'transport', ['udp', 'tcp', 'tls']);
  for (const [field, key] of [['connection', 'connection'], ['calleeConnection', 'callee-connection']] as const) {
    for (const value of (matrix[field] ?? []) as string[]) {
      if (value === 'persistent-open' && field === 'connection' && (top.workload as { kind?: unknown } | undefined)?.kind === 'registration') continue;
      if (!(value === 'persistent' || value === 'per-transaction' || value === 'same' || /^per-ops:[1-9]\d*$/.test(value))) fail(`matrix.${key}`, `must be persistent, per-ops:N, per-transaction${field === 'calleeConnection' ? ' or same' : ''}, not ${value}`);
    }
  }
  const extraRaw = mapping('extra');
  const extra: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(extraRaw)) extra[key] = (Array.isArray(value) ? value : [value]).map(String);
  for (const flags of extra['node-flags'] ?? []) {
    const parsed = parseNodeFlags(flags);
    if ('problem' in parsed) fail('extra.node-flags', parsed.problem);
  }
  for (const value of extra['retry-after'] ?? []) {
    if (!(RETRY_AFTER_BEHAVIOURS as readonly string[]).includes(value)) fail('extra.retry-after', `what phones do with a 503's Retry-After: ${RETRY_AFTER_BEHAVIOURS.join(' or ')}, not ${value}`);
    if ((top.workload as { kind?: unknown } | undefined)?.kind !== 'registration') fail('extra.retry-after', 'only the registration workload\'s phones take it');
  }

  const implies: Array<{ key: string; value: string; flags: Record<string, string> }> = [];
  for (const [condition, flags] of Object.entries(mapping('implies'))) {
    const match = /^([a-z][a-z0-9-]*)=(.+)$/.exec(condition);
    if (match === null) fail(`implies.${condition}`, 'expected an extra key and value, as "transactions=shared"');
    const [, key, value] = match as unknown as [string, string, string];
    if (!(extra[key] ?? []).includes(value)) fail(`implies.${condition}`, `extra.${key} has no value ${value}`);
    if (flags === null || typeof flags !== 'object' || Array.isArray(flags)) fail(`implies.${condition}`, 'expected a mapping of serve flags to values');
    implies.push({ key, value, flags: Object.fromEntries(Object.entries(flags as Record<string, unknown>).map(([flag, flagValue]) => [flag, String(flagValue)])) });
  }

  const excludeRaw = top.exclude ?? [];
  if (!Array.isArray(excludeRaw)) fail('exclude', 'expected a list of partial points, as [{ transactions: shared, workers: 4 }]');
  const exclude = (excludeRaw as unknown[]).map((entry, index) => {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return fail(`exclude[${index}]`, 'expected a mapping of matrix or extra keys to values');
    const known = (key: string): boolean => MATRIX_KEYS[key] !== undefined || extra[key] !== undefined || implies.some((rule) => rule.flags[key] !== undefined);
    for (const key of Object.keys(entry)) if (!known(key)) fail(`exclude[${index}].${key}`, 'not a matrix or extra key');
    return Object.fromEntries(Object.entries(entry as Record<string, unknown>).map(([key, value]) => [MATRIX_KEYS[key] ?? key, String(value)]));
  });
  const reuseRaw = top.reuse ?? [];
  if (!Array.isArray(reuseRaw) || reuseRaw.some((entry) => typeof entry !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(entry))) fail('reuse', 'expected a list of experiment ids, as [e1]');
  const reuse = (reuseRaw as string[]).filter((entry) => entry !== id);

  const serve = mapping('serve') as Record<string, string | number | boolean>;
  for (const key of ['listen', 'model', 'workers', 'state', 'fd-cache', 'idle-strategy', 'metrics', 'redis-url', 'domain']) {
    if (serve[key] !== undefined) fail(`serve.${key}`, 'is set by the experiment for each point; vary it in matrix instead');
  }
  const pinRaw = top.pin === undefined ? undefined : mapping('pin');
  const quickRaw = mapping('quick');
  for (const key of Object.keys(quickRaw)) if (!QUICK_KEYS.has(key)) fail(`quick.${key}`, `unknown key (known: ${[...QUICK_KEYS].join(', ')})`);
  const cpuListText = (key: string, value: unknown): string | undefined => {
    if (value === undefined) return undefined;
    const text = String(value);
    if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(text)) fail(key, `expected a CPU list such as "0", "0-1" or "0,2", not ${text}`);
    return text;
  };
  let budget: BudgetConfig | undefined;
  if (top.budget !== undefined) {
    const raw = mapping('budget');
    for (const key of Object.keys(raw)) if (!BUDGET_KEYS.has(key)) fail(`budget.${key}`, `unknown key (known: ${[...BUDGET_KEYS].join(', ')})`);
    const proxyCpus = cpuListText('budget.proxy-cpus', raw['proxy-cpus']);
    const generatorCpus = cpuListText('budget.generator-cpus', raw['generator-cpus']);
    const proxyQuota = raw['proxy-quota'] === undefined ? undefined : positiveNumber('budget.proxy-quota', raw['proxy-quota'], 1);
    budget = { ...(proxyCpus === undefined ? {} : { proxyCpus }), ...(proxyQuota === undefined ? {} : { proxyQuota }), ...(generatorCpus === undefined ? {} : { generatorCpus }) };
  } else if (pinRaw !== undefined) {
    const proxyCpus = cpuListText('pin.proxy', pinRaw.proxy);
    const generatorCpus = cpuListText('pin.generator', pinRaw.generator);
    budget = { ...(proxyCpus === undefined ? {} : { proxyCpus }), ...(generatorCpus === undefined ? {} : { generatorCpus }) };
  }
  const peakOf = (key: string, value: unknown): PeakSearch | undefined => {
    if (value === undefined) return undefined;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return fail(key, 'expected a mapping { from, to, factor, refine, success, achieved, arrivals }');
    const raw = value as Record<string, unknown>;
    for (const sub of Object.keys(raw)) if (!PEAK_KEYS.has(sub)) fail(`${key}.${sub}`, `unknown key (known: ${[...PEAK_KEYS].join(', ')})`);
    if (raw.from === undefined || raw.to === undefined) fail(key, 'give from and to (calls/s)');
    const from = positiveNumber(`${key}.from`, raw.from, 1);
    const to = positiveNumber(`${key}.to`, raw.to, 1);
    if (to < from) fail(`${key}.to`, `must be at least from (${from}), not ${to}`);
    const factor = positiveNumber(`${key}.factor`, raw.factor, DEFAULT_PEAK.factor);
    if (factor <= 1) fail(`${key}.factor`, `must be above 1, not ${factor}`);
    const fraction = (sub: string, fallback: number): number => {
      const number = positiveNumber(`${key}.${sub}`, raw[sub], fallback);
      if (number > 1) fail(`${key}.${sub}`, `a fraction at most 1, not ${number}`);
      return number;
    };
    const arrivals = raw.arrivals ?? DEFAULT_PEAK.arrivals;
    if (!['exponential', 'deterministic', 'uniform', 'pareto'].includes(String(arrivals))) fail(`${key}.arrivals`, `must be exponential, deterministic, uniform or pareto, not ${String(arrivals)}`);
    const refine = positiveNumber(`${key}.refine`, raw.refine, DEFAULT_PEAK.refine, true);
    if (!Number.isInteger(refine)) fail(`${key}.refine`, `expected a whole number of bisections, not ${refine}`);
    const seed = raw.seed ?? DEFAULT_PEAK.seed;
    if (typeof seed !== 'boolean') fail(`${key}.seed`, `expected true or false, not ${String(seed)}`);
    const p99Ms = raw['p99-ms'] === undefined ? undefined : positiveNumber(`${key}.p99-ms`, raw['p99-ms'], 1);
    const floor = raw.floor === undefined ? undefined : positiveNumber(`${key}.floor`, raw.floor, 1);
    if (floor !== undefined && floor > from) fail(`${key}.floor`, `must be at most from (${from}), not ${floor}`);
    return { from, to, factor, refine, success: fraction('success', DEFAULT_PEAK.success), achieved: fraction('achieved', DEFAULT_PEAK.achieved), arrivals: arrivals as PeakSearch['arrivals'], seed: seed as boolean, ...(p99Ms === undefined ? {} : { p99Ms }), ...(floor === undefined ? {} : { floor }) };
  };
  const peak = peakOf('peak', top.peak);
  const quickPeak = peakOf('quick.peak', quickRaw.peak);
  let quickExtra: Record<string, string[]> | undefined;
  if (quickRaw.extra !== undefined) {
    if (quickRaw.extra === null || typeof quickRaw.extra !== 'object' || Array.isArray(quickRaw.extra)) fail('quick.extra', 'expected a mapping of extra keys to values');
    quickExtra = {};
    for (const [key, value] of Object.entries(quickRaw.extra as Record<string, unknown>)) {
      const values = (Array.isArray(value) ? value : [value]).map(String);
      for (const one of values) if (!(extra[key] ?? []).includes(one)) fail(`quick.extra.${key}`, `extra.${key} has no value ${one}`);
      quickExtra[key] = values;
    }
  }
  if ((peak !== undefined || quickPeak !== undefined) && matrixRaw.rate !== undefined) fail('peak', 'a peak search sets the rates itself; give matrix.clients (the phone pairs), not matrix.rate');
  const windowRaw = mapping('window');
  for (const key of Object.keys(windowRaw)) if (!['max', 'reconnections'].includes(key)) fail(`window.${key}`, 'unknown key (known: max, reconnections)');
  const tolerance = positiveNumber('tolerance', top.tolerance, 1.5);
  if (tolerance <= 1) fail('tolerance', `a factor above 1, not ${tolerance}`);
  const figuresRaw = top.published_figures ?? [];
  if (!Array.isArray(figuresRaw)) fail('published_figures', 'expected a list');
  const publishedFigures = (figuresRaw as unknown[]).map((figure, index) => {
    const entry = figure as Record<string, unknown>;
    if (typeof entry?.label !== 'string') return fail(`published_figures[${index}]`, 'expected { label: text, value: number }');
    if (entry.kind !== undefined && !['published', 'target', 'observation'].includes(String(entry.kind))) fail(`published_figures[${index}].kind`, `must be published, target or observation, not ${String(entry.kind)}`);
    if (typeof entry.value !== 'number' && entry.kind !== 'observation') fail(`published_figures[${index}].value`, 'expected a number (or kind: observation)');
    if (entry.range !== undefined && !(Array.isArray(entry.range) && entry.range.length === 2 && entry.range.every((bound) => typeof bound === 'number' && bound > 0))) fail(`published_figures[${index}].range`, 'expected [low, high], two positive numbers');
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
  const workload = parseWorkload(top.workload, fail);
  const capacityOf = workload?.kind === 'registration' ? workload.overload?.capacityOf : undefined;
  for (const [key, value] of Object.entries(capacityOf ?? {})) if (!(extra[key] ?? []).includes(value)) fail('workload.overload.capacity-of', `${key}: ${value} is not a value of the extra key ${key} (extra: ${JSON.stringify(extra)})`);
  return {
    id,
    ...(workload === undefined ? {} : { workload }),
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
      ...(bench.keepalive === undefined ? {} : { keepaliveSeconds: positiveNumber('bench.keepalive', bench.keepalive, 0) }),
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
    implies,
    exclude,
    reuse,
    ...(pinRaw === undefined ? {} : { pin: { ...(pinRaw.proxy === undefined ? {} : { proxy: String(pinRaw.proxy) }), ...(pinRaw.generator === undefined ? {} : { generator: String(pinRaw.generator) }) } }),
    ...(budget === undefined ? {} : { budget }),
    ...(peak === undefined ? {} : { peak }),
    window: { maxSeconds: positiveNumber('window.max', windowRaw.max, 60), reconnections: positiveNumber('window.reconnections', windowRaw.reconnections, DEFAULT_RECONNECTIONS) },
    tolerance,
    quick: {
      ...(quickPeak === undefined ? {} : { peak: quickPeak }),
      durationSeconds: positiveNumber('quick.duration', quickRaw.duration, 2),
      warmupSeconds: positiveNumber('quick.warmup', quickRaw.warmup, 0.5, true),
      ...(Array.isArray(quickRaw.clients) ? { clients: quickRaw.clients as number[] } : {}),
      ...(Array.isArray(quickRaw.rate) ? { rate: quickRaw.rate as number[] } : {}),
      repeats: positiveNumber('quick.repeats', quickRaw.repeats, 1),
      ...(quickExtra === undefined ? {} : { extra: quickExtra }),
    },
  };
}
