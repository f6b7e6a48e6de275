/**
 * A real redis-server for tests: started on a free loopback port with persistence off, stopped
 * (and waited for) by `stop`. `kill` ends it abruptly (SIGKILL, as a crash or a lost host would)
 * and `restart` starts a fresh, empty one on the same port, for outage tests. Not part of the
 * package's exports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

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

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Servers still running, killed if this process exits so none outlives its test or experiment. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

async function spawnRedis(port: number, cpus: string | undefined): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const child: ChildProcess = cpus === undefined ? spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn('taskset', ['-c', cpus, 'redis-server', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('redis-server did not start within 5 s')), 5000);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(new Error(`redis-server could not be started (apt-get install redis-server): ${error.message}`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}: ${output.slice(-500)}`));
      });
      let ready = false;
      child.stdout?.on('data', (chunk: Buffer) => {
        if (ready) return;
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          ready = true;
          clearTimeout(timer);
          resolve();
        }
      });
      child.stderr?.resume();
    });
  } catch (error) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    throw error;
  }
  return child;
}

async function end(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  await exited;
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
