import { applyRoutingHeader, emptyRoutingHeaders } from './eager-headers.js';
import { SipError } from './errors.js';
import { canonicalHeaderName } from './header-names.js';
import { TOKEN_CHARS, isToken, unfold } from './lexer.js';
import { resolveLimits, type SipLimits } from './limits.js';
import { SipMessage, type HeaderField, type StartLine } from './message.js';
import { isSipUri, parseUri } from './uri.js';

export interface ParseOptions {
  /** Size limits; unset ones take DEFAULT_LIMITS. */
  readonly limits?: Partial<SipLimits>;
}

const CRLF = Buffer.from('\r\n');
const CRLFCRLF = Buffer.from('\r\n\r\n');
const SP = 0x20;
const HT = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;

/**
 * Parses one SIP message from `input` (a datagram, or one frame cut by the stream framer).
 *
 * The start line and the routing headers are parsed now; other headers on demand. CRLFs before
 * the start line are skipped (RFC 3261 §7.5). The body is Content-Length bytes; without a
 * Content-Length it is the rest of the input (§18.3, datagrams). Bytes after the body are ignored.
 * Throws SipError with an `ERR_SIP_*` code and the byte offset where parsing failed.
 */
export function parseMessage(input: Buffer, options: ParseOptions = {}): SipMessage {
  const limits = resolveLimits(options.limits);
  let start = 0;
  while (input[start] === CR && input[start + 1] === LF) start += 2;
  if (start >= input.length) throw new SipError('ERR_SIP_EMPTY_MESSAGE', 'No message: the input is empty or only CRLFs', start);

  const headerTerminator = input.indexOf(CRLFCRLF, start);
  if (headerTerminator < 0 || headerTerminator + 4 - start > limits.maxHeaderBytes) {
    if (input.length - start > limits.maxHeaderBytes || headerTerminator >= 0) {
      throw new SipError('ERR_SIP_HEADERS_TOO_LARGE', `Header section exceeds ${limits.maxHeaderBytes} bytes`, start + limits.maxHeaderBytes);
    }
    throw new SipError('ERR_SIP_INCOMPLETE_HEADERS', 'The header section has no terminating empty line', input.length);
  }
  const bodyStart = headerTerminator + 4;
  const startLineEnd = input.indexOf(CRLF, start);
  if (startLineEnd - start > limits.maxLineLength) {
    throw new SipError('ERR_SIP_LINE_TOO_LONG', `Start line exceeds ${limits.maxLineLength} bytes`, start);
  }
  const startLine = parseStartLine(input, start, startLineEnd);
  const fields = scanHeaderFields(input, startLineEnd + 2, headerTerminator + 2, limits);

  const routing = emptyRoutingHeaders();
  for (const field of fields) {
    switch (field.name) {
      case 'via':
      case 'from':
      case 'to':
      case 'call-id':
      case 'cseq':
      case 'max-forwards':
      case 'route':
      case 'record-route':
      case 'contact':
      case 'content-length':
        applyRoutingHeader(routing, field.name, unfold(input.toString('utf8', field.valueStart, field.valueEnd)), field.valueStart);
        break;
      default:
        break;
    }
  }

  const available = input.length - bodyStart;
  const declared = routing.contentLength;
  const bodyLength = declared ?? available;
  if (bodyLength > limits.maxBodyBytes) {
    throw new SipError('ERR_SIP_BODY_TOO_LARGE', `Body of ${bodyLength} bytes exceeds ${limits.maxBodyBytes}`, bodyStart);
  }
  if (bodyLength > available) {
    throw new SipError(
      'ERR_SIP_BODY_TRUNCATED',
      `Content-Length is ${bodyLength} but only ${available} body bytes arrived`,
      input.length,
    );
  }
  return new SipMessage({ input, start, startLineEnd, bodyStart, end: bodyStart + bodyLength }, startLine, fields, routing);
}

const VERSION = /^SIP\/(\d+)\.(\d+)$/i;

function checkVersion(version: string, offset: number): void {
  if (version === 'SIP/2.0') return;
  const match = VERSION.exec(version);
  if (match === null) throw new SipError('ERR_SIP_INVALID_START_LINE', `Bad SIP-Version "${version}"`, offset);
  if (Number(match[1]) !== 2 || Number(match[2]) !== 0) {
    throw new SipError('ERR_SIP_UNSUPPORTED_VERSION', `Unsupported SIP-Version "${version}"`, offset);
  }
}

