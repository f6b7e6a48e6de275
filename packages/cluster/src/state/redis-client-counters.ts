import type { Cluster } from 'ioredis';

/**
 * What this process's Redis clients saw, for `--metrics` (one set per worker process or thread:
 * module state is per thread). ioredis follows MOVED and ASK redirections itself and emits no
 * event for them, so they cannot be counted one by one; every MOVED makes it fetch the slot map
 * again, which is counted (`redisClusterSlotRefreshes`), as are the refreshes a lost node causes.
 */
export interface RedisClientCounters {
  /** Store calls that failed (the caller got ERR_SWITCHBOARD_STATE_UNAVAILABLE). */
  redisCommandFailures: number;
  /** Cluster slot maps fetched ('refresh': at start, after a MOVED, a lost node or CLUSTERDOWN). */
  redisClusterSlotRefreshes: number;
  /** Errors connecting to or refreshing from one cluster node ('node error'). */
  redisClusterNodeErrors: number;
  /** Node connections lost ('-node'). */
  redisClusterNodesLost: number;
  /** Failovers seen: a master whose slots are now served by what was its replica. */
  redisClusterFailovers: number;
}

export const redisClientCounters: RedisClientCounters = {
  redisCommandFailures: 0,
  redisClusterSlotRefreshes: 0,
  redisClusterNodeErrors: 0,
  redisClusterNodesLost: 0,
  redisClusterFailovers: 0,
};

const SLOTS = 16384;

/** Whether two slot entries (master first, then replicas) name the same nodes, without allocating. */
function sameNodes(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Counts a cluster client's events. A failover is recognised on each refresh by comparing the slot
 * map with the last one: a slot whose master is now a node listed as its replica before; each
 * replaced master counts once per client.
 */
export function countClusterEvents(cluster: Cluster): void {
  const last: (string[] | undefined)[] = [];
  cluster.on('node error', () => {
    redisClientCounters.redisClusterNodeErrors++;
  });
  cluster.on('-node', () => {
    redisClientCounters.redisClusterNodesLost++;
  });
  cluster.on('refresh', () => {
    redisClientCounters.redisClusterSlotRefreshes++;
    const replaced = new Set<string>();
    for (let slot = 0; slot < SLOTS; slot++) {
      const nodes = cluster.slots[slot];
      // A slot missing from this map (its master failed, no replica promoted yet) keeps its last entry.
      if (nodes === undefined || nodes.length === 0) continue;
      const before = last[slot];
      if (before !== undefined && sameNodes(before, nodes)) continue;
      const master = nodes[0] as string;
      if (before !== undefined && before[0] !== master && before.slice(1).includes(master)) replaced.add(before[0] as string);
      // A copy: ioredis edits its arrays in place when it follows a MOVED.
      last[slot] = [...nodes];
    }
    redisClientCounters.redisClusterFailovers += replaced.size;
  });
}
