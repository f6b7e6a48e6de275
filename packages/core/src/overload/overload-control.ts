import { randomBytes } from 'node:crypto';
import type { SipMessage } from '@switchboard/sip';
import { ADDED_BYTES } from '../proxy/generated-response.js';
import type { MessageSender, TransportAddress } from '../transport-address.js';
import { classifyMessage, mayBeNewWork, MUST_PROCESS, OVERLOAD_ACK, OVERLOAD_TAG_PREFIX, type NewRequestKey } from './message-class.js';
import { NextHopThrottle } from './next-hop-throttle.js';
import { ocSeqNow, ocServerParams, OC_CLIENT_PARAMS, readOcAnnouncement } from './oc-params.js';
import { DEFAULT_OVERLOAD_THRESHOLDS, OverloadDetector, type OverloadDetectorCounters, type OverloadThresholds } from './overload-detector.js';
import { overloadResponse } from './overload-response.js';
import { RejectionLimiter, rejectionRate } from './rejection-limiter.js';
import type { UdpKernelShedder } from './udp-kernel-shedder.js';
import type { QueueDelaySource } from './udp-queue-probe.js';

/** `--overload on` and its thresholds, plain data (it crosses to every worker). */
export interface OverloadSettings extends OverloadThresholds {
  /** Retry-After of the 503s, in seconds. */
  readonly retryAfterSeconds: number;
  /**
   * 503s a worker sends per second at most; within it, as many as it admits new requests (see
   * rejectionRate); shed requests beyond are dropped.
   */
  readonly rejectRate: number;
  /** oc-validity announced to upstream clients that support RFC 7339, in ms. */
  readonly ocValidityMs: number;
  /** `--overload-kernel-filter`: shed REGISTERs over UDP in the kernel too (UdpKernelShedder); absent: on. */
  readonly kernelFilter?: boolean;
  /**
   * The token of the UDP queue probes (16 hex digits), the same in every worker that reads one
   * socket (the process-pool's share one); each process draws its own when absent.
   */
  readonly queueProbeToken?: string;
}

/**
 * The UDP socket's receive buffer (SO_RCVBUF asked for; the kernel doubles it) under
 * `--overload on`, instead of 4 MiB: about 450 datagrams of a SIP call (2.3 KB each as the
 * kernel counts them), a fraction of a second of work. A deeper queue hides the overload from the
 * worker until its messages are seconds old and every client has retransmitted them; a bounded
 * one keeps what is read fresh, and what does not fit is dropped by the kernel at no cost to the
 * worker.
 */
export const OVERLOAD_UDP_RECEIVE_BUFFER_BYTES = 512 * 1024;

export const DEFAULT_OVERLOAD_SETTINGS: OverloadSettings = Object.freeze({
  ...DEFAULT_OVERLOAD_THRESHOLDS,
  retryAfterSeconds: 2,
  rejectRate: 10_000,
  ocValidityMs: 500,
});

/** What overload control counts (kept in ProxyCounters, exposed on --metrics). */
export interface OverloadCounters extends OverloadDetectorCounters {
  /** New requests shed while overloaded (answered 503 or dropped). */
  overloadShed: number;
  overloadRejected: number;
  overloadDropped: number;
  /** New requests over TCP or TLS that would have been dropped: their connection was held instead. */
  overloadReadsHeld: number;
  overloadAcksAbsorbed: number;
  /** Responses whose top Via got our `oc` values for an upstream client (RFC 7339 as server). */
  overloadAnnouncementsSent: number;
  /** `oc` values taken from next hops' responses (RFC 7339 as client). */
  overloadAnnouncementsReceived: number;
  /** New requests answered 503 here because their next hop asked for a reduction. */
  overloadNextHopShed: number;
  /** UdpKernelShedder: filters the kernel took (a share of REGISTERs set, changed or removed), and refused. */
  overloadKernelFilters: number;
  overloadKernelFilterFailures: number;
}

/**
 * Holds reading a stream connection (StreamTransport.holdReading): true when `message` was taken
 * and will be given again, with what follows it, after `ms`.
 */
export type HoldReading = (source: TransportAddress, ms: number, message: Buffer) => boolean;

/**
 * Overload control for one worker (study 004 §6, RFC 7339): its detector, the check every
 * message meets before the full parse (`shedOnArrival`), and RFC 7339's parameters both ways.
 * Never throws for anything a peer sent.
 */
