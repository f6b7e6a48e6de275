/** Where a message came from or goes to, and over what. */
export type TransportProtocol = 'udp' | 'tcp' | 'tls';

export interface TransportAddress {
  readonly protocol: TransportProtocol;
  readonly address: string;
  readonly port: number;
  /**
   * The connection a stream message arrived on (or must leave on): responses go back on the
   * connection their request came in on (RFC 3261 §18.2.2).
   */
  readonly connectionId?: number;
}

export function isReliable(protocol: TransportProtocol): boolean {
  return protocol !== 'udp';
}

export function formatAddress(target: TransportAddress): string {
  const host = target.address.includes(':') ? `[${target.address}]` : target.address;
  return `${target.protocol}:${host}:${target.port}`;
}

/**
 * Called when a send fails (a bad port, a refused or reset connection, a local socket error):
 * at most once per send, and never before `send` has returned.
 */
export type SendErrorHandler = (error: Error) => void;

/**
 * Sends bytes; the transport layer behind it owns sockets and connections. `send` never throws:
 * a failure, synchronous or not, goes to `onError` (RFC 3261 §18.4: the transport layer tells
 * the transaction layer), stream sends another worker or process carries out included.
 */
export interface MessageSender {
  send(target: TransportAddress, bytes: Buffer, onError?: SendErrorHandler): void;
}

/** Tells `onError` about `error` on the next tick, so a send never calls back before it returns. */
export function reportSendError(onError: SendErrorHandler | undefined, error: unknown): void {
  if (onError === undefined) return;
  const reported = error instanceof Error ? error : new Error(String(error));
  process.nextTick(onError, reported);
}
