/**
 * A real redis-server for tests and for the lab's experiment points: started on a free loopback
 * port with persistence off, stopped (and waited for) by `stop`. `kill` ends it abruptly (SIGKILL,
 * as a crash or a lost host would) and `restart` starts a fresh, empty one on the same port, for
 * outage tests.
 */
import type { ChildProcess } from 'node:child_process';
import { freePort } from './free-port.js';
import { endRedisProcess as end, spawnRedisProcess } from './redis-process.js';

export interface RedisTestServer {
  readonly url: string;
  readonly port: number;
  /** The running server's process id (undefined while stopped). */
  readonly pid: number | undefined;
  /** Stops the server (SIGTERM) and waits for it to exit; nothing when it is not running. */
  stop(): Promise<void>;
  /** Ends the server with SIGKILL and waits for it to exit; nothing when it is not running. */
  kill(): Promise<void>;
  /** Starts a new, empty redis-server on the same port (after `stop` or `kill`). */
  restart(): Promise<void>;
}

function spawnRedis(port: number, cpus: string | undefined): Promise<ChildProcess> {
  return spawnRedisProcess(port, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], cpus, 5000);
}

/** Starts a redis-server on `port` (default: a free one), on CPUs `cpus` (taskset) when given. */
export async function startRedisServer(port?: number, options: { readonly cpus?: string } = {}): Promise<RedisTestServer> {
  const chosen = port ?? (await freePort());
  let child = await spawnRedis(chosen, options.cpus);
  return {
    url: `redis://127.0.0.1:${chosen}`,
    port: chosen,
    get pid() {
      return child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    stop: () => end(child, 'SIGTERM'),
    kill: () => end(child, 'SIGKILL'),
    async restart() {
      await end(child, 'SIGTERM');
      child = await spawnRedis(chosen, options.cpus);
    },
  };
}
