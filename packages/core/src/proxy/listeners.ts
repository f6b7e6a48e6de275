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
