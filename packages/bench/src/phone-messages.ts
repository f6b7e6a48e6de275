/**
 * The SIP text a simulated phone writes: REGISTER, INVITE (with an SDP offer), ACK, BYE, and the
 * callee's responses. Plain string templates: the generator must cost far less per call than the
 * proxy it measures.
 */
import { randomBytes } from 'node:crypto';
import type { SipMessage } from '@switchboard/sip';
import type { BenchTransport } from './bench-result.js';

const VIA_TRANSPORT: Record<BenchTransport, string> = { udp: 'UDP', tcp: 'TCP', tls: 'TLS' };

let sequence = 0;
const PROCESS_TAG = randomBytes(4).toString('hex');

/** A token unique within this run: pid-local counter plus a random per-process prefix. */
export function uniqueToken(): string {
  sequence = (sequence + 1) % Number.MAX_SAFE_INTEGER;
  return `${PROCESS_TAG}${sequence.toString(36)}`;
}

export function newBranch(): string {
  return `z9hG4bK-bench-${uniqueToken()}`;
}

/** Where a phone is reached and how it writes its Via and Contact. */
export interface PhoneAddress {
  readonly user: string;
  readonly domain: string;
  readonly transport: BenchTransport;
  /** The host and port written into Via sent-by. */
  readonly viaHost: string;
  readonly viaPort: number;
  /** The host and port written into Contact (a listener for callees that accept connections). */
  readonly contactHost: string;
  readonly contactPort: number;
}

export function contactUri(phone: PhoneAddress): string {
  const transport = phone.transport === 'udp' ? '' : `;transport=${phone.transport}`;
  return `sip:${phone.user}@${phone.contactHost}:${phone.contactPort}${transport}`;
}

function via(phone: PhoneAddress, branch: string): string {
  return `Via: SIP/2.0/${VIA_TRANSPORT[phone.transport]} ${phone.viaHost}:${phone.viaPort};branch=${branch};rport\r\n`;
}

