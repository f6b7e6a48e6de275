import type { SipMessage, Via } from '@switchboard/sip';

/**
 * The branch ids this proxy writes into its Via (RFC 3261 §16.6 step 8), the one place their wire
 * form is made and read:
 *
 * - stateful: `z9hG4bK-sb-<loop hash>-<sequence>`, or `z9hG4bK-sb-<loop hash>-<owner>.<sequence>`
 *   when the core has a `branchTag` (the owner), so a model that spreads transactions over
 *   workers hands each response to the worker that holds its client transaction;
 * - stateless: `z9hG4bK-sb-<loop hash>-s<request hash>`, the same for a retransmission and for
 *   the CANCEL of an INVITE (§16.11).
 *
 * The loop hash (§16.3 step 4, §16.6 step 8) lets a proxy that sees its own Via again tell a loop
 * from a spiral. Hashes and sequences are base 36; owners are letters and digits.
 */
export const BRANCH_ID_PREFIX = 'z9hG4bK-sb-';

export interface BranchId {
  readonly loopHash: string;
  /** The owner tag of a tagged stateful branch; undefined for untagged and stateless ones. */
  readonly owner: string | undefined;
  /**
   * What follows the owner (or the loop hash): the sequence of a stateful branch, or `s` and the
   * request hash of a stateless one. An untagged sequence may itself start with `s`: the two
   * kinds are not told apart on the wire, and nothing needs to.
   */
  readonly suffix: string;
}

/** A stateful branch: `sequence` is a per-core counter, `owner` the core's branch tag if any. */
export function formatBranchId(loopHash: string, owner: string | undefined, sequence: number): string {
  const counter = sequence.toString(36);
  return owner === undefined ? `${BRANCH_ID_PREFIX}${loopHash}-${counter}` : `${BRANCH_ID_PREFIX}${loopHash}-${owner}.${counter}`;
}

/** A stateless branch (§16.11): derived from the request alone, see `statelessHash`. */
export function formatStatelessBranchId(loopHash: string, requestHash: string): string {
  return `${BRANCH_ID_PREFIX}${loopHash}-s${requestHash}`;
}

/** The parts of one of our branch ids, or undefined for any other branch. */
export function parseBranchId(branch: string): BranchId | undefined {
  if (!branch.startsWith(BRANCH_ID_PREFIX)) return undefined;
  const dash = branch.indexOf('-', BRANCH_ID_PREFIX.length);
  if (dash < 0) return undefined;
  const dot = branch.indexOf('.', dash + 1);
  return {
    loopHash: branch.slice(BRANCH_ID_PREFIX.length, dash),
    owner: dot < 0 ? undefined : branch.slice(dash + 1, dot),
    suffix: branch.slice(dot < 0 ? dash + 1 : dot + 1),
  };
}

/**
 * The tag a core with `branchTag` wrote into one of its branches, or undefined for branches of
 * other hops, stateless branches and untagged cores. `parseBranchId(branch)?.owner` without the
 * object: this runs for every response in the pooled models.
 */
export function branchOwner(branch: string): string | undefined {
  if (!branch.startsWith(BRANCH_ID_PREFIX)) return undefined;
  const dash = branch.indexOf('-', BRANCH_ID_PREFIX.length);
  if (dash < 0) return undefined;
  const dot = branch.indexOf('.', dash + 1);
  return dot < 0 ? undefined : branch.slice(dash + 1, dot);
}

/** Whether `branch` is one of ours carrying `loopHash` (loop detection, §16.3 step 4). */
export function hasLoopHash(branch: string, loopHash: string): boolean {
  return (
    branch.startsWith(BRANCH_ID_PREFIX) &&
    branch.startsWith(loopHash, BRANCH_ID_PREFIX.length) &&
    branch.charCodeAt(BRANCH_ID_PREFIX.length + loopHash.length) === 0x2d /* - */
  );
}

/**
 * The loop-detection hash of §16.6 step 8 over the fields that identify the request as it
 * arrived (To tag, From tag, Call-ID, CSeq number, Request-URI, the Via that was on top,
 * Proxy-Require): the same request coming back unchanged is a loop; one that changed on the way
 * (a new Request-URI) is a spiral.
 */
export function loopHash(request: SipMessage, topVia: Via | undefined): string {
  // fnv1a of the fields joined by `|`, hashed one after the other rather than joined first.
  let hash = fnv1a(FNV_OFFSET, request.toTag ?? '');
  hash = fnv1a(fnv1a(hash, '|'), request.fromTag ?? '');
  hash = fnv1a(fnv1a(hash, '|'), request.callId ?? '');
  hash = fnv1a(fnv1a(hash, '|'), request.cseq === undefined ? '' : String(request.cseq.seq));
  hash = fnv1a(fnv1a(hash, '|'), request.requestUriText ?? '');
  hash = fnv1a(fnv1a(hash, '|'), topVia?.branch ?? '');
  hash = fnv1a(fnv1a(hash, '|'), request.header('proxy-require') ?? '');
  return hash.toString(36);
}

/** The request hash of a stateless branch: the same for retransmissions and for the CANCEL of an INVITE (§16.11). */
export function statelessHash(request: SipMessage): string {
  const via = request.topVia;
  let hash = fnv1a(FNV_OFFSET, via?.branch ?? '');
  hash = fnv1a(fnv1a(hash, '|'), via?.host ?? '');
  hash = fnv1a(fnv1a(hash, '|'), via?.port === undefined ? '' : String(via.port));
  hash = fnv1a(fnv1a(hash, '|'), request.callId ?? '');
  hash = fnv1a(fnv1a(hash, '|'), request.cseq === undefined ? '' : String(request.cseq.seq));
  return hash.toString(36);
}

const FNV_OFFSET = 0x811c9dc5;

/** 32-bit FNV-1a of the UTF-16 code units of `text`, continuing from `hash`. */
function fnv1a(hash: number, text: string): number {
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}
