import { inShedFraction } from './message-class.js';

/**
 * Decisions remembered per generation; two generations are kept (both full: about 4.6 MB of heap,
 * experiments/bench-overload-2026-12-05b/gate-memory.mjs).
 */
const REMEMBERED = 65_536;
/**
 * How long a client transaction over UDP lives: 64·T1 = 32 s (Timers B and F), retransmitting
 * its request at 0.5, 1.5, 3.5, 7.5, 15.5 and 31.5 s. A refusal matters no longer than this.
 */
export const REFUSAL_MEMORY_MS = 32_000;
/**
 * A generation is retired after this long, so a decision is remembered for 32 to 64 s, the whole
 * life of its transaction (less when more than REMEMBERED decisions come in one generation).
 */
const GENERATION_MS = REFUSAL_MEMORY_MS;
/** The bucket holds at most this many seconds of the rate (a burst of new work within it passes). */
const BURST_SECONDS = 0.1;

/**
 * The per-request decision while a worker limits new work: a token bucket filled at the
 * admitted rate (AdmissionRate), so that exactly that many new requests a second go on however
 * noisy the offered load is; before a rate is measured, the Call-ID hash against the shed share.
 * A retransmission meets its original's decision (remembered by Call-ID and CSeq hash for the
 * life of its client transaction, 32 s; bounded): a retransmitted INVITE of an admitted call
 * is not refused while the call proceeds, and one of a refused call is refused again, even after
 * the overload (`refusedEarlier`). Why that long: a UDP client retransmits a dropped request
 * until Timer B (32 s), and with 2 to 4 s of memory the retransmissions of the requests refused
 * during an overload came back after it as new work, admitted as stale calls (set up 7.5 or
 * 15.5 s after their first INVITE) in the place of fresh ones: in the calls bench the event-loop
 * took 6 s to serve 90% of fresh calls again after 4x and 8x over UDP
 * (experiments/bench-overload-2026-12-05b). The next request of a Call-ID (a new
 * CSeq) gets a decision of its own: a phone that waited out a 503's Retry-After is not refused
 * for its earlier request, and one whose REGISTER went on cannot send more past the bucket (as
 * remembering by Call-ID alone let it for 2 to 4 s). An authentication round's second request is
 * a new decision too: under overload, some challenged requests are refused on their second try.
 */
export class AdmissionGate {
  #tokens = 0;
  #lastMs: number | undefined;
  #current = new Map<number, boolean>();
  #previous = new Map<number, boolean>();
  #generationStart = 0;
  #lastRefusalMs: number | undefined;
  #lastRemembered = false;

  /** Whether the last `admit` met a remembered decision (a UDP retransmission). */
  get lastRemembered(): boolean {
    return this.#lastRemembered;
  }

  /**
   * Whether the new request with these Call-ID and CSeq hashes (message-class.ts) goes on (`rate`
   * in requests per second). With `remember` false (a request over TCP or TLS, which is never
   * retransmitted), the decision is neither looked up nor kept.
   */
  admit(callIdHash: number, cseqHash: number, rate: number | undefined, reduction: number, nowMs: number, remember = true): boolean {
    this.#retireOld(nowMs);
    const transaction = transactionKey(callIdHash, cseqHash);
    const known = remember ? (this.#current.get(transaction) ?? this.#previous.get(transaction)) : undefined;
    this.#lastRemembered = known !== undefined;
    if (known !== undefined) return known;
    let admitted: boolean;
    if (rate === undefined) {
      admitted = !inShedFraction(callIdHash, reduction);
    } else {
      // The bucket starts empty when a rate is first set.
      const elapsed = nowMs - (this.#lastMs ?? nowMs);
      if (elapsed > 0) this.#tokens = Math.min(Math.max(1, rate * BURST_SECONDS), this.#tokens + (elapsed * rate) / 1000);
      this.#lastMs = nowMs;
      admitted = this.#tokens >= 1;
      if (admitted) this.#tokens -= 1;
    }
    if (remember) {
      this.#current.set(transaction, admitted);
      if (!admitted) this.#lastRefusalMs = nowMs;
    }
    return admitted;
  }

  /** Whether the request with these hashes was refused and that is still remembered (nothing is decided). */
  refusedEarlier(callIdHash: number, cseqHash: number, nowMs: number): boolean {
    this.#retireOld(nowMs);
    const transaction = transactionKey(callIdHash, cseqHash);
    return (this.#current.get(transaction) ?? this.#previous.get(transaction)) === false;
  }

  /** Whether a refusal may still be remembered at `nowMs` (one was made within REFUSAL_MEMORY_MS). */
  holdsRefusals(nowMs: number): boolean {
    return this.#lastRefusalMs !== undefined && nowMs - this.#lastRefusalMs < REFUSAL_MEMORY_MS;
  }

  #retireOld(nowMs: number): void {
    const age = nowMs - this.#generationStart;
    if (age < GENERATION_MS && this.#current.size < REMEMBERED) return;
    // After two generations' time with no decision, the current one is as old as a retired one.
    this.#previous = age >= 2 * GENERATION_MS ? new Map() : this.#current;
    this.#current = new Map();
    this.#generationStart = nowMs;
  }
}

/** One number for a Call-ID and CSeq pair (a collision only shares a decision). */
function transactionKey(callIdHash: number, cseqHash: number): number {
  return (Math.imul(callIdHash, 0x9e3779b1) ^ cseqHash) >>> 0;
}
