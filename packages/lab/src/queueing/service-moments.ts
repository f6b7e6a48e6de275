import { mixtureMoments } from './mg1.js';

/** E[X] and E[X²] of one message type (seconds, seconds²), and how many messages they come from. */
export interface Moments {
  readonly count: number;
  readonly mean: number;
  readonly meanSquare: number;
}

/** The moments of service times (seconds). */
export function momentsOf(services: readonly number[]): Moments {
  const count = services.length;
  if (count === 0) return { count, mean: Number.NaN, meanSquare: Number.NaN };
  let sum = 0;
  let sumOfSquares = 0;
  for (const x of services) {
    sum += x;
    sumOfSquares += x * x;
  }
  return { count, mean: sum / count, meanSquare: sumOfSquares / count };
}

/** Per message type, and overall as the mix the arrivals make (each type weighted by its count). */
export function momentsByKind(samples: ReadonlyArray<{ readonly kind: string; readonly serviceSeconds: number }>): { byKind: Record<string, Moments>; overall: Moments } {
  const groups = new Map<string, number[]>();
  for (const sample of samples) {
    let group = groups.get(sample.kind);
    if (group === undefined) groups.set(sample.kind, (group = []));
    group.push(sample.serviceSeconds);
  }
  const byKind = Object.fromEntries([...groups].map(([kind, values]) => [kind, momentsOf(values)]));
  const parts = Object.values(byKind).map((moments) => ({ weight: moments.count, mean: moments.mean, meanSquare: moments.meanSquare }));
  const mix = mixtureMoments(parts);
  return { byKind, overall: { count: samples.length, ...mix } };
}
