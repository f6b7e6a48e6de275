import type { SipMessage } from '@switchboard/sip';
import { MESSAGE_KINDS, messageKind, type MessageKind } from './message-kind.js';
import { ServiceHistogram, type ServiceHistogramSnapshot } from './service-histogram.js';

/**
 * One message's way through the proxy, for the trace: times in microseconds after `read`
 * (performance.now, monotonic), and `wallMs` (performance.timeOrigin + read) to line it up with a
 * packet capture.
 */
export interface MessageTrace {
  readonly kind: MessageKind;
  readonly callId: string;
  readonly cseq: number;
  /** The CSeq method, and the status of a response (0 for a request). */
  readonly method: string;
  readonly status: number;
  readonly wallMs: number;
  readonly parsedUs: number;
  /** Each routing step's name and the time it ended. */
  readonly steps: ReadonlyArray<readonly [string, number]>;
  /** The time each send was started. */
  readonly sends: readonly number[];
  /** When the message's work was over, its datagrams handed to the kernel: the service time. */
  readonly serviceUs: number;
}

/** Where sampled traces go (a file the CLI opens); it must not throw. */
export type TraceSink = (trace: MessageTrace) => void;

export interface MessageTimingOptions {
  /** Share of calls traced (0 to 1), chosen by a hash of the Call-ID so a call is traced whole. */
  readonly sampleRatio?: number;
  readonly sink?: TraceSink;
  /** The clock (default performance.now), for tests. */
  readonly now?: () => number;
  /** Runs a function once the current callback's queued work has run (default process.nextTick). */
  readonly afterSends?: (done: () => void) => void;
}

/** The message being processed now. */
class OpenMessage {
  readonly read: number;
  message: SipMessage | undefined;
  parsed = 0;
  steps: Array<[string, number]> | undefined;
  sends: number[] | undefined;
  constructor(read: number) {
    this.read = read;
  }
}

/** What the recorder has seen, per message kind. */
export interface MessageTimingSnapshot {
  readonly serviceTime: Readonly<Record<MessageKind, ServiceHistogramSnapshot>>;
  readonly traced: number;
  /** Sends made while no message was being processed (after a step that awaited a store). */
  readonly unattributedSends: number;
}

/**
 * Per-message timing (`--timing`): the core calls `read` as a message arrives, `parsed` once it is
 * parsed, `step` after each routing step and `send` before each send; the message's service time
 * ends when the work queued by its sends (dgram's send runs on the next tick) is done. The core
 * holds a recorder or undefined, so timing off costs one branch per message.
 */
export class MessageTimingRecorder {
  readonly #histograms = new Map<MessageKind, ServiceHistogram>(MESSAGE_KINDS.map((kind) => [kind, new ServiceHistogram()]));
  readonly #now: () => number;
  readonly #afterSends: (done: () => void) => void;
  readonly #sink: TraceSink | undefined;
  readonly #threshold: number;
  #current: OpenMessage | undefined;
  #traced = 0;
  #unattributedSends = 0;

  constructor(options: MessageTimingOptions = {}) {
    this.#now = options.now ?? (() => performance.now());
    this.#afterSends = options.afterSends ?? ((done) => process.nextTick(done));
    this.#sink = options.sink;
    const ratio = Math.min(1, Math.max(0, options.sampleRatio ?? 0));
    this.#threshold = Math.round(ratio * 0x10000);
  }

  /** A message was read; `process` handles it synchronously, then its service time is taken. */
  measure(process: () => void): void {
    const open = new OpenMessage(this.#now());
    this.#current = open;
    try {
      process();
    } finally {
      this.#current = undefined;
      this.#afterSends(() => this.#finish(open));
    }
  }

  parsed(message: SipMessage): void {
    const open = this.#current;
    if (open === undefined) return;
    open.message = message;
    open.parsed = this.#now();
  }

  step(name: string): void {
    const open = this.#current;
    if (open === undefined || this.#sink === undefined) return;
    (open.steps ??= []).push([name, this.#now()]);
  }

  send(): void {
    const open = this.#current;
    if (open === undefined) {
      this.#unattributedSends++;
      return;
    }
    if (this.#sink !== undefined) (open.sends ??= []).push(this.#now());
  }

  snapshot(): MessageTimingSnapshot {
    const serviceTime = Object.fromEntries([...this.#histograms].map(([kind, histogram]) => [kind, histogram.snapshot()])) as Record<MessageKind, ServiceHistogramSnapshot>;
    return { serviceTime, traced: this.#traced, unattributedSends: this.#unattributedSends };
  }

  #finish(open: OpenMessage): void {
    const end = this.#now();
    const message = open.message;
    // Unparsable input is no call message: not timed.
    if (message === undefined) return;
    const kind = messageKind(message);
    (this.#histograms.get(kind) as ServiceHistogram).observe(end - open.read);
    const sink = this.#sink;
    if (sink === undefined || message.callId === undefined || callIdHash(message.callId) >= this.#threshold) return;
    const us = (t: number): number => Math.round((t - open.read) * 10_000) / 10;
    this.#traced++;
    sink({
      kind,
      callId: message.callId,
      cseq: message.cseq?.seq ?? -1,
      method: message.cseq?.method ?? '',
      status: message.status ?? 0,
      wallMs: performance.timeOrigin + open.read,
      parsedUs: us(open.parsed),
      steps: (open.steps ?? []).map(([name, t]) => [name, us(t)] as const),
      sends: (open.sends ?? []).map(us),
      serviceUs: us(end),
    });
  }
}

/** FNV-1a of a Call-ID, folded to 16 bits: the same call is always in or out of the sample. */
export function callIdHash(callId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < callId.length; i++) {
    hash ^= callId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return ((hash >>> 16) ^ hash) & 0xffff;
}
