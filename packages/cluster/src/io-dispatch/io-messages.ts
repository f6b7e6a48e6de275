import { Packr } from 'msgpackr';
import type { StreamProtocol, TransportAddress } from '@switchboard/core';
import type { InternalErrorRecord } from '../internal-error-reports.js';
import type { WorkerStats } from '../worker-stats.js';

/**
 * Messages between io-dispatch's I/O process and its workers, encoded with msgpackr and sent as
 * frames on each worker's byte stream (the process-pool's socketpair; no handle ever rides with
 * one). The I/O process owns every socket: it sends each framed SIP message to a worker, and the
 * worker sends back the bytes to write and where.
 */
export type ToIoWorker =
  /** A SIP message the I/O process read (`source.connectionId`: the connection it came on). */
  | { readonly t: 'message'; readonly bytes: Uint8Array; readonly source: TransportAddress }
  /** A message another worker read that belongs to a transaction here (a hand-off). */
  | { readonly t: 'deliver'; readonly bytes: Uint8Array; readonly source: TransportAddress }
  /** The send with this ticket failed (a bad port, a refused or reset connection, a closed one). */
  | { readonly t: 'send-failed'; readonly ticket: number; readonly message: string }
  | { readonly t: 'stats-request'; readonly request: number }
  /** The worker with this lease owner id died; take its transactions over now. */
  | { readonly t: 'worker-died'; readonly owner: string }
  | { readonly t: 'stop' };

export type ToIoProcess =
  /** `owner`: the worker's lease owner id, for the death notice (checked by the pool). */
  | { readonly t: 'ready'; readonly owner?: string }
  | { readonly t: 'start-failed'; readonly error: { readonly code: string; readonly message: string } }
  | { readonly t: 'stats'; readonly request: number; readonly stats: WorkerStats }
  | { readonly t: 'internal-error'; readonly error: InternalErrorRecord }
  /** `count` more messages (and deliveries) handled since the last `done`: they are no longer outstanding. */
  | { readonly t: 'done'; readonly count: number }
  /**
   * Write `bytes` to `target`: on its connection (`connectionId`), over UDP, or on a connection to
   * its address (opened if none). `ticket` (not 0) asks to hear of a failure as `send-failed`.
   */
  | { readonly t: 'send'; readonly target: TransportAddress; readonly bytes: Uint8Array; readonly ticket: number }
  /** `host:port` is another name of connection `id` (a Via sent-by), so requests there reuse it. */
  | { readonly t: 'alias'; readonly protocol: StreamProtocol; readonly id: number; readonly host: string; readonly port: number }
  /** Pass `bytes` to worker `to`, which holds its transaction. */
  | { readonly t: 'hand-off'; readonly to: number; readonly bytes: Uint8Array; readonly source: TransportAddress };

const packr = new Packr({ useRecords: false, moreTypes: false });

export function encodeIoMessage(message: ToIoWorker | ToIoProcess): Uint8Array {
  return packr.pack(message);
}

type FieldKind = 'number' | 'string' | 'bytes' | 'address' | 'protocol' | 'object';

const TO_WORKER: Record<ToIoWorker['t'], Record<string, FieldKind>> = {
  message: { bytes: 'bytes', source: 'address' },
  deliver: { bytes: 'bytes', source: 'address' },
  'send-failed': { ticket: 'number', message: 'string' },
  'stats-request': { request: 'number' },
  'worker-died': { owner: 'string' },
  stop: {},
};

const TO_PROCESS: Record<ToIoProcess['t'], Record<string, FieldKind>> = {
  ready: {},
  'start-failed': { error: 'object' },
  stats: { request: 'number', stats: 'object' },
  'internal-error': { error: 'object' },
  done: { count: 'number' },
  send: { target: 'address', bytes: 'bytes', ticket: 'number' },
  alias: { protocol: 'protocol', id: 'number', host: 'string', port: 'number' },
  'hand-off': { to: 'number', bytes: 'bytes', source: 'address' },
};

/** A TransportAddress as it crossed the stream: a protocol, an address, a port, maybe a connection id. */
function isAddress(value: unknown): value is TransportAddress {
  if (typeof value !== 'object' || value === null) return false;
  const address = value as Record<string, unknown>;
  const id = address.connectionId;
  return (
    (address.protocol === 'udp' || address.protocol === 'tcp' || address.protocol === 'tls') &&
    typeof address.address === 'string' &&
    Number.isInteger(address.port) &&
    (id === undefined || id === null || Number.isFinite(id))
  );
}

function fits(value: unknown, kind: FieldKind): boolean {
  switch (kind) {
    case 'number':
      return Number.isFinite(value);
    case 'string':
      return typeof value === 'string';
    case 'bytes':
      return value instanceof Uint8Array;
    case 'address':
      return isAddress(value);
    case 'protocol':
      return value === 'tcp' || value === 'tls';
    case 'object':
      return typeof value === 'object' && value !== null;
  }
}

function decode<T>(raw: unknown, schemas: Record<string, Record<string, FieldKind>>, direction: string): T {
  if (!(raw instanceof Uint8Array)) throw new Error(`io-dispatch message ${direction} is not bytes`);
  const message = packr.unpack(raw) as Record<string, unknown> | null;
  const type = typeof message === 'object' && message !== null ? message.t : undefined;
  const schema = typeof type === 'string' && Object.hasOwn(schemas, type) ? schemas[type] : undefined;
  if (message === null || schema === undefined) throw new Error(`unknown io-dispatch message ${direction}: ${JSON.stringify(type)}`);
  for (const [field, kind] of Object.entries(schema)) {
    if (!fits(message[field], kind)) throw new Error(`malformed io-dispatch message ${direction}: ${String(type)}.${field} is not ${kind}`);
  }
  // msgpackr gives null for a connection id that was undefined: put it back as absent.
  for (const field of ['source', 'target']) {
    const address = message[field] as { connectionId?: unknown } | undefined;
    if (address !== undefined && address.connectionId === null) delete address.connectionId;
  }
  return message as T;
}

/** Decodes and checks a message for a worker; throws on bytes that are not one. */
export function decodeToIoWorker(raw: unknown): ToIoWorker {
  return decode<ToIoWorker>(raw, TO_WORKER, 'to a worker');
}

/** Decodes and checks a message for the I/O process; throws on bytes that are not one. */
export function decodeToIoProcess(raw: unknown): ToIoProcess {
  return decode<ToIoProcess>(raw, TO_PROCESS, 'to the I/O process');
}
