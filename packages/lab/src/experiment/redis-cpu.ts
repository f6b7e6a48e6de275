import type { BenchResult } from '@switchboard/bench';

/**
 * The CPU of the proxy's Redis over a run's window, in percent of one core, summed over its
 * processes (one redis-server, or every node of a Redis Cluster); undefined when the run watched
 * none. The one reading of it for the ladder, the report and the validity rules.
 */
export function redisCpuPercent(result: BenchResult): number | undefined {
  const redis = (result.observed ?? []).filter((usage) => usage.role === 'redis');
  return redis.length === 0 ? undefined : redis.reduce((sum, usage) => sum + usage.cpuPercent, 0);
}
