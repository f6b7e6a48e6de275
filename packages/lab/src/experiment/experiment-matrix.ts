/**
 * The points of an experiment: every combination of its matrix, minus the ones that mean
 * nothing or cannot run, each written once:
 * - UDP has no connections: its connection lifetimes are `persistent`, and as idle-connection
 *   management concerns connections too, UDP runs once with the first idle strategy listed;
 * - the event-loop has one worker; an fd cache exists only in the process-pool;
 * - TLS handshake options mean nothing where no handshake happens in the window: with persistent
 *   caller connections `tls-verify-client` (the callers' certificates) runs with its first value,
 *   and with persistent connections on both sides so does `tls-resumption`;
 * - flags implied by an extra value (`implies`) join that point's extras;
 * - keys that mean nothing for the point are dropped (`meaningfulExtras`): the process-pool's own
 *   for other models, and overload control's settings (`overload-*`) without `overload: on`
 *   (`serve` refuses them there);
 * - a point matching an entry of `exclude` on every key it names is left out;
 * - a model whose workers must share their transactions (`TRANSACTIONS_FOR_MODEL`, the rule `serve` checks: io-dispatch)
 *   runs with `transactions: shared` only (added when the matrix does not vary it);
 * - `state: default` is the model's own (`DEFAULT_STATE`: event-loop local, thread-pool sab,
 *   process-pool redis), and a state a model cannot use (`STATE_FOR_MODEL`, the rule `serve`
 *   checks) is skipped.
 */
import { DEFAULT_STATE, STATE_FOR_MODEL, TRANSACTIONS_FOR_MODEL, type StateKind } from '@switchboard/cluster';
import type { ExperimentConfig } from './experiment-config.js';
import type { ExperimentPoint } from './experiment-record.js';


/** Extra keys that only the process-pool's `serve` takes; other models' points run without them. */
const PROCESS_POOL_ONLY = new Set(['supervisor-handles', 'fd-request-wait']);

/**
 * `extra` without the keys that mean nothing for a point of `model`: the process-pool's own
 * elsewhere, and overload control's settings (`overload-kernel-filter`, `overload-utilization` ...)
 * unless `overload` is on. Points that differ only in those are one point.
 */
export function meaningfulExtras(model: ExperimentPoint['model'], extra: Readonly<Record<string, string>>): Record<string, string> {
  const overloadOn = extra.overload === 'on';
  return Object.fromEntries(Object.entries(extra).filter(([key]) => !(PROCESS_POOL_ONLY.has(key) && model !== 'process-pool') && !(key.startsWith('overload-') && !overloadOn)));
}

/** The point has every value `entry` names (point fields in camelCase, or extras). */
function excluded(point: ExperimentPoint, entry: Readonly<Record<string, string>>): boolean {
  return Object.entries(entry).every(([key, value]) => String((point as unknown as Record<string, unknown>)[key] ?? point.extra?.[key]) === value);
}

/** A stable text form of a point: the resume key and the report's grouping key. */
export function pointKey(point: ExperimentPoint): string {
  const parts = [
    `model=${point.model}`,
    `workers=${point.workers}`,
    `state=${point.state}`,
    `fd-cache=${point.fdCache}`,
    `idle-strategy=${point.idleStrategy}`,
    `transport=${point.transport}`,
    `connection=${point.connection}`,
    `callee-connection=${point.calleeConnection}`,
    point.clients === undefined ? `rate=${point.rate}` : `clients=${point.clients}`,
  ];
  for (const [key, value] of Object.entries(point.extra ?? {}).sort(([a], [b]) => a.localeCompare(b))) parts.push(`${key}=${value}`);
  return parts.join(';');
}

function product<T extends Record<string, readonly unknown[]>>(dimensions: T): Array<{ [K in keyof T]: T[K][number] }> {
  let combinations: Array<Record<string, unknown>> = [{}];
  for (const [key, values] of Object.entries(dimensions)) {
    combinations = combinations.flatMap((partial) => values.map((value) => ({ ...partial, [key]: value })));
  }
  return combinations as Array<{ [K in keyof T]: T[K][number] }>;
}

/** The experiment's points in matrix order; `quick` swaps in the quick load levels. */
export function experimentPoints(config: ExperimentConfig, quick = false): ExperimentPoint[] {
  const { matrix } = config;
  const clients = quick && config.quick.clients !== undefined ? config.quick.clients : matrix.clients;
  const rate = quick && config.quick.rate !== undefined ? config.quick.rate : matrix.rate;
  const loads: Array<{ clients?: number; rate?: number }> = clients.length > 0 ? clients.map((value) => ({ clients: value })) : rate.map((value) => ({ rate: value }));
  const extras = product(quick && config.quick.extra !== undefined ? { ...matrix.extra, ...config.quick.extra } : matrix.extra);
  const points: ExperimentPoint[] = [];
  const seen = new Set<string>();
  for (const combination of product({
    model: matrix.model,
    workers: matrix.workers,
    state: matrix.state,
    fdCache: matrix.fdCache,
    idleStrategy: matrix.idleStrategy,
    transport: matrix.transport,
    connection: matrix.connection,
    calleeConnection: matrix.calleeConnection,
    extra: extras,
  })) {
    const model = combination.model as ExperimentPoint['model'];
    const state = combination.state === 'default' ? DEFAULT_STATE[model] : combination.state;
    if (!STATE_FOR_MODEL[model].includes(state as StateKind)) continue;
    if (combination.fdCache > 0 && model !== 'process-pool') continue;
    const transport = combination.transport as ExperimentPoint['transport'];
    const connection = transport === 'udp' ? 'persistent' : combination.connection;
    const calleeConnection = transport === 'udp' ? 'persistent' : combination.calleeConnection === 'same' ? connection : combination.calleeConnection;
    const idleStrategy = (transport === 'udp' ? matrix.idleStrategy[0] : combination.idleStrategy) as ExperimentPoint['idleStrategy'];
    // TLS choices mean nothing without TLS: such points run once, with the first value listed.
    const noHandshake = (key: string): boolean =>
      transport !== 'tls' ||
      (key === 'tls-verify-client' && connection === 'persistent') ||
      (key === 'tls-resumption' && connection === 'persistent' && calleeConnection === 'persistent');
    const chosen: Record<string, string> = { ...(combination.extra as Record<string, string>) };
    if (!TRANSACTIONS_FOR_MODEL[model].includes('owned')) {
      if ((chosen.transactions ?? 'shared') !== 'shared') continue;
      chosen.transactions = 'shared';
    }
    for (const rule of config.implies) if (chosen[rule.key] === rule.value) for (const [flag, value] of Object.entries(rule.flags)) chosen[flag] ??= value;
    const entries = Object.entries(meaningfulExtras(model, chosen));
    const extra = Object.fromEntries(entries.map(([key, value]) => [key, key.startsWith('tls-') && noHandshake(key) ? (matrix.extra[key]?.[0] ?? value) : value]));
    for (const load of loads) {
      const point: ExperimentPoint = {
        model,
        workers: model === 'event-loop' ? 1 : combination.workers,
        state: state as ExperimentPoint['state'],
        fdCache: combination.fdCache,
        idleStrategy,
        transport,
        connection,
        calleeConnection,
        ...load,
        ...(Object.keys(extra).length === 0 ? {} : { extra }),
      };
      if (config.exclude.some((entry) => excluded(point, entry))) continue;
      const key = pointKey(point);
      if (seen.has(key)) continue;
      seen.add(key);
      points.push(point);
    }
  }
  return points;
}
