import { randomBytes } from 'node:crypto';
import { byteString, bytesOf } from './byte-string.js';
import { SIP_ERROR_CODES, isSipError } from './errors.js';
import { canonicalHeaderName, writtenHeaderName } from './header-names.js';
import type { SipMessage } from './message.js';

/** Reason phrases of RFC 3261 §21 and the extensions a proxy meets. */
export const REASON_PHRASES: Readonly<Record<number, string>> = {
  100: 'Trying',
  180: 'Ringing',
  181: 'Call Is Being Forwarded',
  182: 'Queued',
  183: 'Session Progress',
  200: 'OK',
  202: 'Accepted',
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Moved Temporarily',
  305: 'Use Proxy',
  380: 'Alternative Service',
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  410: 'Gone',
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Unsupported URI Scheme',
  420: 'Bad Extension',
  421: 'Extension Required',
  423: 'Interval Too Brief',
  429: 'Too Many Requests',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  482: 'Loop Detected',
  483: 'Too Many Hops',
  484: 'Address Incomplete',
  485: 'Ambiguous',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  491: 'Request Pending',
  493: 'Undecipherable',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Server Time-out',
  505: 'Version Not Supported',
  513: 'Message Too Large',
  600: 'Busy Everywhere',
  603: 'Decline',
  604: 'Does Not Exist Anywhere',
  606: 'Not Acceptable',
};

export function reasonPhrase(status: number): string {
  return REASON_PHRASES[status] ?? REASON_PHRASES[Math.floor(status / 100) * 100] ?? 'Unknown';
}

/** A fresh random tag for a To or From header. */
export function newTag(): string {
  return randomBytes(6).toString('hex');
}

export interface ResponseOptions {
  readonly reason?: string;
  /** Tag to add to To when the request's To has none (a fresh one by default, none for 100). */
  readonly toTag?: string;
  /** Copy Record-Route (a UAS answering a dialog-creating request does, §12.1.1). */
  readonly copyRecordRoute?: boolean;
  /** Further headers, in order. */
  readonly headers?: ReadonlyArray<readonly [name: string, value: string]>;
  readonly body?: Buffer | string;
  readonly contentType?: string;
}

const COPIED = new Set(['via', 'from', 'to', 'call-id', 'cseq']);

/**
 * Builds the bytes of a response to `request` (RFC 3261 §8.2.6): Via, From, Call-ID and CSeq
 * copied byte for byte as they arrived, To copied with a tag added when it has none (except for
 * 100 Trying). Reason and further header values are text, written as UTF-8.
 */
export function buildResponse(request: SipMessage, status: number, options: ResponseOptions = {}): Buffer {
  if (options.headers === undefined && options.body === undefined && options.contentType === undefined && options.copyRecordRoute !== true) {
    const copied = copiedResponse(request, status, options);
    if (copied !== undefined) return copied;
  }
  const lines = [`SIP/2.0 ${status} ${byteString(options.reason ?? reasonPhrase(status))}`];
  for (const field of request.fields) {
    const copy = COPIED.has(field.name) || (options.copyRecordRoute === true && field.name === 'record-route');
    if (!copy) continue;
    let value = request.fieldBytes(field);
    if (field.name === 'to' && status > 100 && request.toTag === undefined) value += `;tag=${byteString(options.toTag ?? newTag())}`;
    lines.push(`${writtenHeaderName(field.name)}: ${value}`);
  }
  return finishMessage(lines, options);
}

const CONTENT_LENGTH_ZERO = 'Content-Length: 0\r\n\r\n';

/**
 * buildResponse without further headers or body (100 Trying and most of the proxy's own answers),
 * written straight into one Buffer: the same bytes, without a string per line. Undefined when a
 * copied field was edited or is folded (copyFieldValue), for the general way.
 */