export class OverloadControl {
  readonly #settings: OverloadSettings;
  readonly #counters: OverloadCounters;
  readonly #sender: MessageSender;
  readonly #holdReading: HoldReading | undefined;
  readonly #detector: OverloadDetector;
  /** 503s to new requests: rejectionRate. */
  readonly #limiter: RejectionLimiter;
  /** 503s to retransmissions of refused requests: --overload-reject-rate alone. */
  readonly #retransmissionLimiter: RejectionLimiter;
  readonly #nextHops = new NextHopThrottle();
  readonly #tagBase = `${OVERLOAD_TAG_PREFIX}${randomBytes(4).toString('hex')}`;
  /** classifyMessage's second answer, reused (no allocation per message). */
  readonly #key: NewRequestKey = { cseqHash: 0 };
  #tags = 0;
  #kernelShedder: UdpKernelShedder | undefined;

  constructor(settings: OverloadSettings, counters: OverloadCounters, sender: MessageSender, holdReading?: HoldReading) {
    this.#settings = settings;
    this.#counters = counters;
    this.#sender = sender;
    this.#holdReading = holdReading;
    this.#detector = new OverloadDetector(settings, counters);
    this.#limiter = new RejectionLimiter(Date.now());
    this.#retransmissionLimiter = new RejectionLimiter(Date.now());
  }

  /** The Via parameters we add toward next hops (we support RFC 7339, loss-based). */
  get clientViaParams(): ReadonlyArray<readonly [string, null | string]> {
    return OC_CLIENT_PARAMS;
  }

  /** The fraction of new work shed now. */
  get reduction(): number {
    return this.#detector.reduction;
  }

  /** The new requests a second admitted while limiting, once measured (undefined otherwise). */
  get admittedRate(): number | undefined {
    return this.#detector.admittedRate;
  }

  /** For tests and benchmarks: the detector (its `update` takes samples by hand). */
  get detector(): OverloadDetector {
    return this.#detector;
  }

  /** Judge datagrams by the queue delay of the UDP socket this worker reads (UdpQueueProbe). */
  useQueueDelay(source: QueueDelaySource): void {
    this.#detector.useQueueDelay(source);
  }

