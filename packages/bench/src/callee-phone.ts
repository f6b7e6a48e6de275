/**
 * The answering side of a simulated call: 180 and 200 (with an SDP answer) to an INVITE, 200 to
 * its BYE, as a phone would. Over UDP the 200 to INVITE is retransmitted until the ACK arrives
 * (RFC 3261 §13.3.1.4) and a retransmitted INVITE or BYE is answered again.
 */
import type { SipMessage } from '@switchboard/sip';
import { T1_MS, T2_MS } from './client-exchange.js';
import { responseTo, uniqueToken } from './phone-messages.js';
import type { Reply, StreamLink } from './phone-links.js';

interface Dialog {
  readonly toTag: string;
  lastResponse: string;
  acked: boolean;
  retransmit: NodeJS.Timeout | undefined;
  readonly startedAt: number;
  /** The accepted connection the INVITE came on, which stays open while the call is up. */
  readonly link: StreamLink | undefined;
}

export interface CalleeOptions {
  readonly reliable: boolean;
  readonly timeoutMs: number;
  /** Operations per inbound connection before the callee closes it (callee-side lifetime). */
  readonly inboundLimit: number;
}

/** Answers calls for every callee phone of a process; the Contact is each phone's own. */
export class CalleeAnswerer {
  readonly #options: CalleeOptions;
  readonly #dialogs = new Map<string, Dialog>();
  /** BYEs answered recently, so a retransmitted BYE gets 200 again, not 481. */
  readonly #ended = new Map<string, number>();
  readonly #sweep: NodeJS.Timeout;
  unexpected = 0;

  constructor(options: CalleeOptions) {
    this.#options = options;
    this.#sweep = setInterval(() => this.#forget(), 1000);
    this.#sweep.unref();
  }

  /** A request for callee `contact` arrived; `link` is set when it came on an accepted connection. */
  handle(request: SipMessage, reply: Reply, contact: string, sdpPort: number, link: StreamLink | undefined): void {
    const callId = request.header('call-id') ?? '';
    switch (request.method) {
      case 'INVITE':
        this.#invite(request, reply, callId, contact, sdpPort, link);
        return;
      case 'ACK': {
        const dialog = this.#dialogs.get(callId);
        if (dialog !== undefined) {
          dialog.acked = true;
          clearTimeout(dialog.retransmit);
        }
        return;
      }
      case 'BYE':
        this.#bye(request, reply, callId, link);
        return;
      default:
        this.unexpected++;
        reply(responseTo(request, 501, 'Not Implemented', { toTag: uniqueToken() }));
    }
  }

  #invite(request: SipMessage, reply: Reply, callId: string, contact: string, sdpPort: number, link: StreamLink | undefined): void {
    const existing = this.#dialogs.get(callId);
    if (existing !== undefined) {
      reply(existing.lastResponse);
      return;
    }
    // The call holds its connection until the BYE is answered.
    if (link !== undefined) {
      link.operationsStarted++;
      link.inFlight++;
    }
    const toTag = uniqueToken();
    reply(responseTo(request, 180, 'Ringing', { toTag, contact }));
    const ok = responseTo(request, 200, 'OK', { toTag, contact, withSdpPort: sdpPort });
    const dialog: Dialog = { toTag, lastResponse: ok, acked: false, retransmit: undefined, startedAt: performance.now(), link };
    this.#dialogs.set(callId, dialog);
    reply(ok);
    if (!this.#options.reliable) {
      let interval = T1_MS;
      const again = (): void => {
        dialog.retransmit = setTimeout(() => {
          if (dialog.acked || performance.now() - dialog.startedAt > this.#options.timeoutMs) return;
          reply(dialog.lastResponse);
          interval = Math.min(interval * 2, T2_MS);
          again();
        }, interval);
      };
      again();
    }
  }

  #bye(request: SipMessage, reply: Reply, callId: string, link: StreamLink | undefined): void {
    const dialog = this.#dialogs.get(callId);
    if (dialog === undefined) {
      if (this.#ended.has(callId)) reply(responseTo(request, 200, 'OK'));
      else {
        this.unexpected++;
        reply(responseTo(request, 481, 'Call/Transaction Does Not Exist'));
      }
      return;
    }
    clearTimeout(dialog.retransmit);
    this.#dialogs.delete(callId);
    this.#ended.set(callId, performance.now());
    reply(responseTo(request, 200, 'OK'));
    if (link !== undefined) link.operationsStarted++;
    this.#endCall(dialog.link);
    if (link !== dialog.link) this.#endCall(link, false);
  }

  /**
   * A call on an accepted connection ended. The callee closes a connection only between calls,
   * once it has carried its operations: that is the first moment no request of a call can still
   * be on its way to it, so closing cannot race with the proxy's next message.
   */
  #endCall(link: StreamLink | undefined, heldByCall = true): void {
    if (link === undefined) return;
    if (link.operationsStarted >= this.#options.inboundLimit) link.retiring = true;
    if (heldByCall) link.release();
    else if (link.retiring && link.inFlight === 0) link.close();
  }

  #forget(): void {
    const horizon = performance.now() - Math.max(this.#options.timeoutMs, 32 * T1_MS);
    for (const [callId, at] of this.#ended) if (at < horizon) this.#ended.delete(callId);
    for (const [callId, dialog] of this.#dialogs) {
      if (dialog.startedAt < horizon - 600_000) {
        clearTimeout(dialog.retransmit);
        this.#dialogs.delete(callId);
      }
    }
  }

  get activeDialogs(): number {
    return this.#dialogs.size;
  }

  close(): void {
    clearInterval(this.#sweep);
    for (const dialog of this.#dialogs.values()) clearTimeout(dialog.retransmit);
    this.#dialogs.clear();
  }
}
