import { branchOwner, routedByOurRecordRoute, type TransportAddress } from '@switchboard/core';
import type { SipMessage } from '@switchboard/sip';

/** The branch tag of worker `slot` (ProxyCoreOptions.branchTag; the owner in core's branch-id codec). */
export function workerTag(slot: number): string {
  return `w${slot}`;
}

/** The worker slot a branch tag names (the inverse of workerTag), or undefined for any other tag. */
export function workerSlot(tag: string | undefined): number | undefined {
  if (tag === undefined || tag.length < 2 || tag.charCodeAt(0) !== 0x77 /* w */) return undefined;
  let slot = 0;
  for (let i = 1; i < tag.length; i++) {
    const digit = tag.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return undefined;
    slot = slot * 10 + digit;
  }
  return slot;
}

/**
 * Which worker must handle a message when transactions live in the worker that made them:
 * a response goes to the worker whose tag is the owner of its top Via branch (read with core's
 * branch-id codec); a request over UDP (which any worker may read) to a worker chosen by its
 * Call-ID, so retransmissions, CANCEL and ACK meet their transaction; a request on a connection
 * stays with the worker reading it, and so does the ACK of a 2xx (it carries our Record-Route and
 * belongs to no transaction): forwarding it where it was read keeps it ahead of the BYE a caller
 * sends right after it. Undefined means "here".
 */
export function ownerSlot(message: SipMessage, source: TransportAddress, workers: number): number | undefined {
  if (!message.isRequest) {
    const slot = workerSlot(branchOwner(message.topVia?.branch ?? ''));
    return slot !== undefined && slot < workers ? slot : undefined;
  }
  if (source.protocol !== 'udp') return undefined;
  if (message.method === 'ACK' && routedByOurRecordRoute(message)) return undefined;
  return callIdHash(message.callId ?? '') % workers;
}

/** FNV-1a over the Call-ID: cheap, and the same in every worker. */
export function callIdHash(callId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < callId.length; i++) {
    hash ^= callId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
