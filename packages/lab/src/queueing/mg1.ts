/**
 * The M/G/1 queue of study 003 (Krishnamurthy & Rouskas): Poisson arrivals at rate λ, one server
 * with service time X of any distribution. Pollaczek-Khinchine: the mean wait before service is
 * W = λE[X²] / (2(1 − ρ)) with ρ = λE[X]; no steady state from ρ ≥ 1.
 */

/** Utilisation ρ = λE[X] (λ per second, E[X] in seconds). */
export function utilisation(lambda: number, meanService: number): number {
  return lambda * meanService;
}

/** Mean waiting time (seconds) of an M/G/1 queue; Infinity from ρ ≥ 1. */
export function mg1Waiting(lambda: number, meanService: number, meanSquareService: number): number {
  const rho = utilisation(lambda, meanService);
  if (rho >= 1) return Number.POSITIVE_INFINITY;
  return (lambda * meanSquareService) / (2 * (1 - rho));
}

/** The arrival rate (per second) at which ρ reaches `rho` (1: saturation). */
export function saturationRate(meanService: number, rho = 1): number {
  return rho / meanService;
}

/** E[X] and E[X²] of a mix of message types, each weighted by its share of the arrivals. */
export function mixtureMoments(parts: ReadonlyArray<{ readonly weight: number; readonly mean: number; readonly meanSquare: number }>): { mean: number; meanSquare: number } {
  const total = parts.reduce((sum, part) => sum + part.weight, 0);
  if (!(total > 0)) return { mean: Number.NaN, meanSquare: Number.NaN };
  let mean = 0;
  let meanSquare = 0;
  for (const part of parts) {
    mean += (part.weight / total) * part.mean;
    meanSquare += (part.weight / total) * part.meanSquare;
  }
  return { mean, meanSquare };
}
