import { BRANCH_ID_PREFIX, branchOwner } from '@switchboard/core';
import { workerSlot } from '../message-owner.js';

const STATUS_LINE = Buffer.from('SIP/2.0 ');
const OUR_BRANCH = Buffer.from(BRANCH_ID_PREFIX);
/** Bytes that end a branch value: ; , > space tab CR LF. */
const ENDS = new Set([0x3b, 0x2c, 0x3e, 0x20, 0x09, 0x0d, 0x0a]);
/** Longest branch read (ours are ~40 bytes). */
const MAX_BRANCH = 128;

/**
 * The worker slot written into the branch of a response's top Via, read from the raw bytes without
 * a parse: the first branch of ours in a response is in its top Via (a response reaching us
 * carries our Via on top). Undefined for requests and for responses with no tagged branch of ours.
 * A hostile response that fools it only reaches the wrong worker, which hands it to the right one
 * after its parse (or drops it), so this is a shortcut, never a rule.
 */
export function responseOwnerSlot(bytes: Uint8Array): number | undefined {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < STATUS_LINE.length || buffer.compare(STATUS_LINE, 0, STATUS_LINE.length, 0, STATUS_LINE.length) !== 0) return undefined;
  const start = buffer.indexOf(OUR_BRANCH);
  if (start < 0) return undefined;
  let end = start + OUR_BRANCH.length;
  const limit = Math.min(buffer.length, start + MAX_BRANCH);
  while (end < limit && !ENDS.has(buffer[end] as number)) end++;
  return workerSlot(branchOwner(buffer.toString('latin1', start, end)));
}
