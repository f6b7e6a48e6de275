/**
 * A real Redis Cluster for tests and benchmarks: `masters × (1 + replicas)` redis-server
 * processes in cluster mode on free loopback ports (each with its bus port at port + 10000, as
 * Redis expects), persistence off, node configs in a temporary folder, joined and given their
 * slots by `redis-cli --cluster create`. `startRedisCluster` returns once every node says
 * `cluster_state:ok`, all 16384 slots are covered, every node knows every other and every replica
 * has its master link up. `stop` ends every process and removes the folder; processes still
 * running when this process exits are killed, so a failed test leaves none behind.
 *
 * The node timeout is short (1 s by default, against Redis' 15 s) so a failover under test takes
 * seconds, and replicas sync at once (`repl-diskless-sync-delay 0`, not 5 s), so start-up does; `cluster-require-full-coverage no`, so keys of the other masters stay served while one
 * master's slots wait for its replica (the setting the docs recommend for Switchboard).
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';
import { endRedisProcess as end, spawnRedisProcess } from './redis-process.js';

const run = promisify(execFile);

export interface RedisClusterNode {
  readonly port: number;
  /** `127.0.0.1:PORT`, as the cluster names the node. */
  readonly address: string;
  /** The process id while it runs, undefined once it has exited. */
  readonly pid: number | undefined;
  /** Ends the node with SIGKILL (a crashed master or a lost host) and waits for it to exit. */
  kill(): Promise<void>;
}

export interface RedisTestCluster {
  /** `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,...`: every node, as `--redis-url` takes it. */
  readonly url: string;
  readonly nodes: readonly RedisClusterNode[];
  /** Runs `redis-cli -p PORT ARGS...` against one node and returns its output. */
  cli(port: number, ...args: string[]): Promise<string>;
  /** The node serving `key`'s slot as master now, asked of a live node. */
  masterOf(key: string): Promise<RedisClusterNode>;
  /** The replicas of the master at `port`, as a live node sees them. */
  replicasOf(port: number): Promise<RedisClusterNode[]>;
  /** The masters now serving slots, as a live node sees them. */
  masters(): Promise<RedisClusterNode[]>;
  /**
   * Moves the slot of `key` (and the keys in it) from its master to the master at `toPort`, as
   * resharding does (SETSLOT IMPORTING/MIGRATING, MIGRATE, SETSLOT NODE on every master), so
   * clients that knew the old owner get MOVED.
   */
  moveSlotOf(key: string, toPort: number): Promise<void>;
  /**
   * Waits until every live node says the cluster is ok with every slot served by a live master
   * (after a failover: the replica promoted); rejects after `timeoutMs`.
   */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /**
   * Waits until every live replica has received all its master has written (replication offsets
   * equal), so writes acknowledged before now survive the loss of a master.
   */
  waitReplicated(timeoutMs?: number): Promise<void>;
  /** Ends every node and removes the folder of their configs. */
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  readonly masters?: number;
  readonly replicasPerMaster?: number;
  /** `cluster-node-timeout`: how long a silent master takes to be declared failed. */
  readonly nodeTimeoutMs?: number;
  /** Pin every node to these CPUs (taskset), for benchmarks. */
  readonly cpus?: string;
}

/** `count` distinct ports whose port + 10000 (the cluster bus) is free too. */
async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let index = 0; index < count; index++) ports.push(await freePort(10_000));
  return ports;
}

async function spawnNode(port: number, dir: string, nodeTimeoutMs: number, cpus: string | undefined): Promise<ChildProcess> {
  await mkdir(dir, { recursive: true });
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', String(nodeTimeoutMs),
    '--cluster-require-full-coverage', 'no', '--appendonly', 'no', '--save', '', '--repl-diskless-sync-delay', '0',
  ];
  return spawnRedisProcess(port, args, cpus, 10_000);
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 });
  return stdout;
}

interface NodeLine {
  readonly id: string;
  readonly port: number;
  readonly flags: readonly string[];
  readonly masterId: string;
  readonly slots: readonly [number, number][];
}

/** `CLUSTER NODES` lines: id, address, flags, master id and slot ranges. */
function parseNodes(text: string): NodeLine[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [id = '', address = '', flags = '', masterId = '', , , , , ...rest] = line.trim().split(' ');
      const port = Number(address.split('@')[0]?.split(':')[1]);
      const slots = rest
        .filter((range) => !range.startsWith('['))
        .map((range): [number, number] => {
          const [from, to] = range.split('-').map(Number);
          return [from as number, to ?? (from as number)];
        });
      return { id, port, flags: flags.split(','), masterId, slots };
    });
}

