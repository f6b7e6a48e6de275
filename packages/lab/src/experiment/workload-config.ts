/**
 * The `workload:` key of an experiment config: what the generator does at each point. Absent,
 * it is calls (INVITE/BYE between phone pairs, `switchboard bench`). Otherwise:
 *
 * ```yaml
 * workload:                      # E5: hold `clients` persistent connections, each REGISTERed
 *   kind: scale
 *   probe-rates: [83, 167, 833]  # REGISTER/s of each probe while they are held (window: bench.duration)
 *   open-rate: 2000              # connections opened (and closed) per second at most
 *   expires: 3600                # REGISTER Expires; refreshed before expiry when the hold is longer
 *   file-limit: 20000            # open files per generator process and per proxy process
 * ```
 * ```yaml
 * workload:                      # E6: open-loop REGISTERs/s over `clients` clients
 *   kind: registration
 *   expires: 3600
 *   overload:                    # after the peak: offered load at these multiples of it
 *     factors: [2, 4, 8]
 *     duration: 10               # each step's window
 *     warmup: 35                 # load before it (default: bench.warmup)
 *     capacity-of: { overload: "off" }   # optional: points with other settings run no ladder and
 *                                        # take the capacity of this point of the same repeat
 * ```
 * In a registration experiment `connection` picks the mode: `per-transaction` (connect,
 * REGISTER, close), `persistent-open` (open at the first REGISTER, then reuse), `persistent`
 * (opened before the window); UDP is its own mode.
 */
export interface ScaleWorkload {
  readonly kind: 'scale';
  readonly probeRates: readonly number[];
  readonly openRate: number;
  readonly closeRate: number;
  readonly expiresSeconds: number;
  readonly fileLimit: number;
}

export interface RegistrationWorkloadConfig {
  readonly kind: 'registration';
  readonly expiresSeconds: number;
  readonly fileLimit: number;
  /**
   * After a point's peak, offered load at `factors` × the peak for `durationSeconds` each. With
   * `capacityOf`, a point whose extra settings differ from it runs no ladder: its factors multiply
   * the peak of the point with those settings (capacity-source.ts).
   */
  readonly overload?: { readonly factors: readonly number[]; readonly durationSeconds: number; readonly warmupSeconds?: number; readonly capacityOf?: Readonly<Record<string, string>> };
}

export type WorkloadConfig = ScaleWorkload | RegistrationWorkloadConfig;

const SCALE_KEYS = new Set(['kind', 'probe-rates', 'open-rate', 'close-rate', 'expires', 'file-limit']);
const REGISTRATION_KEYS = new Set(['kind', 'expires', 'file-limit', 'overload']);
const OVERLOAD_KEYS = new Set(['factors', 'duration', 'warmup', 'capacity-of']);

/** Reads `workload:`; `fail(key, problem)` throws the config error naming the file. */
export function parseWorkload(raw: unknown, fail: (key: string, problem: string) => never): WorkloadConfig | undefined {
  if (raw === undefined) return undefined;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return fail('workload', 'expected a mapping with kind: scale or registration');
  const entry = raw as Record<string, unknown>;
  const positive = (key: string, fallback: number): number => {
    const value = entry[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) return fail(`workload.${key}`, `expected a positive number, not ${String(value)}`);
    return value;
  };
  if (entry.kind === 'calls') return undefined;
  if (entry.kind === 'scale') {
    for (const key of Object.keys(entry)) if (!SCALE_KEYS.has(key)) fail(`workload.${key}`, `unknown key (known: ${[...SCALE_KEYS].join(', ')})`);
    const rates = entry['probe-rates'] ?? [83];
    if (!Array.isArray(rates) || rates.length === 0 || !rates.every((rate) => typeof rate === 'number' && rate > 0)) fail('workload.probe-rates', 'expected a list of positive REGISTER rates');
    const openRate = positive('open-rate', 2000);
    return { kind: 'scale', probeRates: rates as number[], openRate, closeRate: positive('close-rate', openRate), expiresSeconds: positive('expires', 3600), fileLimit: positive('file-limit', 20_000) };
  }
  if (entry.kind === 'registration') {
    for (const key of Object.keys(entry)) if (!REGISTRATION_KEYS.has(key)) fail(`workload.${key}`, `unknown key (known: ${[...REGISTRATION_KEYS].join(', ')})`);
    let overload: RegistrationWorkloadConfig['overload'];
    if (entry.overload !== undefined) {
      const value = entry.overload as Record<string, unknown>;
      if (value === null || typeof value !== 'object' || !Array.isArray(value.factors) || value.factors.length === 0 || !value.factors.every((factor) => typeof factor === 'number' && factor >= 1)) fail('workload.overload', 'expected { factors: [2, 4, 8], duration: seconds } with factors of at least 1');
      for (const key of Object.keys(value)) if (!OVERLOAD_KEYS.has(key)) fail(`workload.overload.${key}`, `unknown key (known: ${[...OVERLOAD_KEYS].join(', ')})`);
      const duration = value.duration ?? 10;
      if (typeof duration !== 'number' || !(duration > 0)) fail('workload.overload.duration', `expected a positive number of seconds, not ${String(duration)}`);
      const warmup = value.warmup;
      if (warmup !== undefined && (typeof warmup !== 'number' || !(warmup >= 0))) fail('workload.overload.warmup', `expected seconds (0 or more), not ${String(warmup)}`);
      const capacityOf = value['capacity-of'];
      if (capacityOf !== undefined && (capacityOf === null || typeof capacityOf !== 'object' || Array.isArray(capacityOf) || Object.keys(capacityOf).length === 0 || !Object.values(capacityOf).every((setting) => typeof setting === 'string'))) fail('workload.overload.capacity-of', 'expected a mapping of extra settings to strings, e.g. { overload: "off" }');
      overload = { factors: value.factors as number[], durationSeconds: duration as number, ...(warmup === undefined ? {} : { warmupSeconds: warmup as number }), ...(capacityOf === undefined ? {} : { capacityOf: capacityOf as Record<string, string> }) };
    }
    return { kind: 'registration', expiresSeconds: positive('expires', 3600), fileLimit: positive('file-limit', 20_000), ...(overload === undefined ? {} : { overload }) };
  }
  return fail('workload.kind', `must be calls, scale or registration, not ${String(entry.kind)}`);
}