function copiedResponse(request: SipMessage, status: number, options: ResponseOptions): Buffer | undefined {
  const statusLine = `SIP/2.0 ${status} ${byteString(options.reason ?? reasonPhrase(status))}\r\n`;
  let length = statusLine.length + CONTENT_LENGTH_ZERO.length;
  let toTag: string | undefined;
  for (const field of request.fields) {
    if (!COPIED.has(field.name)) continue;
    if (field.text !== undefined) return undefined;
    length += writtenHeaderName(field.name).length + 4 + field.valueEnd - field.valueStart;
    if (field.name === 'to' && status > 100 && request.toTag === undefined) {
      toTag ??= `;tag=${byteString(options.toTag ?? newTag())}`;
      length += toTag.length;
    }
  }
  const out = Buffer.allocUnsafe(length);
  let at = out.write(statusLine, 0, 'latin1');
  for (const field of request.fields) {
    if (!COPIED.has(field.name)) continue;
    at += out.write(writtenHeaderName(field.name), at, 'latin1');
    out[at++] = 0x3a;
    out[at++] = 0x20;
    const copied = request.copyFieldValue(field, out, at);
    if (copied < 0) return undefined;
    at += copied;
    if (field.name === 'to' && toTag !== undefined) at += out.write(toTag, at, 'latin1');
    out[at++] = 0x0d;
    out[at++] = 0x0a;
  }
  at += out.write(CONTENT_LENGTH_ZERO, at, 'latin1');
  return at === length ? out : out.subarray(0, at);
}

/**
 * Headers a response of this status must carry for the client to act on it, which a response cut
 * down to fit (buildResponseWithin) keeps: the challenge of a 401 or 407 (§20.44, §20.27), Allow
 * of a 405 (§21.4.6), Unsupported of a 420 (§21.4.15), Min-Expires of a 423 (§10.3 step 7) and
 * the Contact bindings of a 2xx to REGISTER (§10.3 step 8; its Date is only a SHOULD).
 *
 * `allowance`: the required headers are made by this element and bounded in size whatever the
 * request holds (a challenge, Allow, Min-Expires), so they may come on top of `maxBytes`; without
 * them a 401 to an ordinary REGISTER would never fit and digest authentication over UDP would
 * stop. Unsupported echoes the request's Proxy-Require and the bindings of a REGISTER grow with
 * the address-of-record, so those must fit within `maxBytes`.
 */
function requiredHeaders(status: number, method: string | undefined): { readonly names: ReadonlySet<string>; readonly allowance: boolean } {
  switch (status) {
    case 401: return { names: new Set(['www-authenticate']), allowance: true };
    case 407: return { names: new Set(['proxy-authenticate']), allowance: true };
    case 405: return { names: new Set(['allow']), allowance: true };
    case 423: return { names: new Set(['min-expires']), allowance: true };
    case 420: return { names: new Set(['unsupported']), allowance: false };
    default: return { names: status >= 200 && status < 300 && method === 'REGISTER' ? new Set(['contact']) : new Set(), allowance: false };
  }
}

/**
 * A response no larger than `maxBytes` (over UDP, about the size of the request it answers, so
 * that the element never reflects more than it received): the full response when it fits; else the same
 * status with only Via, From, To, Call-ID, CSeq and the headers the status requires (no body, no
 * Record-Route, no optional headers); undefined when even that does not fit, for the caller to
 * drop and count. A challenge, Allow or Min-Expires that the status requires is made here and
 * bounded, and may come on top of `maxBytes` (see requiredHeaders); the copied part never does.
 */
export function buildResponseWithin(request: SipMessage, status: number, maxBytes: number, options: ResponseOptions = {}): Buffer | undefined {
  const full = buildResponse(request, status, options);
  if (full.length <= maxBytes) return full;
  const required = requiredHeaders(status, request.method);
  const kept = options.headers?.filter(([name]) => required.names.has(canonicalHeaderName(name))) ?? [];
  const minimal = buildResponse(request, status, { reason: options.reason, toTag: options.toTag, headers: kept });
  const allowance = required.allowance ? kept.reduce((sum, [name, value]) => sum + Buffer.byteLength(`${name}: ${value}\r\n`), 0) : 0;
  return minimal.length <= maxBytes + allowance ? minimal : undefined;
}

