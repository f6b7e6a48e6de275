import { Packr } from 'msgpackr';
import type { StreamProtocol, TransportAddress } from '@switchboard/core';
import type { InternalErrorRecord } from '../internal-error-reports.js';
import type { WorkerStats } from '../worker-stats.js';

/**
 * Messages between the process-pool supervisor and its workers, encoded with msgpackr: a message
 * with a socket handle beside it goes over Node's IPC channel, every other one as a frame on the
 * worker's byte stream (see ProcessChannel). The two are not ordered with each other, so a handle
 * never announces anything: `opened` goes on the stream, its handle follows as `handle`. Every
 * exchange is asynchronous: nobody ever waits for an answer while holding up its event loop.
 */
export type ToWorker =
  /**
   * Take this accepted connection (handle attached); only you read it. A TLS one comes before its
   * handshake: you do the handshake and hold its keys, so only you can ever write on it.
   */
  | {
      readonly t: 'adopt';
      readonly id: number;
      readonly protocol: StreamProtocol;
      /** A dead worker's connection handed over: the other names (`host:port`) it was known by there. */
      readonly aliases?: readonly string[];
    }
  /** Answer to a relay: `found` false when no worker holds that connection (any more); `ticket`: the relay's. */
  | { readonly t: 'relayed'; readonly request: number; readonly id: number; readonly protocol: StreamProtocol; readonly found: boolean; readonly ticket?: number }
  /**
   * Write `bytes` on your connection `id` (TLS, or TCP when the supervisor keeps no handles), for
   * worker `from`; a failure (the connection gone, a failed write) goes back as `write-failed` when
   * `ticket` is not 0.
   */
  | { readonly t: 'write'; readonly id: number; readonly protocol: StreamProtocol; readonly bytes: Uint8Array; readonly from?: number; readonly ticket?: number }
  /** A write of yours carried out elsewhere (relayed, or written by the supervisor) failed: its `ticket`'s error handler hears of it. */
  | { readonly t: 'send-failed'; readonly ticket: number; readonly message: string }
  /**
   * Answer to an fd request: `found` false when nobody has that connection (nothing was written).
   * When found, `written` says the supervisor wrote the request's bytes itself on its own handle;
   * the handle is attached only when one was wanted for the cache and none was queued to you.
   */
  | { readonly t: 'fd'; readonly request: number; readonly id: number; readonly found: boolean; readonly written?: boolean; readonly ticket?: number }
  /** Connection `id` closed: drop any cached handle of it. */
  | { readonly t: 'invalidate'; readonly id: number }
  /** A message another worker read that belongs to a transaction here. */
  | { readonly t: 'deliver'; readonly bytes: Uint8Array; readonly source: TransportAddress }
  | { readonly t: 'stats-request'; readonly request: number }
  /** `--transactions shared`: the worker with this lease owner id died; take its transactions over now. */
  | { readonly t: 'worker-died'; readonly owner: string }
  | { readonly t: 'stop' };

export type ToSupervisor =
  /** `owner`: the worker's lease owner id (`--transactions shared`), for the death notice. */
  | { readonly t: 'ready'; readonly udpPort: number | undefined; readonly owner?: string }
  /**
   * A write on a TCP connection another worker owns, by id or by remote address (handles kept):
   * the supervisor writes `bytes` on its own handle, and attaches the handle to its answer when
   * `wantsHandle` (the worker has an fd cache) and no other handle is queued to this worker. Node
   * sends handles one at a time, each after the last one's acknowledgement, so a handle per write
   * would queue every answer behind the others. `request` 0 (by id only) wants an answer only if
   * the connection is gone. `ticket` (not 0) asks to hear of a failed write of `bytes` as `send-failed`.
   */
  | { readonly t: 'fd-request'; readonly request: number; readonly id: number | undefined; readonly remoteKey: string; readonly bytes?: Uint8Array; readonly wantsHandle?: boolean; readonly ticket?: number }
  /** This worker opened a connection; it owns and reads it. A TCP one's handle follows as `handle` (when the supervisor keeps handles). */
  | { readonly t: 'opened'; readonly id: number; readonly remoteKey: string; readonly protocol: StreamProtocol }
  /** The handle (attached) of TCP connection `id` this worker opened and announced with `opened`. */
  | { readonly t: 'handle'; readonly id: number }
  /**
   * Pass `bytes` to the worker owning a connection (TLS; TCP when the supervisor keeps no handles),
   * by id or by remote address. `request` 0 wants an answer only if the connection is gone; any
   * other number always gets one. `ticket` (not 0) asks to hear of a failed write as `send-failed`.
   */
  | { readonly t: 'relay'; readonly request: number; readonly id: number | undefined; readonly remoteKey: string; readonly protocol: StreamProtocol; readonly bytes: Uint8Array; readonly ticket?: number }
  /** A write relayed here for worker `to` failed (its connection gone, or the write itself): passed on to it as `send-failed`. */
  | { readonly t: 'write-failed'; readonly to: number; readonly ticket: number; readonly message: string }
  | { readonly t: 'closed'; readonly id: number }
  | { readonly t: 'alias'; readonly id: number; readonly key: string }
  /** Pass `bytes` to worker `to`, which owns its transaction. */
  | { readonly t: 'hand-off'; readonly to: number; readonly bytes: Uint8Array; readonly source: TransportAddress }
  | { readonly t: 'stats'; readonly request: number; readonly stats: WorkerStats }
  /** The peer of connection `id` sent its FIN: no worker is given it for an address any more. */
  | { readonly t: 'ended'; readonly id: number }
  | { readonly t: 'start-failed'; readonly error: { readonly code: string; readonly message: string } }
  | { readonly t: 'internal-error'; readonly error: InternalErrorRecord };

