import type { TransportAddress, TransportProtocol } from '../transport-address.js';

/**
 * A server transaction's response target (RFC 3261 §18.2.2: the connection or address its request
 * came from) as kept in its store record (`respondTo`), so that whichever worker reads a response
 * of the transaction can send it upstream on the right connection: `protocol|address|port|id`,
 * the connection id pool-wide (connection-ids.ts) and empty over UDP. The Via is not enough: a
 * TLS peer behind a terminating relay writes `SIP/2.0/TCP` in it.
 */
export function formatStoredTarget(target: TransportAddress): string {
  return `${target.protocol}|${target.address}|${target.port}|${target.connectionId ?? ''}`;
}

const PROTOCOLS: ReadonlySet<string> = new Set<TransportProtocol>(['udp', 'tcp', 'tls']);

/** The target a record names; undefined for anything malformed (a record of another version). */
export function parseStoredTarget(text: string | undefined): TransportAddress | undefined {
  if (text === undefined) return undefined;
  const [protocol, address, portText, idText, extra] = text.split('|');
  if (extra !== undefined || protocol === undefined || !PROTOCOLS.has(protocol) || address === undefined || address === '' || portText === undefined || idText === undefined) return undefined;
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  if (idText === '') return { protocol: protocol as TransportProtocol, address, port };
  const connectionId = Number(idText);
  if (!Number.isSafeInteger(connectionId) || connectionId < 0) return undefined;
  return { protocol: protocol as TransportProtocol, address, port, connectionId };
}
