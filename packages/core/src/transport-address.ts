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

/** Sends bytes; the transport layer behind it owns sockets and connections. */
export interface MessageSender {
  send(target: TransportAddress, bytes: Buffer): void;
}
