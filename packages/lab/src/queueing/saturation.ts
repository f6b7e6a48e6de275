/**
 * Saturation predicted as ρ → 1, from service times, beside a measured peak. For the event-loop,
 * E9's own service times: one call costs Σ over its messages of E[X], so ρ = 1 at 1 / that. For
 * every architecture, the CPU each call cost in a committed run (bench:efficiency at a fixed
 * rate; the models ladder over all its steps) stands for its service time: ρ = 1 where the
 * cores it may use are busy, at cores / CPU per call.
 */
import { existsSync, readFileSync } from 'node:fs';

export interface SaturationRow {
  readonly architecture: string;
  readonly source: string;
  /** Service time per call, microseconds. */
  readonly serviceMicrosPerCall: number;
  readonly cores: number;
  readonly predictedCallsPerSecond: number;
  readonly measuredPeak?: number;
  readonly measuredSource?: string;
}

interface LadderStep { readonly successRatio: number; readonly achievedCallsPerSecond: number; readonly attempted: number }
interface ModelsRun { readonly model: string; readonly cpuMs: number; readonly ladder: { readonly transport: string; readonly steps: readonly LadderStep[] } }

/** The highest achieved rate at a step with at least 99.9% success. */
function ladderPeak(steps: readonly LadderStep[]): number | undefined {
  const passing = steps.filter((step) => step.successRatio >= 0.999).map((step) => step.achievedCallsPerSecond);
  return passing.length === 0 ? undefined : Math.max(...passing);
}

/** The committed models ladder (experiments/models/models.json): UDP peaks and CPU per call over the ladder. */
export function modelsLadderRows(file: string): SaturationRow[] {
  if (!existsSync(file)) return [];
  const data = JSON.parse(readFileSync(file, 'utf8')) as { workers: number; machine: { cores: number }; runs: ModelsRun[] };
  return data.runs
    .filter((run) => run.ladder.transport === 'udp')
    .map((run) => {
      const calls = run.ladder.steps.reduce((sum, step) => sum + step.attempted, 0);
      const micros = (run.cpuMs * 1000) / calls;
      const cores = run.model === 'event-loop' ? 1 : Math.min(data.workers, data.machine.cores);
      const peak = ladderPeak(run.ladder.steps);
      return {
        architecture: run.model,
        source: 'models ladder: CPU over all steps / calls',
        serviceMicrosPerCall: micros,
        cores,
        predictedCallsPerSecond: (cores * 1e6) / micros,
        ...(peak === undefined ? {} : { measuredPeak: peak, measuredSource: 'models ladder (SIPp, unpinned, 2 cores)' }),
      };
    });
}

/** The committed CPU-per-call run (experiments/efficiency/efficiency.json): UDP medians, proxy on one CPU. */
export function efficiencyRows(file: string, peaks: ReadonlyMap<string, number>): SaturationRow[] {
  if (!existsSync(file)) return [];
  const data = JSON.parse(readFileSync(file, 'utf8')) as { settings: { rate: number }; samples: Array<{ proxy: string; transport: string; microsPerCall: number }> };
  const byProxy = new Map<string, number[]>();
  for (const sample of data.samples) {
    if (sample.transport !== 'udp') continue;
    byProxy.set(sample.proxy, [...(byProxy.get(sample.proxy) ?? []), sample.microsPerCall]);
  }
  return [...byProxy].map(([proxy, values]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] as number;
    const peak = peaks.get(proxy);
    return {
      architecture: proxy,
      source: `bench:efficiency: CPU per call at ${data.settings.rate} calls/s, proxy on 1 CPU`,
      serviceMicrosPerCall: median,
      cores: 1,
      predictedCallsPerSecond: 1e6 / median,
      ...(peak === undefined ? {} : { measuredPeak: peak, measuredSource: 'models ladder (SIPp, unpinned, 2 cores)' }),
    };
  });
}