/** Adds the extra headers, Content-Type, Content-Length and body to the lines (byte strings) of a message. */
function finishMessage(lines: string[], options: ResponseOptions): Buffer {
  for (const [name, value] of options.headers ?? []) lines.push(`${byteString(name)}: ${byteString(value)}`);
  const body = options.body === undefined ? Buffer.alloc(0) : Buffer.from(options.body);
  if (options.contentType !== undefined) lines.push(`Content-Type: ${byteString(options.contentType)}`);
  lines.push(`Content-Length: ${body.length}`, '', '');
  const head = bytesOf(lines.join('\r\n'));
  return body.length === 0 ? head : Buffer.concat([head, body]);
}

export interface RejectionOptions {
  /** Largest response to send (over UDP: the size of the input); larger ones are not built. */
  readonly maxBytes?: number;
}

/**
 * The response a server sends for a request it could not parse or must reject (RFC 3261 §8.2,
 * §16.3): status and reason from the error's code (400 with a reason naming the fault, 505, 513,
 * 416, ...). Works from the raw bytes, because a request that failed to parse has no message
 * object: it copies the Via, From, To, Call-ID and CSeq lines it can find, byte for byte, and
 * nothing else. Returns undefined when no response can be sent: the input is a response or an
 * ACK, it lacks a header the client needs to match the response, or the response would be larger
 * than `maxBytes` (such input is dropped and counted).
 */
export function rejectionResponse(input: Buffer, error: unknown, options: RejectionOptions = {}): Buffer | undefined {
  const spec = isSipError(error) ? SIP_ERROR_CODES[error.code] : SIP_ERROR_CODES.ERR_SIP_INVALID_HEADER;
  // latin1: one character per byte, so every copied value goes back out exactly as it came.
  const text = input.toString('latin1');
  let start = 0;
  while (text.startsWith('\r\n', start)) start += 2;
  const headerEnd = text.indexOf('\r\n\r\n', start);
  const section = text.slice(start, headerEnd < 0 ? Math.min(text.length, 16 * 1024) : headerEnd);
  const [startLine = '', ...rawLines] = section.split('\r\n');
  const method = /^([^\s]+) /.exec(startLine)?.[1];
  if (method === undefined || /^SIP\//i.test(startLine) || method.toUpperCase() === 'ACK') return undefined;

  const lines = [`SIP/2.0 ${spec.status} ${spec.reason}`];
  const found = new Set<string>();
  let toHasTag = false;
  for (const line of unfoldLines(rawLines)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = canonicalHeaderName(line.slice(0, colon).trim());
    if (!COPIED.has(name)) continue;
    const value = line.slice(colon + 1).trim();
    if (name === 'to') {
      if (found.has('to')) continue;
      toHasTag = /;\s*tag\s*=/i.test(value);
    } else if (found.has(name) && name !== 'via') {
      continue;
    }
    found.add(name);
    lines.push(`${writtenHeaderName(name)}: ${name === 'to' && !toHasTag ? `${value};tag=${newTag()}` : value}`);
  }
  if (found.size < COPIED.size) return undefined;
  const response = finishMessage(lines, {});
  return options.maxBytes !== undefined && response.length > options.maxBytes ? undefined : response;
}

/** Joins continuation lines to the line they continue: the fold and the blanks around it become one space (§7.3.1). */
function unfoldLines(lines: string[]): string[] {
  const unfolded: string[] = [];
  for (const line of lines) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && unfolded.length > 0) {
      unfolded[unfolded.length - 1] = `${(unfolded[unfolded.length - 1] as string).replace(/[ \t]+$/, '')} ${line.replace(/^[ \t]+/, '')}`;
    } else {
      unfolded.push(line);
    }
  }
  return unfolded;
}