  /** Shed REGISTERs over UDP in the kernel too while limiting (UdpKernelShedder, steered by the detector). */
  useKernelShedder(shedder: UdpKernelShedder): void {
    this.#kernelShedder = shedder;
    shedder.countInto(this.#counters);
    this.#detector.useKernelShedder(shedder);
  }

  /** The share of REGISTERs the kernel keeps now (1: none filtered), where it filters this worker's socket. */
  get kernelRegisterPass(): number | undefined {
    return this.#kernelShedder?.passFraction;
  }

  /** One read from a TCP or TLS connection (StreamTransport `onRead`): see OverloadDetector.noteStreamRead. */
  noteStreamRead(full: boolean, trunk: boolean): number {
    return this.#detector.noteStreamRead(full, trunk);
  }

  start(): void {
    this.#detector.start();
  }

  stop(): void {
    this.#detector.stop();
  }

  /**
   * The check each message read from a socket meets first: true when it was taken care of here
   * (new work shed with a 503 or dropped, its connection held, or the ACK of one of our 503s
   * absorbed). While the worker is not limiting new work this is one comparison and a guess from
   * two bytes (mayBeNewWork), counted as the load carried (where limiting will start); while it
   * is, every new request is counted (the admission rate is steered by them). For the 32 s after its
   * last refusal (AdmissionGate), each message is classified too: a retransmission over UDP of a
   * request refused during the overload is refused again, with a 503 when the budget allows.
   *
   * A new request past the 503s' budget (rejectionRate) is dropped over UDP, which costs its
   * read and classification (about 6 µs at 8x on 0.15 core, experiments/bench-overload-2026-12-07e);
   * the client retransmits within T1 (500 ms), and the retransmission, at the same cost again,
   * gets its 503 (above). So the drop costs a read more per refused request; what it buys is the
   * half second before the client hears, which slows clients that ask again on every 503
   * (inferred, not measured). Over TCP and TLS its connection is held
   * instead, for the 503s' Retry-After, and the request decided again afterwards: dropped, it
   * would keep its client waiting for its timer (32 s), and a few thousand phones so stalled were
   * the whole offered load (a diagnostic run: the process-pool on 0.15 core, 8x over TCP, at 7%
   * CPU with every phone waiting out a dropped REGISTER). A peer that obeys RFC 3261 §21.5.4
   * sends nothing during a Retry-After; one that does not has what it sends wait in its
   * connection meanwhile, in-dialog requests and responses too (at most the Retry-After late).
   * A connection whose reads carry several messages at once (a trunk: a queue in the kernel
   * already) is not held (StreamTransport.holdReading) and its request is dropped like a datagram.
   */
  shedOnArrival(bytes: Buffer, source: TransportAddress): boolean {
    const detector = this.#detector;
    if (!detector.screening) {
      if (mayBeNewWork(bytes)) detector.noteArrival();
      return false;
    }
    const kind = classifyMessage(bytes, this.#key);
    if (kind === MUST_PROCESS) return false;
    if (kind === OVERLOAD_ACK) {
      this.#counters.overloadAcksAbsorbed++;
      return true;
    }
    const now = Date.now();
    const udp = source.protocol === 'udp';
    // 'REG': the kernel's share of REGISTERs is steered by how many the worker reads.
    const shedder = this.#kernelShedder;
    if (shedder !== undefined && udp && bytes[0] === 0x52 && bytes[1] === 0x45 && bytes[2] === 0x47) shedder.noteRegister();
    let retransmission: boolean;
    if (!detector.limiting) {
      // After an overload, a retransmission of a request refused during it is refused again (its
      // client's transaction lives up to 32 s): admitted, it would be a call set up seconds late
      // in the place of a fresh one.
      if (!udp || !detector.refusedEarlier(kind, this.#key.cseqHash, now)) {
        detector.noteArrival();
        return false;
      }
      retransmission = true;
    } else if (detector.admit(kind, this.#key.cseqHash, now, udp)) {
      // Over a stream nothing is retransmitted (RFC 3261 §17.1.1.2), and a held request is decided afresh.
      return false;
    } else {
      retransmission = detector.lastDecisionRemembered;
    }
    // A retransmission of a refused request gets its 503 within the cap alone: dropped again it
    // would come back at every timer of its client's transaction (0.5, 1.5, 3.5, 7.5 ... 31.5 s),
    // a read each, for as long as its first refusal is remembered; the 503 ends it for one send
    // and the read of its ACK. Retransmissions are paced by their clients' timers, so answering
    // them cannot set off the loop the budget of new requests is there to stop (a client that
    // asks again at once after a 503 sends a new request, which meets that budget).
    const limiter = retransmission ? this.#retransmissionLimiter : this.#limiter;
    if (!limiter.tryTake(now, retransmission ? this.#settings.rejectRate : rejectionRate(detector.admittedRate, this.#settings.rejectRate))) {
      if (!udp && this.#holdReading?.(source, this.#settings.retryAfterSeconds * 1000, bytes) === true) {
        this.#counters.overloadReadsHeld++;
        return true;
      }
      this.#counters.overloadShed++;
      this.#counters.overloadDropped++;
      return true;
    }
    this.#counters.overloadShed++;
    const response = overloadResponse(bytes, {
      toTag: `${this.#tagBase}${(++this.#tags).toString(36)}`,
      retryAfterSeconds: this.#settings.retryAfterSeconds,
      ocParams: () => ocServerParams(detector.reduction * 100, this.#settings.ocValidityMs, ocSeqNow()),
    });
    // The size rule of generated responses (no reflection amplification over UDP).
    if (response === undefined || (udp && response.length > bytes.length + ADDED_BYTES)) {
      this.#counters.overloadDropped++;
      return true;
    }
    this.#counters.overloadRejected++;
    this.#sender.send(source, response);
    return true;
  }

  /**
   * `bytes`, which passed shedOnArrival here, went on to another worker that checks it again
   * (a stream's message in the pools): its count as load carried is that worker's, not this one's.
   */
  handedOn(bytes: Buffer): void {
    if (!this.#detector.limiting && mayBeNewWork(bytes)) this.#detector.retractArrival();
  }

  /**
   * RFC 7339 as server: a response going upstream whose top Via (the client's) carries `oc` gets
   * our reduction while we are overloaded.
   */
  announceUpstream(response: SipMessage): void {
    const reduction = this.#detector.reduction;
    if (reduction === 0) return;
    const top = response.topVia;
    if (top === undefined || !top.params.has('oc')) return;
    try {
      response.setTopViaParams(ocServerParams(reduction * 100, this.#settings.ocValidityMs, ocSeqNow()));
      this.#counters.overloadAnnouncementsSent++;
    } catch {
      // A Via we cannot edit goes up as it is.
    }
  }

  /** RFC 7339 as client: the `oc` values in our Via of a response from `target`. */
  observeNextHop(target: TransportAddress, response: SipMessage): void {
    const top = response.topVia;
    if (top === undefined || !top.params.has('oc')) return;
    const announcement = readOcAnnouncement(top.params);
    if (announcement !== undefined && this.#nextHops.observe(target, announcement, Date.now())) this.#counters.overloadAnnouncementsReceived++;
  }

  /** RFC 7339 as client: whether new work for `target` is shed here (the loss algorithm's draw); counted. */
  shedForNextHop(target: TransportAddress): boolean {
    if (!this.#nextHops.shouldShed(target, Date.now())) return false;
    this.#counters.overloadNextHopShed++;
    return true;
  }
}