function parseStartLine(input: Buffer, start: number, end: number): StartLine {
  const line = input.toString('utf8', start, end);
  if (line.startsWith('SIP/') || line.startsWith('sip/')) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (the reason may be empty).
    const firstSpace = line.indexOf(' ');
    if (firstSpace < 0) throw new SipError('ERR_SIP_INVALID_START_LINE', `Bad status line "${line}"`, start);
    checkVersion(line.slice(0, firstSpace), start);
    const secondSpace = line.indexOf(' ', firstSpace + 1);
    const codeText = line.slice(firstSpace + 1, secondSpace < 0 ? line.length : secondSpace);
    if (!/^[1-6][0-9][0-9]$/.test(codeText)) {
      throw new SipError('ERR_SIP_INVALID_STATUS_CODE', `Bad status code "${codeText}"`, start + firstSpace + 1);
    }
    const reason = secondSpace < 0 ? '' : line.slice(secondSpace + 1);
    if (/[\r\n]/.test(reason)) throw new SipError('ERR_SIP_INVALID_START_LINE', 'Control characters in the reason phrase', start);
    return { method: undefined, requestUriText: undefined, requestUri: undefined, status: Number(codeText), reason };
  }

  // Request-Line = Method SP Request-URI SP SIP-Version: exactly two single spaces.
  const parts = line.split(' ');
  if (parts.length !== 3 || parts.some((part) => part.length === 0)) {
    throw new SipError('ERR_SIP_INVALID_START_LINE', `Bad request line "${line}"`, start);
  }
  const [method, requestUriText, version] = parts as [string, string, string];
  if (!isToken(method)) throw new SipError('ERR_SIP_INVALID_METHOD', `Method "${method}" is not a token`, start);
  checkVersion(version, start + method.length + requestUriText.length + 2);
  const uriOffset = start + method.length + 1;
  if (requestUriText.startsWith('<')) {
    throw new SipError('ERR_SIP_INVALID_URI', 'The Request-URI must not be enclosed in <>', uriOffset);
  }
  const requestUri = parseUri(requestUriText, uriOffset);
  if (isSipUri(requestUri) && requestUri.headers.length > 0) {
    throw new SipError('ERR_SIP_INVALID_URI', 'A Request-URI must not carry URI headers (RFC 3261 §19.1.5)', uriOffset);
  }
  return { method, requestUriText, requestUri, status: undefined, reason: undefined };
}

/** Splits the header section [from, to) (each field ends in CRLF) into fields. */
function scanHeaderFields(input: Buffer, from: number, to: number, limits: SipLimits): HeaderField[] {
  const fields: HeaderField[] = [];
  let pos = from;
  while (pos < to) {
    const fieldStart = pos;
    const first = input[fieldStart];
    if (first === SP || first === HT) {
      throw new SipError('ERR_SIP_INVALID_HEADER', 'Continuation line before any header', fieldStart);
    }
    let lineEnd = input.indexOf(CRLF, pos);
    while (lineEnd + 2 < to && (input[lineEnd + 2] === SP || input[lineEnd + 2] === HT)) {
      lineEnd = input.indexOf(CRLF, lineEnd + 2);
    }
    if (lineEnd - fieldStart > limits.maxLineLength) {
      throw new SipError('ERR_SIP_LINE_TOO_LONG', `Header line exceeds ${limits.maxLineLength} bytes`, fieldStart);
    }
    if (fields.length >= limits.maxHeaders) {
      throw new SipError('ERR_SIP_TOO_MANY_HEADERS', `More than ${limits.maxHeaders} header lines`, fieldStart);
    }
    let nameEnd = fieldStart;
    while (nameEnd < lineEnd && TOKEN_CHARS[input[nameEnd] as number] === 1) nameEnd++;
    if (nameEnd === fieldStart) throw new SipError('ERR_SIP_INVALID_HEADER', 'Header name is not a token', fieldStart);
    let colon = nameEnd;
    while (colon < lineEnd && (input[colon] === SP || input[colon] === HT)) colon++;
    if (input[colon] !== COLON) throw new SipError('ERR_SIP_INVALID_HEADER', 'Header line without a colon after its name', colon);

    let valueStart = colon + 1;
    for (;;) {
      const byte = input[valueStart];
      if (byte === SP || byte === HT) valueStart++;
      else if (byte === CR && valueStart < lineEnd && input[valueStart + 1] === LF) valueStart += 2;
      else break;
    }
    let valueEnd = lineEnd;
    while (valueEnd > valueStart && (input[valueEnd - 1] === SP || input[valueEnd - 1] === HT)) valueEnd--;
    fields.push({
      name: canonicalHeaderName(input.toString('latin1', fieldStart, nameEnd)),
      start: fieldStart,
      end: lineEnd + 2,
      valueStart,
      valueEnd,
    });
    pos = lineEnd + 2;
  }
  return fields;
}
