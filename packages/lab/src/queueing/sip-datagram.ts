/**
 * What the residence-time match needs of a captured SIP datagram: its identity (Call-ID, CSeq,
 * and a request's method or a response's status) and its type as study 003 counts them. A small
 * reader of its own: the lab must not lean on the proxy's parser to check the proxy.
 */

export interface SipDatagram {
  readonly callId: string;
  readonly cseq: number;
  readonly cseqMethod: string;
  /** 0 for a request. */
  readonly status: number;
  readonly kind: string;
}

/** The study's message types: INVITE, 100, 180, 200, ACK, BYE, 200-BYE, and `other`. */
export function kindOf(status: number, cseqMethod: string, method: string | undefined): string {
  if (status === 0) return method === 'INVITE' || method === 'ACK' || method === 'BYE' ? method : 'other';
  if (cseqMethod === 'INVITE') return status === 100 || status === 180 || status === 200 ? String(status) : 'other';
  return cseqMethod === 'BYE' && status === 200 ? '200-BYE' : 'other';
}

/** The identity of a SIP message in `payload`, or undefined when it has no start line, Call-ID or CSeq. */
export function readSipDatagram(payload: Buffer): SipDatagram | undefined {
  const headerEnd = payload.indexOf('\r\n\r\n');
  const text = payload.toString('latin1', 0, headerEnd < 0 ? payload.length : headerEnd);
  const lines = text.split('\r\n');
  const startLine = lines[0] ?? '';
  let status = 0;
  let method: string | undefined;
  if (startLine.startsWith('SIP/2.0 ')) {
    status = Number.parseInt(startLine.slice(8, 11), 10);
    if (!(status >= 100 && status <= 699)) return undefined;
  } else {
    const space = startLine.indexOf(' ');
    if (space <= 0 || !startLine.endsWith(' SIP/2.0')) return undefined;
    method = startLine.slice(0, space);
  }
  let callId: string | undefined;
  let cseqText: string | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (name === 'call-id' || name === 'i') callId = line.slice(colon + 1).trim();
    else if (name === 'cseq') cseqText = line.slice(colon + 1).trim();
  }
  if (callId === undefined || cseqText === undefined) return undefined;
  const match = /^(\d+)\s+(\S+)$/.exec(cseqText);
  if (match === null) return undefined;
  const cseqMethod = match[2] as string;
  return { callId, cseq: Number(match[1]), cseqMethod, status, kind: kindOf(status, cseqMethod, method) };
}

/** The key a message and its forwarded copy share (a response keeps its request's CSeq). */
export function messageKey(message: { readonly callId: string; readonly cseq: number; readonly cseqMethod: string; readonly status: number }): string {
  return `${message.callId}\u0000${message.cseq}\u0000${message.cseqMethod}\u0000${message.status}`;
}
