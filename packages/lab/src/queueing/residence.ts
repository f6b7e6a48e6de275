import { messageKey, type SipDatagram } from './sip-datagram.js';

/** A captured SIP datagram, reduced to what the match needs. */
export interface CapturedMessage extends SipDatagram {
  readonly timeUs: number;
  readonly sourcePort: number;
  readonly destinationPort: number;
}

/** One message's stay in the proxy, seen from the wire. */
export interface Residence {
  readonly key: string;
  readonly kind: string;
  readonly arrivalUs: number;
  readonly departureUs: number;
  readonly residenceUs: number;
}

export interface ResidenceMatch {
  /** In order of arrival. */
  readonly residences: Residence[];
  /** Messages that arrived and never left (the 100 the proxy absorbs, losses, the window's edge). */
  readonly unmatched: number;
  /** Arrivals of a message already seen (retransmissions): only the first counts. */
  readonly repeats: number;
}

/**
 * Matches each message that arrived at the proxy's UDP port with its first copy leaving that
 * port (same Call-ID, CSeq and method or status): its residence time, arrival to departure.
 */
export function matchResidences(messages: readonly CapturedMessage[], proxyPort: number): ResidenceMatch {
  const sorted = [...messages].sort((a, b) => a.timeUs - b.timeUs);
  const open = new Map<string, { kind: string; arrivalUs: number; departureUs?: number }>();
  const order: string[] = [];
  let repeats = 0;
  for (const message of sorted) {
    const key = messageKey(message);
    if (message.destinationPort === proxyPort && message.sourcePort !== proxyPort) {
      if (open.has(key)) repeats++;
      else {
        open.set(key, { kind: message.kind, arrivalUs: message.timeUs });
        order.push(key);
      }
    } else if (message.sourcePort === proxyPort) {
      const entry = open.get(key);
      if (entry !== undefined && entry.departureUs === undefined) entry.departureUs = message.timeUs;
    }
  }
  const residences: Residence[] = [];
  let unmatched = 0;
  for (const key of order) {
    const entry = open.get(key) as { kind: string; arrivalUs: number; departureUs?: number };
    if (entry.departureUs === undefined) {
      unmatched++;
      continue;
    }
    residences.push({ key, kind: entry.kind, arrivalUs: entry.arrivalUs, departureUs: entry.departureUs, residenceUs: entry.departureUs - entry.arrivalUs });
  }
  return { residences, unmatched, repeats };
}
