import { inShedFraction } from './message-class.js';

/** Decisions remembered per generation; two generations are kept. */
const REMEMBERED = 4096;
/** A generation is retired after this long, so a decision is remembered for 2 to 4 s. */
const GENERATION_MS = 2000;
/** The bucket holds at most this many seconds of the rate (a burst of new work within it passes). */
const BURST_SECONDS = 0.1;

/**
 * The per-request decision while a worker limits new work: a token bucket filled at the
 * admitted rate (AdmissionRate), so that exactly that many new requests a second go on however
 * noisy the offered load is; before a rate is measured, the Call-ID hash against the shed share.
 * A retransmission meets its original's decision (remembered by Call-ID and CSeq hash for 2 to
 * 4 s, bounded): a retransmitted INVITE of an admitted call is not refused while the call
 * proceeds, and one of a refused call is refused again. The next request of a Call-ID (a new
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

  /**
   * Whether the new request with these Call-ID and CSeq hashes (message-class.ts) goes on (`rate`
   * in requests per second). With `remember` false (a request over TCP or TLS, which is never
   * retransmitted), the decision is neither looked up nor kept.
   */
  admit(callIdHash: number, cseqHash: number, rate: number | undefined, reduction: number, nowMs: number, remember = true): boolean {
    if (nowMs - this.#generationStart >= GENERATION_MS || this.#current.size >= REMEMBERED) {
      this.#previous = this.#current;
      this.#current = new Map();
      this.#generationStart = nowMs;
    }
    const transaction = transactionKey(callIdHash, cseqHash);
    const known = remember ? (this.#current.get(transaction) ?? this.#previous.get(transaction)) : undefined;
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
    if (remember) this.#current.set(transaction, admitted);
    return admitted;
  }
}

/** One number for a Call-ID and CSeq pair (a collision only shares a decision). */
function transactionKey(callIdHash: number, cseqHash: number): number {
  return (Math.imul(callIdHash, 0x9e3779b1) ^ cseqHash) >>> 0;
}
