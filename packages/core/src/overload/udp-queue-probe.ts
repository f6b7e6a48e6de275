import { randomBytes } from 'node:crypto';

/** Where a sample's queue delay comes from (the detector asks once per sample). */
export interface QueueDelaySource {
  /**
   * The queue delay seen since the last call, in ms: a number, `null` when nothing was measured
   * this time (hold), or `undefined` when this source measures nothing at all (no UDP socket).
   */
  sampleDelayMs(): number | null | undefined;
}

/**
 * "SBQP", the token (8 bytes), the sender (4 bytes, drawn per probe object) and the send time
 * (CLOCK_MONOTONIC, ns, 8 bytes).
 */
const MAGIC = Buffer.from('SBQP', 'latin1');
const TOKEN_BYTES = 8;
const SENDER_AT = MAGIC.length + TOKEN_BYTES;
const TIME_AT = SENDER_AT + 4;
export const PROBE_LENGTH = TIME_AT + 8;
/** A delay above this is not a queue (a clock or a replay): ignored. */
const MAX_DELAY_NS = 60_000_000_000n;
/**
 * With no probe read since one of ours was sent, its age counts as the delay once it passes this
 * many sample intervals (the queue is standing, or full and the probe was dropped), as long as
 * no other reader's probe was ever read here: where workers share one socket (the
 * process-pool's) an idle worker reads the probes of a busy one, whose unread probe then says
 * nothing about the queue (suspected, not traced, of the process-pool's overloads during
 * warm-ups up to 0.6x in 2026-12-05f: with this rule they shed 0–205 requests a point instead
 * of 32–1,361, one round each).
 */
const UNREAD_SAMPLES = 3;

/**
 * How long a datagram waits in the UDP socket's receive queue before the worker reads it: the
 * queue delay that tells a backlog (work waiting longer and longer, CoDel's standing queue) from
 * a loop that is merely busy. Once a sample (the overload detector's interval) the worker sends a
 * 24-byte probe to its own socket; the probe waits behind whatever is queued, and when it is read
 * (`take`, the first check every datagram meets: one length comparison for anything else) its
 * age is the delay. Why not the event loop's utilization: under a CPU quota, and on machines whose
 * cost per message falls as messages come in batches, the loop is busy nearly all the time at
 * loads it carries (the process-pool on 0.15 core spent its whole quota at 25 calls/s and still
 * held 233), so utilization reads overload long before there is any. What does not fit the
 * bounded queue (OVERLOAD_UDP_RECEIVE_BUFFER_BYTES) is dropped by the kernel, probes included,
 * which the age of an unread probe shows.
 *
 * The token keeps peers from feeding delays: a datagram that looks like a probe but carries
 * another token goes on as any datagram would. In the process-pool the workers share one socket
 * and one token (OverloadSettings.queueProbeToken), so a probe read by any of them counts.
 */
export class UdpQueueProbe implements QueueDelaySource {
  readonly #token: Buffer;
  readonly #intervalMs: number;
  #send: ((bytes: Buffer) => void) | undefined;
  /** Smallest delay of the probes read since the last sample, ns; -1 when none was. */
  #minReadNs = -1n;
  /** When the oldest probe of ours sent since the last probe read went out, ns; -1 when none. */
  #unreadSinceNs = -1n;
  #read = 0;
  readonly #sender = randomBytes(4);
  /** A probe of another reader of the same socket was read: an unread probe of ours says nothing. */
  #shared = false;

  /** `token`: 16 hex digits shared by every reader of the socket; a random one when omitted. */
  constructor(intervalMs: number, token?: string) {
    this.#intervalMs = intervalMs;
    this.#token = token !== undefined && /^[0-9a-f]{16}$/i.test(token) ? Buffer.from(token, 'hex') : randomBytes(TOKEN_BYTES);
  }

  /** Whether a probe of another reader of this socket was read here (the socket is shared). */
  get shared(): boolean {
    return this.#shared;
  }

  /** Probes read so far (by this reader). */
  get probesRead(): number {
    return this.#read;
  }

  /** Called by the socket once bound: how to send a datagram to itself. Never throws. */
  attach(send: (bytes: Buffer) => void): void {
    this.#send = send;
  }

  detach(): void {
    this.#send = undefined;
  }

  /** Whether `bytes` is one of our probes (then it is consumed here and its delay noted). */
  take(bytes: Buffer): boolean {
    if (bytes.length !== PROBE_LENGTH) return false;
    if (bytes.compare(MAGIC, 0, MAGIC.length, 0, MAGIC.length) !== 0) return false;
    if (bytes.compare(this.#token, 0, TOKEN_BYTES, MAGIC.length, MAGIC.length + TOKEN_BYTES) !== 0) return false;
    const delay = process.hrtime.bigint() - bytes.readBigUInt64BE(TIME_AT);
    if (delay < 0n || delay > MAX_DELAY_NS) return true;
    if (!this.#shared && bytes.compare(this.#sender, 0, 4, SENDER_AT, TIME_AT) !== 0) this.#shared = true;
    this.#read++;
    if (this.#minReadNs < 0n || delay < this.#minReadNs) this.#minReadNs = delay;
    this.#unreadSinceNs = -1n;
    return true;
  }

  sampleDelayMs(): number | null | undefined {
    if (this.#send === undefined) return undefined;
    const now = process.hrtime.bigint();
    let delayMs: number | null = null;
    if (this.#minReadNs >= 0n) delayMs = Number(this.#minReadNs) / 1e6;
    else if (this.#unreadSinceNs >= 0n && !this.#shared) {
      const ageMs = Number(now - this.#unreadSinceNs) / 1e6;
      if (ageMs >= UNREAD_SAMPLES * this.#intervalMs) delayMs = ageMs;
    }
    this.#minReadNs = -1n;
    this.#sendProbe(now);
    return delayMs;
  }

  #sendProbe(now: bigint): void {
    const probe = Buffer.allocUnsafe(PROBE_LENGTH);
    MAGIC.copy(probe, 0);
    this.#token.copy(probe, MAGIC.length);
    this.#sender.copy(probe, SENDER_AT);
    probe.writeBigUInt64BE(now, TIME_AT);
    if (this.#unreadSinceNs < 0n) this.#unreadSinceNs = now;
    try {
      this.#send?.(probe);
    } catch {
      // A probe that cannot be sent is a probe not read: its age tells.
    }
  }
}
