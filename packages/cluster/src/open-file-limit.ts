/**
 * What the open-file limit (RLIMIT_NOFILE) allows each concurrency model, so the CLI can say at
 * start how many connections it may hold and whether --max-connections fits. Node has no
 * getrlimit: the limit is read from /proc/self/limits (Linux); elsewhere it is unknown. A library
 * module: it returns facts and never logs.
 */
import { readFileSync } from 'node:fs';
import type { Model } from './proxy-settings.js';

/** undefined: unlimited, or not known. */
export interface OpenFileLimit {
  readonly soft: number | undefined;
  readonly hard: number | undefined;
}

/** Files a process keeps for things other than connections: stdio, IPC, listeners, Redis, libuv's own. */
export const RESERVED_FILES = 64;

/** The "Max open files" line of a /proc/PID/limits text; undefined when it has none. */
export function parseOpenFileLimit(text: string): OpenFileLimit | undefined {
  const line = text.split('\n').find((row) => row.startsWith('Max open files'));
  if (line === undefined) return undefined;
  const [soft, hard] = line.slice('Max open files'.length).trim().split(/\s+/);
  const value = (field: string | undefined): number | undefined => (field === undefined || !/^\d+$/.test(field) ? undefined : Number(field));
  return { soft: value(soft), hard: value(hard) };
}

/** This process's limit (its children inherit it); undefined where /proc cannot be read. */
export function readOpenFileLimit(path = '/proc/self/limits'): OpenFileLimit | undefined {
  try {
    return parseOpenFileLimit(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

export interface CapacityInput {
  readonly model: Model;
  readonly workers: number;
  /** process-pool: handles each worker caches of other workers' connections. */
  readonly fdCache: number;
  /** process-pool: whether the supervisor keeps a handle of each TCP connection. */
  readonly supervisorHandles: 'keep' | 'release';
  readonly maxConnections: number | undefined;
}

export interface ConnectionCapacity {
  readonly limit: OpenFileLimit | undefined;
  /** Connections the soft limit lets the model hold at most, all processes together (undefined: no known bound). */
  readonly connections: number | undefined;
  /** The process that runs out of files first. */
  readonly boundBy: 'the process' | 'the supervisor' | 'each worker';
  readonly maxConnections: number | undefined;
  /** --max-connections is above what the file limit allows: connections past it are refused on accept (EMFILE) instead. */
  readonly maxAboveLimit: boolean;
}

/**
 * event-loop, thread-pool and io-dispatch (its I/O process) hold every connection in one process; the process-pool's supervisor
 * holds one file per TCP connection with `keep`, so it bounds the pool whatever its worker count;
 * with `release` each worker holds its share (round-robin) and the bound grows with the workers.
 */
export function connectionCapacity(input: CapacityInput, limit: OpenFileLimit | undefined): ConnectionCapacity {
  const soft = limit?.soft;
  const perProcess = soft === undefined ? undefined : Math.max(0, soft - RESERVED_FILES);
  let connections = perProcess;
  let boundBy: ConnectionCapacity['boundBy'] = 'the process';
  if (input.model === 'process-pool') {
    if (input.supervisorHandles === 'keep') boundBy = 'the supervisor';
    else {
      boundBy = 'each worker';
      connections = perProcess === undefined ? undefined : input.workers * Math.max(0, perProcess - input.fdCache);
    }
  }
  const max = input.maxConnections;
  return { limit, connections, boundBy, maxConnections: max, maxAboveLimit: max !== undefined && connections !== undefined && max > connections };
}
