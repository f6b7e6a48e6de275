import type { MessageSender, TransportAddress } from '../transport-address.js';
import { TimerQueue } from './timer-queue.js';

/** A MessageSender that records what was sent (tests of this package only). */
export class RecordingSender implements MessageSender {
  readonly sent: Array<{ target: TransportAddress; text: string }> = [];

  send(target: TransportAddress, bytes: Buffer): void {
    this.sent.push({ target, text: bytes.toString('utf8') });
  }

  /** Start lines of what was sent, in order. */
  get startLines(): string[] {
    return this.sent.map((entry) => entry.text.slice(0, entry.text.indexOf('\r\n')));
  }
}

export function sipRequest(method: string, branch: string, extra: string[] = []): Buffer {
  return Buffer.from(
    [
      `${method} sip:bob@example.com SIP/2.0`,
      `Via: SIP/2.0/UDP 192.0.2.1:5060;branch=${branch}`,
      'Max-Forwards: 70',
      'From: <sip:alice@example.com>;tag=a1',
      'To: <sip:bob@example.com>',
      'Call-ID: call-1@example.com',
      `CSeq: 1 ${method}`,
      ...extra,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

export function sipResponse(status: number, method: string, branch: string, toTag = 'b1'): Buffer {
  return Buffer.from(
    [
      `SIP/2.0 ${status} Status`,
      `Via: SIP/2.0/UDP 192.0.2.1:5060;branch=${branch}`,
      'From: <sip:alice@example.com>;tag=a1',
      `To: <sip:bob@example.com>;tag=${toTag}`,
      'Call-ID: call-1@example.com',
      `CSeq: 1 ${method}`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

/**
 * A TimerQueue on the clock of `mock.timers` (enabled with apis setTimeout AND Date): transactions
 * given it as `timerQueue` fire their timers as the test ticks.
 */
export function mockedTimerQueue(): TimerQueue {
  return new TimerQueue(() => Date.now());
}
