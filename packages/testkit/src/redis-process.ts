/**
 * One redis-server process for the testkit's launchers (a single server, a cluster's nodes):
 * spawned (under taskset when CPUs are given), ready once it says "Ready to accept connections",
 * killed if it fails to start, and killed with this process if still running when it exits, so
 * none outlives its test or experiment.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts `redis-server args` on `port` and resolves once it accepts connections (at most `timeoutMs`). */
export async function spawnRedisProcess(port: number, args: readonly string[], cpus: string | undefined, timeoutMs: number): Promise<ChildProcess> {
  const child: ChildProcess = cpus === undefined ? spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn('taskset', ['-c', cpus, 'redis-server', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server on port ${port} did not start within ${timeoutMs / 1000} s: ${output.slice(-300)}`)), timeoutMs);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(new Error(`redis-server could not be started (apt-get install redis-server): ${error.message}`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server on port ${port} exited with ${code}: ${output.slice(-500)}`));
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

/** Sends `signal` and waits for the exit; nothing when the process has already ended. */
export async function endRedisProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  await exited;
}
