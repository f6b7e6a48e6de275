/**
 * One client transaction of a simulated phone: send a request, retransmit it over UDP
 * (RFC 3261 timers A and E: T1 doubling, capped at T2 for non-INVITE, stopped by a provisional
 * for INVITE), pass provisional responses on, and end with the final response, a timeout, or the
 * connection closing under it. Responses are matched by Call-ID and CSeq method.
 */
import type { SipMessage } from '@switchboard/sip';
import type { StreamLink } from './phone-links.js';

export const T1_MS = 500;
export const T2_MS = 4000;

export type ExchangeOutcome = { readonly kind: 'final'; readonly response: SipMessage } | { readonly kind: 'timeout' } | { readonly kind: 'closed' };

/** Response handlers by `Call-ID CSeq-method`, shared by the phones of one process. */
export class ResponseRouter {
  readonly #handlers = new Map<string, (response: SipMessage) => void>();
  unmatched = 0;

  static key(callId: string, method: string): string {
    return `${callId} ${method}`;
  }

  on(key: string, handler: (response: SipMessage) => void): void {
    this.#handlers.set(key, handler);
  }

  off(key: string): void {
    this.#handlers.delete(key);
  }

  route(response: SipMessage): void {
    const callId = response.header('call-id');
    const method = /\s*\d+\s+(\S+)/.exec(response.header('cseq') ?? '')?.[1];
    const handler = callId === undefined || method === undefined ? undefined : this.#handlers.get(ResponseRouter.key(callId, method));
    if (handler === undefined) this.unmatched++;
    else handler(response);
  }
}

export interface ExchangeOptions {
  readonly router: ResponseRouter;
  readonly callId: string;
  readonly method: string;
  /** Only responses with this CSeq number end the exchange (a request retried with credentials has a new one). */
  readonly cseq?: number;
  readonly send: () => void;
  /** UDP: retransmit; TCP and TLS: the transport is reliable. */
  readonly retransmit: boolean;
  readonly timeoutMs: number;
  /** The stream link carrying the request, whose closing ends the exchange. */
  readonly link?: StreamLink;
  readonly onProvisional?: (response: SipMessage) => void;
  /** Keep the handler after the final response (INVITE: later 2xx retransmissions need an ACK). */
  readonly afterFinal?: (response: SipMessage) => void;
}

export function clientExchange(options: ExchangeOptions): Promise<ExchangeOutcome> {
  const key = ResponseRouter.key(options.callId, options.method);
  const isInvite = options.method === 'INVITE';
  return new Promise<ExchangeOutcome>((resolve) => {
    let done = false;
    let interval = T1_MS;
    let retransmitTimer: NodeJS.Timeout | undefined;
    let provisional = false;
    const finish = (outcome: ExchangeOutcome): void => {
      if (done) return;
      done = true;
      clearTimeout(timeout);
      clearTimeout(retransmitTimer);
      removeCloseListener?.();
      if (outcome.kind === 'final' && options.afterFinal !== undefined) options.router.on(key, options.afterFinal);
      else options.router.off(key);
      resolve(outcome);
    };
    const timeout = setTimeout(() => finish({ kind: 'timeout' }), options.timeoutMs);
    const removeCloseListener = options.link?.onClose(() => finish({ kind: 'closed' }));
    const scheduleRetransmit = (): void => {
      retransmitTimer = setTimeout(() => {
        if (done || (isInvite && provisional)) return;
        options.send();
        interval = isInvite ? interval * 2 : Math.min(interval * 2, T2_MS);
        scheduleRetransmit();
      }, interval);
    };
    options.router.on(key, (response) => {
      if (done) return;
      if (options.cseq !== undefined && Number.parseInt(response.header('cseq') ?? '', 10) !== options.cseq) return;
      if ((response.status ?? 0) < 200) {
        provisional = true;
        options.onProvisional?.(response);
        return;
      }
      finish({ kind: 'final', response });
    });
    options.send();
    if (options.retransmit) scheduleRetransmit();
  });
}
