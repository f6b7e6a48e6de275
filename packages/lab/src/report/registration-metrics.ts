/**
 * Metrics of registration runs (E5 connection scale, E6 registration test) that published
 * figures can name (`ours: { metric: … }`), beside report-data.ts's RUN_METRICS for calls.
 */
import type { BenchResult } from '@switchboard/bench';
import type { ExperimentRecord } from '../experiment/experiment-record.js';
import { measuredStepAt } from '../experiment/overload-steps.js';
import { goodputOfServable } from './served-best.js';

type Measured = ExperimentRecord & { result: BenchResult };

/** Goodput / capacity of a record's valid overload step at `factor`, if it has one. */
export const overloadRatio = (factor: number) => (record: Measured): number | undefined => measuredStepAt(record.overload, factor)?.goodputRatio;
const probeP99 = (rate: number) => ({ result }: Measured): number | undefined => result.registration?.probes?.find((probe) => probe.rate === rate)?.latency.p99;

export const REGISTRATION_METRICS: Record<string, (record: Measured) => number | undefined> = {
  connectionsHeld: ({ result }) => result.registration?.held,
  proxyRssBytesPerConnection: ({ result }) => result.registration?.perConnection?.proxyRssBytes,
  proxyPssBytesPerConnection: ({ result }) => result.registration?.perConnection?.proxyPssBytes,
  kernelBytesPerSocket: ({ result }) => result.registration?.perConnection?.kernelBytesPerSocket,
  openPerSecond: ({ result }) => result.registration?.open?.perSecond,
  closePerSecond: ({ result }) => result.registration?.close?.perSecond,
  openProxyCpuMicrosPerConnection: ({ result }) => result.registration?.open?.proxyCpuMicrosPerConnection,
  closeProxyCpuMicrosPerConnection: ({ result }) => result.registration?.close?.proxyCpuMicrosPerConnection,
  registerP50Ms: ({ result }) => result.latencyMs.register?.p50,
  registerP99Ms: ({ result }) => result.latencyMs.register?.p99,
  registerP99MsAt83: probeP99(83),
  registerP99MsAt833: probeP99(833),
  registrationsPerSecond: ({ result }) => (result.registration === undefined ? undefined : result.calls.perSecond),
  peakRegistrationsPerSecond: (record) => (record.result.registration === undefined ? undefined : record.peak?.rate),
  goodputRatioAt2x: overloadRatio(2),
  goodputRatioAt4x: overloadRatio(4),
  goodputRatioAt8x: overloadRatio(8),
  // Goodput / what could be served: the lesser of the offered rate and the most the run's capacity
  // source served in the same repeat (served-best.ts).
  goodputOfServableAt2x: goodputOfServable(2),
  goodputOfServableAt4x: goodputOfServable(4),
  goodputOfServableAt8x: goodputOfServable(8),
};
