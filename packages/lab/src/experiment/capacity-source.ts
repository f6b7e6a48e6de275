/**
 * Where a registration point's capacity comes from when it is overloaded (E6): with
 * `workload.overload.capacity-of` (e.g. `{ overload: "off" }`), a point whose extra settings
 * differ from those named (overload control on) runs no ladder of its own: it is offered the
 * multiples of the capacity found by the point with those settings (control off) in the same
 * repeat. So "goodput / capacity" with control on and off share one denominator, measured without
 * the controller, and a controller that sheds below capacity shows as lost goodput instead of
 * as a lower capacity that hides it.
 */
import type { ExperimentPoint } from './experiment-record.js';
import { pointKey } from './experiment-matrix.js';

/** The key of the point that supplies `point`'s capacity, or undefined when it is its own source (it runs the ladder). */
export function capacitySourceKey(point: ExperimentPoint, capacityOf: Readonly<Record<string, string>> | undefined): string | undefined {
  if (capacityOf === undefined) return undefined;
  const extra = point.extra ?? {};
  if (Object.entries(capacityOf).every(([key, value]) => extra[key] === value)) return undefined;
  return pointKey({ ...point, extra: { ...extra, ...capacityOf } });
}

/** The capacities found so far, by `pointKey#repeat`: the peak of every valid ladder. */
export class CapacityBook {
  readonly #rates = new Map<string, number>();

  /** A smoke run (`quick`) keeps an invalid ladder's highest passing rate too: it exercises the steps, as its own overload steps do. */
  note(record: { readonly pointKey: string; readonly repeat: number; readonly quick?: boolean; readonly peak?: { readonly rate?: number }; readonly invalid?: readonly string[]; readonly error?: unknown }): void {
    if (record.peak?.rate === undefined || ((record.invalid?.length ?? 0) > 0 && record.quick !== true) || record.error !== undefined) return;
    this.#rates.set(`${record.pointKey}#${record.repeat}`, record.peak.rate);
  }

  rate(key: string, repeat: number): number | undefined {
    return this.#rates.get(`${key}#${repeat}`);
  }
}
