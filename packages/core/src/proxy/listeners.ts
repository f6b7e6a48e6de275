import { isSipUri, uriHostname, type Uri, type Via } from '@switchboard/sip';
import type { TransportProtocol } from '../transport-address.js';

/** An address the proxy listens on, as it writes it into Via and Record-Route. */
export interface Listener {
  readonly protocol: TransportProtocol;
  readonly host: string;
  readonly port: number;
}

/**
 * Whether a SIP URI names one of our listeners (host and port; without a port, 5060, or 5061 for
 * `sips:` and `transport=tls`, as `uriTarget` would reach it). No allocation: it runs several
 * times for every request.
 */
export function isUs(listeners: readonly Listener[], uri: Uri | undefined): boolean {
  if (uri === undefined || !isSipUri(uri)) return false;
  const host = uriHostname(uri);
  const port = uri.port ?? (uri.scheme === 'sips' || uri.params.get('transport')?.toLowerCase() === 'tls' ? 5061 : 5060);
  for (const listener of listeners) if (listener.port === port && listener.host.toLowerCase() === host) return true;
  return false;
}

/** Whether a Via's sent-by is one of our listeners: a Via this proxy wrote. */
export function isOurSentBy(listeners: readonly Listener[], via: Via): boolean {
  const host = via.host.replace(/^\[|\]$/g, '').toLowerCase();
  const port = via.port ?? 5060;
  for (const listener of listeners) if (listener.port === port && listener.host.toLowerCase() === host) return true;
  return false;
}

/** The listener that sends over `protocol`, the first one when there are several. */
export function listenerFor(listeners: readonly Listener[], protocol: TransportProtocol): Listener | undefined {
  for (const listener of listeners) if (listener.protocol === protocol) return listener;
  return undefined;
}

/** A listener we send from, or (clientOnly) a transport we are only a client of. */
export type OutgoingListener = Listener & { readonly clientOnly?: true };

/**
 * What our Via says for a request sent over `protocol`: its listener, or, over a transport we
 * are only a client of (`clientTransports`), that transport with the host and port of our first
 * listener. Responses come back on the connection we opened (RFC 3261 §18.2.2), so the port is
 * not used to reach us; it names an address of ours, so our Via is recognised in the responses
 * (§18.1.2) and in loop detection. No port would do better: nothing listens for that transport
 * here, so a server that lost the connection cannot open one back to any port we could write.
 */
export function outgoingFor(
  listeners: readonly Listener[],
  clientTransports: readonly TransportProtocol[] | undefined,
  protocol: TransportProtocol,
): OutgoingListener | undefined {
  const listener = listenerFor(listeners, protocol);
  if (listener !== undefined) return listener;
  const first = listeners[0];
  if (first === undefined || clientTransports?.includes(protocol) !== true) return undefined;
  return { protocol, host: first.host, port: first.port, clientOnly: true };
}
