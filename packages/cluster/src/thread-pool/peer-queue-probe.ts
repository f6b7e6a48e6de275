import type { QueueDelaySource } from '@switchboard/core';

/** A probe older than this (ms) is a clock oddity or a thread that stood still: ignored. */
const MAX_DELAY_MS = 60_000;

/**
 * The queue delay of a thread-pool thread's inbox (`--overload on`): what the UDP queue probe is to
 * a socket's receive queue, for the messages other threads post to this one (calls handed over,
 * writes on its connections). At each of its samples the thread posts a probe carrying the send
 * time to every peer (`post`); a peer reads it behind whatever was posted before it (`take`), so
 * its delay is how long work handed to that thread waits. A thread that reads a trunk and keeps up
 * hands half its calls to the others, whose backlog only their inbox shows.
 *
 * The sample is the smallest delay of the probes read since the last one (as UdpQueueProbe); none
 * read is `null` (no news); with no peers at all (one thread), `undefined`: nothing is measured.
 */
export class PeerQueueProbe implements QueueDelaySource {
  readonly #post: (sentMs: number) => number;
  readonly #clock: () => number;
  #minMs = -1;
  #read = 0;

  /**
   * `post` sends a probe stamped `sentMs` to every peer and says to how many; `clock` is a
   * monotonic clock in ms shared by the threads of a process (the default: process.hrtime).
   */
  constructor(post: (sentMs: number) => number, clock: () => number = hrtimeMs) {
    this.#post = post;
    this.#clock = clock;
  }

  /** Probes read so far. */
  get probesRead(): number {
    return this.#read;
  }

  /** A peer's probe, stamped `sentMs`, was read here. */
  take(sentMs: number): void {
    const delay = this.#clock() - sentMs;
    if (!(delay >= 0 && delay <= MAX_DELAY_MS)) return;
    this.#read++;
    if (this.#minMs < 0 || delay < this.#minMs) this.#minMs = delay;
  }

  sampleDelayMs(): number | null | undefined {
    const delay = this.#minMs < 0 ? null : this.#minMs;
    this.#minMs = -1;
    let peers = 0;
    try {
      peers = this.#post(this.#clock());
    } catch {
      // A probe that cannot be posted is one not read: the next sample says so.
    }
    return peers === 0 && delay === null ? undefined : delay;
  }
}

function hrtimeMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
