import type { SipMessage } from '@switchboard/sip';
import { isReliable, type MessageSender, type TransportAddress } from '../transport-address.js';
import { TransactionTimers, type TimerHandler, type TimerSettings } from './timers.js';
import type { TimerQueue } from './timer-queue.js';
import { isClientPending } from './pending-tally.js';

export type ClientTransactionState = 'calling' | 'trying' | 'proceeding' | 'completed' | 'accepted' | 'terminated';

/** The options that are closures of one transaction's own (released as it lingers). */
type ClientTransactionUserCallbacks = 'buildAck' | 'onResponse' | 'onTimeout' | 'onTransportError';

export interface ClientTransactionOptions {
  readonly key: string;
  /** INVITE, BYE, CANCEL ... : the CSeq method of the request. */
  readonly method: string;
  /** The request as sent (its top Via carries this transaction's branch). */
  readonly bytes: Buffer;
  readonly target: TransportAddress;
  readonly sender: MessageSender;
  readonly timers: TimerSettings;
  /** Builds the ACK for a non-2xx final response to an INVITE (§17.1.1.3); undefined: none to send. */
  readonly buildAck?: (response: SipMessage) => Buffer | undefined;
  /** A response for the transaction user (provisional, final, and 2xx retransmissions). */
  readonly onResponse: (response: SipMessage, transaction: ClientTransaction) => void;
  /**
   * Proxy timer C (RFC 3261 §16.8): how long an INVITE may stay in Proceeding before the proxy
   * gives up on it (more than 3 minutes). Without it, Proceeding waits for the final response.
   */
  readonly timerC?: number;
  /** Timer B, F or C fired before a final response: the TU acts as if it got a 408. */
  readonly onTimeout: (transaction: ClientTransaction) => void;
  /**
   * The transport failed to send the request (RFC 3261 §17.1.4, §18.4): the transaction ends at
   * once and the TU acts as if it got a 503 (§16.9), without waiting for timer B or F.
   */
  readonly onTransportError?: (transaction: ClientTransaction, error: Error) => void;
  /** What a timer callback threw (a bug): counted by the TU, never thrown to the event loop. */
  readonly onInternalError?: (error: unknown) => void;
  readonly onTerminated: (transaction: ClientTransaction) => void;
  /** The state machine moved (`--transactions shared`: written through to the store); `terminated` included. */
  readonly onStateChanged?: (transaction: ClientTransaction, before: ClientTransactionState) => void;
  /** `true` when made (Calling or Trying), `false` once when it leaves the pending states (see PendingTally). */
  readonly onPendingChanged?: (pending: boolean) => void;
  /**
   * `--transactions shared` with responses handled where read: before a timer acts (A or E
   * retransmits, B, F or C times out), the store is asked whether this worker still runs the
   * transaction (another worker may have handled its final response); only if it does, `confirm`
   * calls the transaction's `confirmedTimer(letter)`. The check may also move the transaction
   * (`proceedElsewhere`) or drop it here.
   */
  readonly confirm?: (transaction: ClientTransaction, letter: string) => void;
  /** The same mode: `proceedElsewhere` moved the transaction (its TU may have a CANCEL waiting for a provisional, §9.1). */
  readonly onProceededElsewhere?: (transaction: ClientTransaction) => void;
  /** Where its timers run: the thread's `transactionTimerQueue` by default (tests pass their own). */
  readonly timerQueue?: TimerQueue;
}

/**
 * An INVITE or non-INVITE client transaction (RFC 3261 §17.1, with RFC 6026's Accepted state).
 * Over UDP it retransmits the request (timers A and E) until a response comes or it times out
 * (timers B and F); it acknowledges non-2xx final INVITE responses itself and absorbs their
 * retransmissions (timer D), and lingers after a final non-INVITE response (timer K).
 */
