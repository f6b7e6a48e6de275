import type { SipMessage } from '@switchboard/sip';
import { isReliable, type MessageSender, type TransportAddress } from '../transport-address.js';
import { TransactionTimers, type TimerHandler, type TimerSettings } from './timers.js';
import type { TimerQueue } from './timer-queue.js';
import { isServerPending } from './pending-tally.js';

export type ServerTransactionState = 'trying' | 'proceeding' | 'completed' | 'confirmed' | 'accepted' | 'terminated';

/** Why a transaction ended: normally, or because its final response was never acknowledged. */
export type TerminationReason = 'normal' | 'timeout';

export interface ServerTransactionOptions {
  readonly key: string;
  readonly request: SipMessage;
  readonly source: TransportAddress;
  /** Where responses go (see responseTarget). */
  readonly responseTarget: TransportAddress;
  readonly sender: MessageSender;
  readonly timers: TimerSettings;
  readonly onTerminated: (transaction: ServerTransaction, reason: TerminationReason) => void;
  /** What a timer callback threw (a bug): counted by the TU, never thrown to the event loop. */
  readonly onInternalError?: (error: unknown) => void;
  /** A response was sent and recorded (`before`: the state it was sent in), for a shared transaction store. */
  readonly onResponded?: (transaction: ServerTransaction, status: number, bytes: Buffer, before: ServerTransactionState) => void;
  /** `true` when made (Trying or Proceeding), `false` once when it leaves them (see PendingTally). */
  readonly onPendingChanged?: (pending: boolean) => void;
  /** Where its timers run: the thread's `transactionTimerQueue` by default (tests pass their own). */
  readonly timerQueue?: TimerQueue;
}

/**
 * An INVITE or non-INVITE server transaction (RFC 3261 §17.2, with RFC 6026's Accepted state for
 * INVITE 2xx). It answers retransmitted requests with the last response it sent, retransmits a
 * non-2xx final INVITE response over UDP until the ACK comes (timers G and H), absorbs that ACK
 * (timer I), and lingers after a final non-INVITE response to absorb retransmissions (timer J).
 * Over TCP and TLS nothing is retransmitted and the waiting timers are zero.
 */