const packr = new Packr({ useRecords: false, moreTypes: false });

export function encodeControl(message: ToWorker | ToSupervisor): Uint8Array {
  return packr.pack(message);
}

/** What each field of a control message must hold (`?`: may be absent). */
type FieldKind = 'number' | 'number?' | 'string' | 'string?' | 'strings?' | 'boolean' | 'boolean?' | 'bytes' | 'bytes?' | 'protocol' | 'object';

const TO_WORKER: Record<ToWorker['t'], Record<string, FieldKind>> = {
  adopt: { id: 'number', protocol: 'protocol', aliases: 'strings?' },
  relayed: { request: 'number', id: 'number', protocol: 'protocol', found: 'boolean', ticket: 'number?' },
  write: { id: 'number', protocol: 'protocol', bytes: 'bytes', from: 'number?', ticket: 'number?' },
  'send-failed': { ticket: 'number', message: 'string' },
  fd: { request: 'number', id: 'number', found: 'boolean', written: 'boolean?', ticket: 'number?' },
  invalidate: { id: 'number' },
  deliver: { bytes: 'bytes', source: 'object' },
  'stats-request': { request: 'number' },
  'worker-died': { owner: 'string' },
  stop: {},
};

const TO_SUPERVISOR: Record<ToSupervisor['t'], Record<string, FieldKind>> = {
  ready: { udpPort: 'number?', owner: 'string?' },
  'fd-request': { request: 'number', id: 'number?', remoteKey: 'string', bytes: 'bytes?', wantsHandle: 'boolean?', ticket: 'number?' },
  opened: { id: 'number', remoteKey: 'string', protocol: 'protocol' },
  handle: { id: 'number' },
  relay: { request: 'number', id: 'number?', remoteKey: 'string', protocol: 'protocol', bytes: 'bytes', ticket: 'number?' },
  'write-failed': { to: 'number', ticket: 'number', message: 'string' },
  closed: { id: 'number' },
  alias: { id: 'number', key: 'string' },
  'hand-off': { to: 'number', bytes: 'bytes', source: 'object' },
  stats: { request: 'number', stats: 'object' },
  ended: { id: 'number' },
  'start-failed': { error: 'object' },
  'internal-error': { error: 'object' },
};

function fits(value: unknown, kind: FieldKind): boolean {
  switch (kind) {
    case 'number?':
      return value === undefined || value === null || Number.isFinite(value);
    case 'number':
      return Number.isFinite(value);
    case 'string':
      return typeof value === 'string';
    case 'string?':
      return value === undefined || value === null || typeof value === 'string';
    case 'strings?':
      return value === undefined || value === null || (Array.isArray(value) && value.every((item) => typeof item === 'string'));
    case 'boolean':
      return typeof value === 'boolean';
    case 'boolean?':
      return value === undefined || value === null || typeof value === 'boolean';
    case 'bytes':
      return value instanceof Uint8Array;
    case 'bytes?':
      return value === undefined || value === null || value instanceof Uint8Array;
    case 'protocol':
      return value === 'tcp' || value === 'tls';
    case 'object':
      return typeof value === 'object' && value !== null;
  }
}

function decode<T>(raw: unknown, schemas: Record<string, Record<string, FieldKind>>, direction: string): T {
  if (!(raw instanceof Uint8Array)) throw new Error(`control message ${direction} is not bytes`);
  const message = packr.unpack(raw) as Record<string, unknown> | null;
  const type = typeof message === 'object' && message !== null ? message.t : undefined;
  const schema = typeof type === 'string' && Object.hasOwn(schemas, type) ? schemas[type] : undefined;
  if (message === null || schema === undefined) throw new Error(`unknown control message ${direction}: ${JSON.stringify(type)}`);
  for (const [field, kind] of Object.entries(schema)) {
    if (!fits(message[field], kind)) throw new Error(`malformed control message ${direction}: ${String(type)}.${field} is not ${kind}`);
  }
  return message as T;
}

/** Decodes and checks a message for a worker; throws on bytes that are not one. */
export function decodeToWorker(raw: unknown): ToWorker {
  return decode<ToWorker>(raw, TO_WORKER, 'to a worker');
}

/** Decodes and checks a message for the supervisor; throws on bytes that are not one. */
export function decodeToSupervisor(raw: unknown): ToSupervisor {
  return decode<ToSupervisor>(raw, TO_SUPERVISOR, 'to the supervisor');
}
