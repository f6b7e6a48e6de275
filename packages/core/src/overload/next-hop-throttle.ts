import type { TransportAddress } from '../transport-address.js';
import type { OcAnnouncement } from './oc-params.js';

/** Next hops remembered at most (the oldest is forgotten first). */
const MAX_NEXT_HOPS = 1024;

interface Entry {
  readonly reduction: number;
  readonly untilMs: number;
  readonly seq: number;
}

/**
 * RFC 7339 as a client: the `oc` values next hops announced (per transport, address and port),
 * each until its oc-validity runs out, and the loss algorithm's draw (§6.1.2: shed a request with
 * probability oc/100). Only new work is ever asked about.
 */
export class NextHopThrottle {
  readonly #entries = new Map<string, Entry>();
  readonly #random: () => number;

  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  /** Next hops under an announcement now (expired ones are forgotten as they are met). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Takes a server's announcement: a newer oc-seq (or any, once the last has expired) replaces
   * the last; oc-validity 0 or oc 0 ends it. True when it was applied.
   */
  observe(target: TransportAddress, announcement: OcAnnouncement, nowMs: number): boolean {
    const key = keyOf(target);
    const last = this.#entries.get(key);
    if (last !== undefined && last.untilMs > nowMs && announcement.seq < last.seq) return false;
    this.#entries.delete(key);
    if (announcement.validityMs === 0 || announcement.reduction === 0) return true;
    if (this.#entries.size >= MAX_NEXT_HOPS) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(key, { reduction: announcement.reduction, untilMs: nowMs + announcement.validityMs, seq: announcement.seq });
    return true;
  }

  /** True when new work for `target` is to be shed here (the loss algorithm's draw). */
  shouldShed(target: TransportAddress, nowMs: number): boolean {
    if (this.#entries.size === 0) return false;
    const key = keyOf(target);
    const entry = this.#entries.get(key);
    if (entry === undefined) return false;
    if (entry.untilMs <= nowMs) {
      this.#entries.delete(key);
      return false;
    }
    return this.#random() * 100 < entry.reduction;
  }
}

function keyOf(target: TransportAddress): string {
  return `${target.protocol}:${target.address}:${target.port}`;
}
