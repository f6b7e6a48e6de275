/**
 * E9's config (`configs/experiments/e9.yaml`, `runner: model`): one proxy (event-loop, UDP) under
 * a fixed CPU budget, open-loop load at each rate and arrival process, a packet capture and a
 * message trace per point. Read by `switchboard model run`; `switchboard experiment run` is for
 * the matrix experiments.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { BudgetConfig } from '../experiment/cpu-budget.js';
import { QueueingError } from './queueing-error.js';

export type ArrivalProcess = 'exponential' | 'deterministic';

export interface QueueingConfig {
  readonly id: string;
  readonly title: string;
  readonly study: string;
  readonly published: string;
  readonly budget?: BudgetConfig;
  /**
   * A nice value for the proxy (-20 to 19; absent: unchanged). On a machine other work shares, a
   * negative value keeps the scheduler from adding its own vacations to the queue being measured.
   */
  readonly proxyNice?: number;
  /** The same for the generator and tcpdump (this process and its children), so the arrivals keep their timing. */
  readonly generatorNice?: number;
  /** Offered calls per second, low to past saturation. */
  readonly rates: readonly number[];
  readonly arrivals: readonly ArrivalProcess[];
  readonly windowSeconds: number;
  readonly warmupSeconds: number;
  /** Phone pairs of the generator. */
  readonly pairs: number;
  readonly holdMs: number;
  readonly timeoutMs: number;
  /** Share of calls whose messages are traced (and so give a waiting time). */
  readonly traceSample: number;
  readonly batches: number;
  readonly quick: { readonly rates: readonly number[]; readonly arrivals: readonly ArrivalProcess[]; readonly windowSeconds: number; readonly warmupSeconds: number };
}

const TOP_KEYS = new Set(['id', 'runner', 'title', 'study', 'published', 'budget', 'proxy-nice', 'generator-nice', 'rates', 'arrivals', 'window', 'warmup', 'pairs', 'hold', 'timeout', 'trace-sample', 'batches', 'quick']);

function fail(file: string, key: string, message: string): never {
  throw new QueueingError('ERR_SWITCHBOARD_MODEL_CONFIG', `${file}: ${key}: ${message}`);
}

function positive(file: string, key: string, value: unknown, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0)) fail(file, key, 'must be a positive number');
  return value;
}

function rates(file: string, key: string, value: unknown): number[] {
  if (!Array.isArray(value) || value.length === 0) fail(file, key, 'must be a list of calls/s');
  return value.map((rate, i) => positive(file, `${key}[${i}]`, rate));
}

function arrivals(file: string, key: string, value: unknown): ArrivalProcess[] {
  if (!Array.isArray(value) || value.length === 0 || value.some((entry) => entry !== 'exponential' && entry !== 'deterministic')) fail(file, key, 'must list exponential and/or deterministic');
  return value as ArrivalProcess[];
}

function niceValue(file: string, key: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < -20 || value > 19) fail(file, key, 'must be a whole number from -20 to 19');
  return value;
}

export function parseQueueingConfig(raw: unknown, file: string): QueueingConfig {
  if (typeof raw !== 'object' || raw === null) fail(file, '(top)', 'must be a mapping');
  const top = raw as Record<string, unknown>;
  for (const key of Object.keys(top)) if (!TOP_KEYS.has(key)) fail(file, key, `unknown key (known: ${[...TOP_KEYS].join(', ')})`);
  if (top.runner !== 'model') fail(file, 'runner', 'must be "model" (run with switchboard model run)');
  const text = (key: string): string => (typeof top[key] === 'string' ? (top[key] as string) : fail(file, key, 'must be text'));
  const budgetRaw = (top.budget ?? {}) as Record<string, unknown>;
  const budget: BudgetConfig = {
    ...(budgetRaw['proxy-cpus'] === undefined ? {} : { proxyCpus: String(budgetRaw['proxy-cpus']) }),
    ...(budgetRaw['proxy-quota'] === undefined ? {} : { proxyQuota: positive(file, 'budget.proxy-quota', budgetRaw['proxy-quota']) }),
    ...(budgetRaw['generator-cpus'] === undefined ? {} : { generatorCpus: String(budgetRaw['generator-cpus']) }),
  };
  const quick = (top.quick ?? {}) as Record<string, unknown>;
  const sample = positive(file, 'trace-sample', top['trace-sample'], 0.2);
  if (sample > 1) fail(file, 'trace-sample', 'must be at most 1');
  const config = {
    id: text('id'),
    title: text('title'),
    study: text('study'),
    published: text('published'),
    ...(top.budget === undefined ? {} : { budget }),
    ...(top['proxy-nice'] === undefined ? {} : { proxyNice: niceValue(file, 'proxy-nice', top['proxy-nice']) }),
    ...(top['generator-nice'] === undefined ? {} : { generatorNice: niceValue(file, 'generator-nice', top['generator-nice']) }),
    rates: rates(file, 'rates', top.rates),
    arrivals: arrivals(file, 'arrivals', top.arrivals ?? ['exponential']),
    windowSeconds: positive(file, 'window', top.window),
    warmupSeconds: positive(file, 'warmup', top.warmup, 3),
    pairs: positive(file, 'pairs', top.pairs, 50),
    holdMs: positive(file, 'hold', top.hold, 1),
    timeoutMs: positive(file, 'timeout', top.timeout, 5000),
    traceSample: sample,
    batches: positive(file, 'batches', top.batches, 20),
  };
  return {
    ...config,
    quick: {
      rates: quick.rates === undefined ? config.rates.slice(0, 2) : rates(file, 'quick.rates', quick.rates),
      arrivals: quick.arrivals === undefined ? config.arrivals.slice(0, 1) : arrivals(file, 'quick.arrivals', quick.arrivals),
      windowSeconds: positive(file, 'quick.window', quick.window, 3),
      warmupSeconds: positive(file, 'quick.warmup', quick.warmup, 1),
    },
  };
}

export async function loadQueueingConfig(file: string): Promise<QueueingConfig> {
  let raw: unknown;
  try {
    raw = parseYaml(await readFile(file, 'utf8'));
  } catch (error) {
    fail(file, '(file)', `cannot read or not YAML: ${(error as Error).message}`);
  }
  return parseQueueingConfig(raw, file);
}
