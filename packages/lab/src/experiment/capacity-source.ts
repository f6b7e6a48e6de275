/**
 * Where a registration point's capacity comes from when it is overloaded (E6): with
 * `workload.overload.capacity-of` (e.g. `{ overload: "off" }`), a point whose extra settings
 * differ from those named (overload control on) runs no ladder of its own: it is offered the
 * multiples of the capacity found by the point with those settings (control off) in the same
 * repeat. So "goodput / capacity" with control on and off share one denominator, measured without
 * the controller, and a controller that sheds below capacity shows as lost goodput instead of
 * as a lower capacity that hides it. The capacities themselves are kept by PeakBook (peak-book.ts).
 */
import type { ExperimentPoint } from './experiment-record.js';
import { meaningfulExtras, pointKey } from './experiment-matrix.js';

/** The key of the point that supplies `point`'s capacity, or undefined when it is its own source (it runs the ladder). */
export function capacitySourceKey(point: ExperimentPoint, capacityOf: Readonly<Record<string, string>> | undefined): string | undefined {
  if (capacityOf === undefined) return undefined;
  const extra = point.extra ?? {};
  if (Object.entries(capacityOf).every(([key, value]) => extra[key] === value)) return undefined;
  // Settings that mean nothing at the source (an overload setting with control off) are not its.
  return pointKey({ ...point, extra: meaningfulExtras(point.model, { ...extra, ...capacityOf }) });
}