function withBody(head: string, body: string, contentType?: string): string {
  const type = contentType === undefined ? '' : `Content-Type: ${contentType}\r\n`;
  return `${head}${type}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

function sdp(port: number): string {
  return (
    'v=0\r\n' +
    `o=bench ${port} 1 IN IP4 127.0.0.1\r\n` +
    's=-\r\n' +
    'c=IN IP4 127.0.0.1\r\n' +
    't=0 0\r\n' +
    `m=audio ${port} RTP/AVP 0 8 101\r\n` +
    'a=rtpmap:0 PCMU/8000\r\n' +
    'a=rtpmap:8 PCMA/8000\r\n' +
    'a=rtpmap:101 telephone-event/8000\r\n'
  );
}

export interface RegisterRequest {
  readonly text: string;
  readonly callId: string;
  readonly branch: string;
}

/** `contactTransport`: the transport the Contact names, when the REGISTER travels over another. */
export function registerRequest(phone: PhoneAddress, callId: string, cseq: number, expires: number, contactTransport: BenchTransport = phone.transport, extraHeaders = ''): RegisterRequest {
  const branch = newBranch();
  const aor = `sip:${phone.user}@${phone.domain}`;
  const text = withBody(
    `REGISTER sip:${phone.domain} SIP/2.0\r\n` +
      via(phone, branch) +
      'Max-Forwards: 70\r\n' +
      `From: <${aor}>;tag=${callId.slice(0, 10)}\r\n` +
      `To: <${aor}>\r\n` +
      `Call-ID: ${callId}\r\n` +
      `CSeq: ${cseq} REGISTER\r\n` +
      `Contact: <${contactUri({ ...phone, transport: contactTransport })}>\r\n` +
      `Expires: ${expires}\r\n` +
      extraHeaders +
      'User-Agent: switchboard-bench\r\n',
    '',
  );
  return { text, callId, branch };
}

/** What a caller keeps of its INVITE to build the ACK and BYE later. */
export interface OutgoingCall {
  readonly callId: string;
  readonly fromTag: string;
  readonly calleeAor: string;
  readonly inviteBranch: string;
  /** The INVITE's CSeq number: 1, or 2 when it was sent again with credentials. ACK and BYE follow it. */
  readonly inviteCseq?: number;
}

export function inviteRequest(caller: PhoneAddress, callee: string, call: OutgoingCall, extraHeaders = ''): string {
  const from = `sip:${caller.user}@${caller.domain}`;
  return withBody(
    `INVITE ${call.calleeAor} SIP/2.0\r\n` +
      via(caller, call.inviteBranch) +
      'Max-Forwards: 70\r\n' +
      `From: <${from}>;tag=${call.fromTag}\r\n` +
      `To: <sip:${callee}@${caller.domain}>\r\n` +
      `Call-ID: ${call.callId}\r\n` +
      `CSeq: ${call.inviteCseq ?? 1} INVITE\r\n` +
      `Contact: <${contactUri(caller)}>\r\n` +
      extraHeaders +
      'User-Agent: switchboard-bench\r\n',
    sdp(caller.viaPort),
    'application/sdp',
  );
}

/** The dialog a caller learns from the 2xx: where in-dialog requests go and along which route. */
export interface DialogRoute {
  readonly remoteTarget: string;
  /** Route header values, in the order they are written (the reverse of Record-Route at the UAC). */
  readonly routeSet: readonly string[];
  readonly toHeader: string;
}

export function dialogFromResponse(response: SipMessage): DialogRoute {
  const contact = response.header('contact') ?? '';
  const remoteTarget = /<([^>]+)>/.exec(contact)?.[1] ?? contact.split(';')[0]?.trim() ?? '';
  return {
    remoteTarget,
    routeSet: response.headers('record-route').reverse(),
    toHeader: response.header('to') ?? '',
  };
}

function inDialog(method: 'ACK' | 'BYE', caller: PhoneAddress, call: OutgoingCall, dialog: DialogRoute, branch: string, cseq: number, extraHeaders = ''): string {
  const routes = dialog.routeSet.length === 0 ? '' : `Route: ${dialog.routeSet.join(', ')}\r\n`;
  return withBody(
    `${method} ${dialog.remoteTarget} SIP/2.0\r\n` +
      via(caller, branch) +
      'Max-Forwards: 70\r\n' +
      routes +
      `From: <sip:${caller.user}@${caller.domain}>;tag=${call.fromTag}\r\n` +
      `To: ${dialog.toHeader}\r\n` +
      `Call-ID: ${call.callId}\r\n` +
      `CSeq: ${cseq} ${method}\r\n` +
      extraHeaders +
      'User-Agent: switchboard-bench\r\n',
    '',
  );
}

export function ackFor2xx(caller: PhoneAddress, call: OutgoingCall, dialog: DialogRoute): string {
  return inDialog('ACK', caller, call, dialog, newBranch(), call.inviteCseq ?? 1);
}

export function byeRequest(caller: PhoneAddress, call: OutgoingCall, dialog: DialogRoute, branch: string, cseq = (call.inviteCseq ?? 1) + 1, extraHeaders = ''): string {
  return inDialog('BYE', caller, call, dialog, branch, cseq, extraHeaders);
}

/**
 * The ACK of a non-2xx final response (RFC 3261 §17.1.1.3): same branch and Request-URI as the
 * INVITE, To from the response, sent hop by hop.
 */
export function ackForFailure(caller: PhoneAddress, call: OutgoingCall, response: SipMessage): string {
  return withBody(
    `ACK ${call.calleeAor} SIP/2.0\r\n` +
      via(caller, call.inviteBranch) +
      'Max-Forwards: 70\r\n' +
      `From: <sip:${caller.user}@${caller.domain}>;tag=${call.fromTag}\r\n` +
      `To: ${response.header('to') ?? ''}\r\n` +
      `Call-ID: ${call.callId}\r\n` +
      `CSeq: ${call.inviteCseq ?? 1} ACK\r\n`,
    '',
  );
}

/**
 * A UAS response to `request`: every Via, From, Call-ID and CSeq copied, To with our tag, and
 * for dialog-creating responses Record-Route copied and our Contact (RFC 3261 §8.2.6, §12.1.1).
 */
export function responseTo(request: SipMessage, status: number, reason: string, options: { toTag?: string; contact?: string; withSdpPort?: number } = {}): string {
  let head = `SIP/2.0 ${status} ${reason}\r\n`;
  for (const value of request.headers('via')) head += `Via: ${value}\r\n`;
  if (options.contact !== undefined) for (const value of request.headers('record-route')) head += `Record-Route: ${value}\r\n`;
  head += `From: ${request.header('from') ?? ''}\r\n`;
  const to = request.header('to') ?? '';
  head += `To: ${options.toTag === undefined || /;\s*tag=/i.test(to) ? to : `${to};tag=${options.toTag}`}\r\n`;
  head += `Call-ID: ${request.header('call-id') ?? ''}\r\n`;
  head += `CSeq: ${request.header('cseq') ?? ''}\r\n`;
  if (options.contact !== undefined) head += `Contact: <${options.contact}>\r\n`;
  if (options.withSdpPort !== undefined) return withBody(head, sdp(options.withSdpPort), 'application/sdp');
  return withBody(head, '');
}