async function eventually(timeoutMs: number, what: string, check: () => Promise<string | undefined>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let problem: string | undefined = 'not checked';
  while (Date.now() < deadline) {
    try {
      problem = await check();
    } catch (error) {
      problem = (error as Error).message;
    }
    if (problem === undefined) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} within ${timeoutMs} ms: ${problem}`);
}

/** Starts a cluster (3 masters, 1 replica each, by default) and waits until it serves every slot. */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisTestCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 1;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1000;
  const folder = await mkdtemp(join(tmpdir(), 'switchboard-redis-cluster-'));
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(children.map((child) => end(child, 'SIGKILL')));
    await rm(folder, { recursive: true, force: true });
  };
  try {
    const ports = await freePorts(masters * (1 + replicas));
    children.push(...(await Promise.all(ports.map((port) => spawnNode(port, join(folder, String(port)), nodeTimeoutMs, options.cpus)))));
    const nodes: RedisClusterNode[] = ports.map((port, index) => ({
      port,
      address: `127.0.0.1:${port}`,
      get pid() {
        const child = children[index] as ChildProcess;
        return child.exitCode === null && child.signalCode === null ? child.pid : undefined;
      },
      kill: () => end(children[index] as ChildProcess, 'SIGKILL'),
    }));
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((node) => node.address), '--cluster-replicas', String(replicas), '--cluster-yes'], { timeout: 30_000 });
    const live = (): RedisClusterNode[] => nodes.filter((node) => node.pid !== undefined);
    const byPort = (port: number): RedisClusterNode => {
      const node = nodes.find((candidate) => candidate.port === port);
      if (node === undefined) throw new Error(`no node on port ${port}`);
      return node;
    };
    const view = async (): Promise<NodeLine[]> => {
      const first = live()[0];
      if (first === undefined) throw new Error('every node is down');
      return parseNodes(await cli(first.port, 'cluster', 'nodes'));
    };
    const waitHealthy = (timeoutMs = 20_000): Promise<void> =>
      eventually(timeoutMs, 'the Redis Cluster was not healthy', async () => {
        for (const node of live()) {
          const info = await cli(node.port, 'cluster', 'info');
          if (!/cluster_state:ok/.test(info)) return `${node.address}: ${info.match(/cluster_state:\w+/)?.[0]}`;
          const covered = Number(info.match(/cluster_slots_ok:(\d+)/)?.[1]);
          if (covered !== 16384) return `${node.address}: ${covered} slots ok`;
          const lines = parseNodes(await cli(node.port, 'cluster', 'nodes'));
          const serving = lines.filter((line) => line.flags.includes('master') && line.slots.length > 0);
          if (serving.length !== masters) return `${node.address} sees ${serving.length} masters with slots`;
          const deadMaster = serving.find((line) => byPort(line.port).pid === undefined || line.flags.some((flag) => flag === 'fail' || flag === 'fail?'));
          if (deadMaster !== undefined) return `${node.address} still sees the lost master ${deadMaster.port} serving slots`;
          if (lines.filter((line) => !line.flags.some((flag) => flag === 'fail' || flag === 'noaddr')).length < live().length) return `${node.address} does not know every live node yet`;
          if (lines.find((line) => line.flags.includes('myself'))?.flags.includes('slave') === true) {
            const replication = await cli(node.port, 'info', 'replication');
            if (!/master_link_status:up/.test(replication)) return `${node.address}: replica link not up`;
          }
        }
        return undefined;
      });
    await waitHealthy(30_000);
    return {
      url: `redis+cluster://${nodes.map((node) => node.address).join(',')}`,
      nodes,
      cli,
      async masterOf(key) {
        const first = live()[0] as RedisClusterNode;
        const slot = Number((await cli(first.port, 'cluster', 'keyslot', key)).trim());
        const owner = (await view()).find((line) => line.flags.includes('master') && !line.flags.includes('fail') && line.slots.some(([from, to]) => slot >= from && slot <= to));
        if (owner === undefined) throw new Error(`no master serves slot ${slot}`);
        return byPort(owner.port);
      },
      async replicasOf(port) {
        const lines = await view();
        const master = lines.find((line) => line.port === port);
        return lines.filter((line) => master !== undefined && line.masterId === master.id).map((line) => byPort(line.port));
      },
      async masters() {
        return (await view()).filter((line) => line.flags.includes('master') && !line.flags.includes('fail') && line.slots.length > 0).map((line) => byPort(line.port));
      },
      async moveSlotOf(key, toPort) {
        const first = live()[0] as RedisClusterNode;
        const slot = (await cli(first.port, 'cluster', 'keyslot', key)).trim();
        const lines = await view();
        const owner = lines.find((line) => line.flags.includes('master') && line.slots.some(([from, to]) => Number(slot) >= from && Number(slot) <= to));
        const target = lines.find((line) => line.port === toPort);
        if (owner === undefined || target === undefined || owner.port === toPort) throw new Error(`cannot move slot ${slot} to ${toPort}`);
        await cli(toPort, 'cluster', 'setslot', slot, 'importing', owner.id);
        await cli(owner.port, 'cluster', 'setslot', slot, 'migrating', target.id);
        for (;;) {
          const keys = (await cli(owner.port, 'cluster', 'getkeysinslot', slot, '100')).split('\n').filter((line) => line !== '');
          if (keys.length === 0) break;
          await cli(owner.port, 'migrate', '127.0.0.1', String(toPort), '', '0', '5000', 'keys', ...keys);
        }
        for (const line of lines.filter((candidate) => candidate.flags.includes('master') && candidate.slots.length > 0)) await cli(line.port, 'cluster', 'setslot', slot, 'node', target.id);
      },
      waitHealthy,
      waitReplicated: (timeoutMs = 10_000) =>
        eventually(timeoutMs, 'the replicas did not catch up', async () => {
          for (const node of live()) {
            const info = await cli(node.port, 'info', 'replication');
            if (!/role:master/.test(info)) continue;
            const offset = Number(info.match(/master_repl_offset:(\d+)/)?.[1]);
            for (const [, replicaOffset] of info.matchAll(/slave\d+:[^\n]*offset=(\d+)/g)) {
              if (Number(replicaOffset) < offset) return `${node.address} at ${offset}, a replica at ${replicaOffset}`;
            }
          }
          return undefined;
        }),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
