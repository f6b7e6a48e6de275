/**
 * The parent's side of the registration generator processes: one forked child each
 * (registration-process.js, pinned with taskset when CPUs are given), orders sent, answers
 * awaited by type with a deadline, a child's failure or exit failing what waits on it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BenchError } from '../bench-error.js';
import type { FromRegistrationProcess, ToRegistrationProcess } from './registration-process.js';

const REGISTRATION_PROCESS = fileURLToPath(new URL('./registration-process.js', import.meta.url));

export class RegistrationProcess {
  readonly child: ChildProcess;
  readonly #waiters = new Map<string, { resolve: (message: FromRegistrationProcess) => void; reject: (error: Error) => void }>();
  #failure: Error | undefined;

  constructor(cpus: string | undefined) {
    const command = cpus === undefined ? process.execPath : 'taskset';
    const args = cpus === undefined ? [REGISTRATION_PROCESS] : ['-c', cpus, process.execPath, REGISTRATION_PROCESS];
    this.child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (message: FromRegistrationProcess) => {
      if (message.type === 'error') {
        this.#fail(new BenchError('ERR_SWITCHBOARD_BENCH_PROCESS', `registration process ${this.child.pid}: ${message.message}`));
        return;
      }
      const waiter = this.#waiters.get(message.type);
      this.#waiters.delete(message.type);
      waiter?.resolve(message);
    });
    this.child.on('error', (error) => this.#fail(new BenchError('ERR_SWITCHBOARD_BENCH_PROCESS', `registration process could not start: ${error.message}`)));
    this.child.on('exit', (code, signal) => this.#fail(new BenchError('ERR_SWITCHBOARD_BENCH_PROCESS', `registration process ${this.child.pid} exited (${signal ?? code})`)));
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const waiter of this.#waiters.values()) waiter.reject(error);
    this.#waiters.clear();
  }

  /** Sends `message` and waits for the answer of type `type`. */
  ask<T extends FromRegistrationProcess['type']>(message: ToRegistrationProcess, type: T, timeoutMs: number): Promise<Extract<FromRegistrationProcess, { type: T }>> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const answer = new Promise<Extract<FromRegistrationProcess, { type: T }>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(type);
        reject(new BenchError('ERR_SWITCHBOARD_BENCH_PROCESS', `registration process ${this.child.pid} did not answer ${message.type} within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.#waiters.set(type, {
        resolve: (reply) => {
          clearTimeout(timer);
          resolve(reply as Extract<FromRegistrationProcess, { type: T }>);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
    if (this.child.connected) this.child.send(message);
    return answer;
  }

  async end(): Promise<void> {
    if (this.child.connected) this.child.send({ type: 'stop' } satisfies ToRegistrationProcess);
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}