export class ClientTransaction {
  readonly key: string;
  readonly method: string;
  readonly target: TransportAddress;
  #stateNow!: ClientTransactionState;
  /** Every change of state goes through here, so the pending tally sees each (PendingTally). */
  get #state(): ClientTransactionState {
    return this.#stateNow;
  }
  set #state(state: ClientTransactionState) {
    const was = this.#stateNow !== undefined && isClientPending(this.#stateNow);
    this.#stateNow = state;
    if (was !== isClientPending(state)) this.#options.onPendingChanged?.(!was);
  }
  #interval: number;
  #ack: Buffer | undefined;
  #finalStatus = 0;
  /** The request to (re)send; released at the final response, as the transaction may linger 32 s. */
  #bytes: Buffer | undefined;
  readonly #options: Omit<ClientTransactionOptions, 'bytes' | ClientTransactionUserCallbacks>;
  /**
   * The transaction user's callbacks of this transaction alone (closures over its forwarding
   * state): released once the transaction lingers (after the final response, timers D, K, M: up
   * to 32 s), all but `onResponse` in Accepted (2xx retransmissions go on to the TU).
   */
  #buildAck: ClientTransactionOptions['buildAck'];
  #onResponse: ClientTransactionOptions['onResponse'] | undefined;
  #onTimeout: ClientTransactionOptions['onTimeout'] | undefined;
  #onTransportError: ClientTransactionOptions['onTransportError'];
  readonly #timers: TransactionTimers<ClientTransaction>;
  readonly #reliable: boolean;
  /** Set by `resume`: the first retransmission after it keeps the interval (no doubling). */
  #resumedRetransmit = false;

  /** Every ClientTransaction's timers fire here: one function, not a closure per timer. */
  static readonly #onTimer: TimerHandler<ClientTransaction> = (transaction, letter) => transaction.#timerFired(letter);

  constructor({ bytes, buildAck, onResponse, onTimeout, onTransportError, ...options }: ClientTransactionOptions) {
    this.#options = options;
    this.#buildAck = buildAck;
    this.#onResponse = onResponse;
    this.#onTimeout = onTimeout;
    this.#onTransportError = onTransportError;
    this.#onSendError = (error: Error): void => this.#transportFailed(error);
    this.#bytes = bytes;
    this.#timers = new TransactionTimers<ClientTransaction>(this, ClientTransaction.#onTimer, options.onInternalError, options.timerQueue);
    this.key = options.key;
    this.method = options.method;
    this.target = options.target;
    this.#state = options.method === 'INVITE' ? 'calling' : 'trying';
    this.#interval = options.timers.t1;
    this.#reliable = isReliable(options.target.protocol);
  }

  get state(): ClientTransactionState {
    return this.#state;
  }

  get isInvite(): boolean {
    return this.method === 'INVITE';
  }

  /** Status of the final response, 0 before one. */
  get finalStatus(): number {
    return this.#finalStatus;
  }

  /** Sends the request and starts the timers. */
  start(): void {
    if (this.#bytes !== undefined) this.#send(this.#bytes);
    const { t1 } = this.#options.timers;
    if (!this.#reliable) this.#scheduleRetransmit();
    this.#timers.start(this.isInvite ? 'B' : 'F', 64 * t1);
  }

  #timerFired(letter: string): void {
    switch (letter) {
      case 'A':
      case 'E':
      case 'B':
      case 'F':
      case 'C':
        if (this.#options.confirm === undefined) this.confirmedTimer(letter);
        else this.#options.confirm(this, letter);
        return;
      default:
        // D, K, M: the lingering is over.
        this.#terminate();
    }
  }

  /** Timer A or E retransmits, B, F or C times out: at once, or once `confirm` found the transaction still this worker's. */
  confirmedTimer(letter: string): void {
    if (letter === 'A' || letter === 'E') this.#retransmit();
    else this.#timeOut();
  }

  /**
   * `--transactions shared`: a provisional response reached another worker, which recorded the
   * transaction in Proceeding: as `receiveResponse` does for a provisional, without one to pass
   * on (timer A and B stop; the proxy's timer C starts for an INVITE).
   */
  proceedElsewhere(): void {
    if (this.#state !== 'calling' && this.#state !== 'trying') return;
    this.#enterProceeding();
    this.#options.onProceededElsewhere?.(this);
  }

  /** A provisional response came (here or, by the store, elsewhere): to Proceeding. */
  #enterProceeding(): void {
    if (this.isInvite) {
      // Timer B covers Calling only (§17.1.1.2); a proxy's timer C covers Proceeding.
      this.#timers.stop('A');
      this.#timers.stop('B');
      const timerC = this.#options.timerC;
      if (timerC !== undefined && !this.#timers.isRunning('C')) this.#timers.start('C', timerC);
    }
    this.#moveTo('proceeding');
  }

  #timeOut(): void {
    if (this.#state === 'calling' || this.#state === 'trying' || this.#state === 'proceeding') {
      this.#onTimeout?.(this);
      this.#terminate();
    }
  }

  receiveResponse(response: SipMessage): void {
    const status = response.status ?? 0;
    switch (this.#state) {
      case 'calling':
      case 'trying':
      case 'proceeding':
        if (status < 200) {
          this.#enterProceeding();
          this.#onResponse?.(response, this);
          return;
        }
        this.#finalStatus = status;
        this.#bytes = undefined;
        this.#timers.stop('A');
        this.#timers.stop('E');
        this.#timers.stop('B');
        this.#timers.stop('F');
        this.#timers.stop('C');
        if (this.isInvite && status < 300) {
          this.#moveTo('accepted');
          this.#releaseCallbacks(true);
          this.#onResponse?.(response, this);
          this.#linger('M', 64 * this.#options.timers.t1);
          return;
        }
        this.#moveTo('completed');
        if (this.isInvite) {
          this.#ack = this.#buildAck?.(response);
          if (this.#ack !== undefined) this.#send(this.#ack);
        }
        const onResponse = this.#onResponse;
        this.#releaseCallbacks(false);
        onResponse?.(response, this);
        if (this.isInvite) this.#linger('D', this.#reliable ? 0 : 32_000);
        else this.#linger('K', this.#reliable ? 0 : this.#options.timers.t4);
        return;
      case 'completed':
        // A retransmitted final response: acknowledge it again (INVITE) and absorb it.
        if (this.isInvite && status >= 300 && this.#ack !== undefined) this.#send(this.#ack);
        return;
      case 'accepted':
        // RFC 6026: retransmitted 2xx go to the TU, which forwards them (a proxy) or re-ACKs.
        if (status >= 200 && status < 300) this.#onResponse?.(response, this);
        return;
      default:
        return;
    }
  }

  /** Ends the transaction now (shutdown, or a transport error the TU has handled). */
  terminate(): void {
    this.#terminate();
  }

  #send(bytes: Buffer): void {
    this.#options.sender.send(this.target, bytes, this.#onSendError);
  }

  /** One handler for every send of this transaction (not a closure per datagram); released with the callbacks. */
  #onSendError: ((error: Error) => void) | undefined;

  /** The transaction lingers: what only a pending transaction needs goes (`onResponse` stays in Accepted). */
  #releaseCallbacks(keepOnResponse: boolean): void {
    this.#buildAck = undefined;
    this.#onTimeout = undefined;
    this.#onTransportError = undefined;
    this.#onSendError = undefined;
    if (!keepOnResponse) this.#onResponse = undefined;
  }

  /** §17.1.4: a transport error before the final response fails the transaction; later ones (an ACK) do not. */
  #transportFailed(error: Error): void {
    if (this.#state !== 'calling' && this.#state !== 'trying' && this.#state !== 'proceeding') return;
    const onTransportError = this.#onTransportError;
    if (onTransportError === undefined) return;
    onTransportError(this, error);
    this.#terminate();
  }

  #scheduleRetransmit(): void {
    this.#timers.start(this.isInvite ? 'A' : 'E', this.#interval);
  }

  /** Timer A or E fired. */
  #retransmit(): void {
    if (this.#state !== 'calling' && this.#state !== 'trying' && this.#state !== 'proceeding') return;
    if (this.isInvite && this.#state !== 'calling') return;
    if (this.#bytes !== undefined) this.#send(this.#bytes);
    if (this.#resumedRetransmit) {
      // The first one after `resume`: the interval starts over where resume set it.
      this.#resumedRetransmit = false;
    } else {
      // INVITE doubles without bound (timer A); non-INVITE caps at T2, and at T2 at once once
      // a provisional response has come (timer E, §17.1.2.2).
      this.#interval = this.isInvite
        ? 2 * this.#interval
        : this.#state === 'proceeding'
          ? this.#options.timers.t2
          : Math.min(2 * this.#interval, this.#options.timers.t2);
    }
    this.#scheduleRetransmit();
  }

  #linger(letter: string, milliseconds: number): void {
    if (milliseconds === 0) this.#terminate();
    else this.#timers.start(letter, milliseconds);
  }

  #terminate(): void {
    if (this.#state === 'terminated') return;
    this.#moveTo('terminated');
    this.#bytes = undefined;
    this.#releaseCallbacks(false);
    this.#timers.clearAll();
    this.#options.onTerminated(this);
  }

  #moveTo(state: ClientTransactionState): void {
    const before = this.#state;
    this.#state = state;
    if (before !== state) this.#options.onStateChanged?.(this, before);
  }

  /**
   * `--transactions shared`: takes over a client transaction another worker started (it died; its
   * lease lapsed), instead of `start`: in the stored `state` (Calling, Trying or Proceeding), with
   * its timers re-armed from the stored absolute deadlines: the request retransmitted over UDP
   * (A, E; the interval starts over at T1, or T2 for a non-INVITE in Proceeding), and B, F or C
   * timing it out. A deadline already past fires at once.
   */
  resume(state: ClientTransactionState, deadlines: Readonly<Record<string, number>>, now: number): void {
    this.#state = state;
    const after = (letter: string, otherwise: number): number => {
      const deadline = deadlines[letter];
      return deadline === undefined ? otherwise : Math.max(0, deadline - now);
    };
    const { t1, t2 } = this.#options.timers;
    if (!this.#reliable && (state === 'calling' || (!this.isInvite && state !== 'completed'))) {
      this.#interval = !this.isInvite && state === 'proceeding' ? t2 : t1;
      const letter = this.isInvite ? 'A' : 'E';
      this.#resumedRetransmit = true;
      this.#timers.start(letter, after(letter, 0));
    }
    if (this.isInvite && state === 'proceeding') {
      const timerC = this.#options.timerC;
      if (timerC !== undefined) this.#timers.start('C', after('C', timerC));
      return;
    }
    const timeout = this.isInvite ? 'B' : 'F';
    this.#timers.start(timeout, after(timeout, 64 * t1));
  }

  /** `--transactions shared`: another worker holds this transaction now: its timers stop here and nothing more is sent or reported. */
  abandon(): void {
    this.#state = 'terminated';
    this.#timers.clearAll();
  }
}
