import type { BenchResult } from '@switchboard/bench';

/**
 * The CPU of the proxy's Redis over a run's window, in percent of one core, summed over every
 * process the run watched as `redis` (the lab starts one redis-server per point); undefined when
 * it watched none. The one reading of it for the ladder and the report.
 */
export function redisCpuPercent(result: BenchResult): number | undefined {
  const redis = (result.observed ?? []).filter((usage) => usage.role === 'redis');
  return redis.length === 0 ? undefined : redis.reduce((sum, usage) => sum + usage.cpuPercent, 0);
}