export class ServerTransaction {
  readonly key: string;
  readonly source: TransportAddress;
  readonly isInvite: boolean;
  /**
   * What the transaction user (RFC 3261 §17: the proxy core) keeps with this transaction, for as
   * long as the transaction lives: a slot on the object rather than a WeakMap keyed by it, whose
   * insertion cost about a microsecond per forwarded request.
   */
  userState: unknown = undefined;
  #stateNow!: ServerTransactionState;
  /** Every change of state goes through here, so the pending tally sees each (PendingTally). */
  get #state(): ServerTransactionState {
    return this.#stateNow;
  }
  set #state(state: ServerTransactionState) {
    const was = this.#stateNow !== undefined && isServerPending(this.#stateNow);
    this.#stateNow = state;
    if (was !== isServerPending(state)) this.#options.onPendingChanged?.(!was);
  }
  #lastResponse: Buffer | undefined;
  #lastStatus = 0;
  #interval = 0;
  #abandoned = false;
  #request: SipMessage | undefined;
  readonly #options: Omit<ServerTransactionOptions, 'request'>;
  readonly #timers: TransactionTimers<ServerTransaction>;
  readonly #reliable: boolean;
  /** Set by `resume`: the first retransmission of G after it keeps the interval (no doubling). */
  #resumedRetransmit = false;

  /** Every ServerTransaction's timers fire here: one function, not a closure per timer. */
  static readonly #onTimer: TimerHandler<ServerTransaction> = (transaction, letter) => transaction.#timerFired(letter);

  constructor({ request, ...options }: ServerTransactionOptions) {
    this.#options = options;
    this.#timers = new TransactionTimers<ServerTransaction>(this, ServerTransaction.#onTimer, options.onInternalError, options.timerQueue);
    this.key = options.key;
    this.#request = request;
    this.source = options.source;
    this.isInvite = request.method === 'INVITE';
    this.#state = this.isInvite ? 'proceeding' : 'trying';
    this.#reliable = isReliable(options.responseTarget.protocol);
  }

  get state(): ServerTransactionState {
    return this.#state;
  }

  /**
   * The request, until the final response has been sent: then undefined (nothing more can be
   * answered on it), so a transaction that lingers (timers J and L: 32 s over UDP) keeps no
   * parsed message alive.
   */
  get request(): SipMessage | undefined {
    return this.#request;
  }

  /** Status of the last response sent, 0 before any. */
  get lastStatus(): number {
    return this.#lastStatus;
  }

  /** A retransmission of the request arrived: answer it with the last response, if any. */
  receiveRetransmission(): void {
    if (this.#lastResponse === undefined) return;
    if (this.#state === 'proceeding' || this.#state === 'completed') this.#transmit();
  }

  /** The ACK for a non-2xx final response arrived (INVITE only). */
  receiveAck(): void {
    if (!this.isInvite || this.#state !== 'completed') return;
    this.#timers.stop('G');
    this.#timers.stop('H');
    this.#state = 'confirmed';
    this.#wait('I', this.#reliable ? 0 : this.#options.timers.t4);
  }

  /**
   * Sends a response (bytes built by the transaction user) and moves the state machine. `stored`:
   * the response is in the transaction's store record already (`--shared-responses where-read`:
   * it had to be admitted there by a compare-and-set before it went out), so `onResponded` is
   * not told.
   */
  respond(status: number, bytes: Buffer, stored = false): void {
    if (this.#abandoned) {
      // Another worker holds the transaction now; a response our client side still gets goes
      // upstream as a stateless proxy would send it, so the caller gets it either way.
      this.#options.sender.send(this.#options.responseTarget, bytes);
      return;
    }
    const before = this.#state;
    if (this.#respond(status, bytes) && !stored) this.#options.onResponded?.(this, status, bytes, before);
  }

  /** True when `bytes` became the last response (sent and recorded). */
  #respond(status: number, bytes: Buffer): boolean {
    if (this.#state === 'terminated' || this.#state === 'completed' || this.#state === 'confirmed') return false;
    if (this.#state === 'accepted') {
      // RFC 6026: further 2xx from the TU are passed on; anything else is dropped.
      if (status >= 200 && status < 300) this.#options.sender.send(this.#options.responseTarget, bytes);
      return false;
    }
    this.#lastResponse = bytes;
    this.#lastStatus = status;
    this.#transmit();
    const { t1 } = this.#options.timers;
    if (status < 200) {
      if (this.#state === 'trying') this.#state = 'proceeding';
      return true;
    }
    this.#request = undefined;
    if (this.isInvite) {
      if (status < 300) {
        // Accepted answers no retransmission (RFC 6026 §7.1): the 2xx need not be kept.
        this.#lastResponse = undefined;
        this.#state = 'accepted';
        this.#wait('L', 64 * t1);
        return true;
      }
      this.#state = 'completed';
      if (!this.#reliable) {
        this.#interval = t1;
        this.#scheduleG();
      }
      this.#timers.start('H', 64 * t1);
      return true;
    }
    this.#state = 'completed';
    this.#wait('J', this.#reliable ? 0 : 64 * t1);
    return true;
  }

  /** Ends the transaction now (shutdown). */
  terminate(): void {
    this.#terminate('normal');
  }

  /**
   * `--transactions shared`: takes over a transaction another worker ran (it died; its lease
   * lapsed) from its stored record: the state, the last response and its status, and the timers
   * re-armed from their absolute deadlines (G retransmits from T1 again, H times out, I, J and L
   * end it). A deadline already past fires at once. Call it before anything else on a new
   * transaction; `respond` and the ACK work on from there.
   */
  resume(state: ServerTransactionState, status: number, response: Buffer | undefined, deadlines: Readonly<Record<string, number>>, now: number): void {
    this.#state = state;
    this.#lastStatus = status;
    this.#lastResponse = response;
    const after = (letter: string): number | undefined => {
      const deadline = deadlines[letter];
      return deadline === undefined ? undefined : Math.max(0, deadline - now);
    };
    if (state === 'completed' && this.isInvite) {
      const g = after('G');
      if (g !== undefined && !this.#reliable) {
        // The stored deadline is the next retransmission; the interval is not stored, so it starts over at 2*T1.
        this.#interval = Math.min(2 * this.#options.timers.t1, this.#options.timers.t2);
        this.#resumedRetransmit = true;
        this.#timers.start('G', g);
      }
      this.#timers.start('H', after('H') ?? 64 * this.#options.timers.t1);
      return;
    }
    const ending = state === 'completed' ? 'J' : state === 'confirmed' ? 'I' : state === 'accepted' ? 'L' : undefined;
    if (ending === undefined) return;
    const wait = after(ending) ?? 0;
    this.#timers.start(ending, wait);
  }

  /**
   * `--transactions shared`: another worker holds this transaction now (this one lost its lease):
   * its timers stop here, nothing is reported (`onTerminated` is not called) and a response the
   * transaction user still passes (from a client branch of this worker's) is sent upstream as is,
   * without state.
   */
  abandon(): void {
    this.#abandoned = true;
    this.#state = 'terminated';
    this.#timers.clearAll();
  }

  #timerFired(letter: string): void {
    if (letter === 'G') this.#retransmitG();
    else if (letter === 'H') this.#terminate('timeout');
    // I, J, L: the waiting is over.
    else this.#terminate('normal');
  }

  #scheduleG(): void {
    this.#timers.start('G', this.#interval);
  }

  /** Timer G fired: the final response again, the interval doubled up to T2. */
  #retransmitG(): void {
    if (this.#state !== 'completed') return;
    this.#transmit();
    // The first one after `resume` keeps the interval resume set.
    if (this.#resumedRetransmit) this.#resumedRetransmit = false;
    else this.#interval = Math.min(2 * this.#interval, this.#options.timers.t2);
    this.#scheduleG();
  }

  #wait(letter: string, milliseconds: number): void {
    if (milliseconds === 0) this.#terminate('normal');
    else this.#timers.start(letter, milliseconds);
  }

  #transmit(): void {
    if (this.#lastResponse !== undefined) this.#options.sender.send(this.#options.responseTarget, this.#lastResponse);
  }

  #terminate(reason: TerminationReason): void {
    if (this.#state === 'terminated') return;
    this.#state = 'terminated';
    this.#request = undefined;
    this.#lastResponse = undefined;
    this.#timers.clearAll();
    this.#options.onTerminated(this, reason);
  }
}
