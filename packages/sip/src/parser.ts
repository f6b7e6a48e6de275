import { isAscii } from 'node:buffer';
import { applyRoutingHeader, emptyRoutingHeaders } from './eager-headers.js';
import { SipError } from './errors.js';
import { headerNameAt } from './header-names.js';
import { isToken, unfold } from './lexer.js';
import { resolveLimits, type SipLimits } from './limits.js';
import { SipMessage, type HeaderField, type StartLine } from './message.js';
import { isSipUri, parseUriMemoized } from './uri.js';

export interface ParseOptions {
  /** Size limits; unset ones take DEFAULT_LIMITS. */
  readonly limits?: Partial<SipLimits>;
}

const SP = 0x20;
const HT = 0x09;
const CR = 0x0d;
const LF = 0x0a;
/** A character of the latin1 header section that stands for a byte outside ASCII. */
const NON_ASCII = /[^\x00-\x7f]/;

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

  // One latin1 string of the input up to the header limit: its character offsets are byte
  // offsets, and scanning it in JavaScript avoids a native call per line. Values are decoded as
  // UTF-8 only when the header section holds non-ASCII bytes.
  const scanEnd = Math.min(input.length, start + limits.maxHeaderBytes);
  const text = input.toString('latin1', start, scanEnd);
  const terminator = text.indexOf('\r\n\r\n');
  if (terminator < 0) {
    if (scanEnd < input.length) {
      throw new SipError('ERR_SIP_HEADERS_TOO_LARGE', `Header section exceeds ${limits.maxHeaderBytes} bytes`, scanEnd);
    }
    throw new SipError('ERR_SIP_INCOMPLETE_HEADERS', 'The header section has no terminating empty line', input.length);
  }
  const head = text.length === terminator + 4 ? text : text.slice(0, terminator + 4);
  const bodyStart = start + terminator + 4;
  // The whole input at once when it is ASCII, as nearly every message is (one native check).
  const ascii = isAscii(input) || !NON_ASCII.test(head);
  const startLineEnd = head.indexOf('\r\n');
  if (startLineEnd > limits.maxLineLength) {
    throw new SipError('ERR_SIP_LINE_TOO_LONG', `Start line exceeds ${limits.maxLineLength} bytes`, start);
  }
  const startLine = parseStartLine(ascii ? head.slice(0, startLineEnd) : input.toString('utf8', start, start + startLineEnd), start);
  const fields = scanHeaderFields(head, start, startLineEnd + 2, head.length - 2, limits);

  const routing = emptyRoutingHeaders();
  for (const field of fields) {
    if (field.routing) {
      const raw = ascii
        ? head.slice(field.valueStart - start, field.valueEnd - start)
        : input.toString('utf8', field.valueStart, field.valueEnd);
      applyRoutingHeader(routing, field.name, unfold(raw), field.valueStart);
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
  return new SipMessage({ input, start, startLineEnd: start + startLineEnd, bodyStart, end: bodyStart + bodyLength }, startLine, fields, routing);
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

function parseStartLine(line: string, start: number): StartLine {
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
  const firstSpace = line.indexOf(' ');
  const secondSpace = line.indexOf(' ', firstSpace + 1);
  if (firstSpace <= 0 || secondSpace <= firstSpace + 1 || secondSpace === line.length - 1 || line.indexOf(' ', secondSpace + 1) >= 0) {
    throw new SipError('ERR_SIP_INVALID_START_LINE', `Bad request line "${line}"`, start);
  }
  const method = line.slice(0, firstSpace);
  const requestUriText = line.slice(firstSpace + 1, secondSpace);
  const version = line.slice(secondSpace + 1);
  if (!isToken(method)) throw new SipError('ERR_SIP_INVALID_METHOD', `Method "${method}" is not a token`, start);
  checkVersion(version, start + method.length + requestUriText.length + 2);
  const uriOffset = start + method.length + 1;
  if (requestUriText.startsWith('<')) {
    throw new SipError('ERR_SIP_INVALID_URI', 'The Request-URI must not be enclosed in <>', uriOffset);
  }
  const requestUri = parseUriMemoized(requestUriText, uriOffset);
  if (isSipUri(requestUri) && requestUri.headers.length > 0) {
    throw new SipError('ERR_SIP_INVALID_URI', 'A Request-URI must not carry URI headers (RFC 3261 §19.1.5)', uriOffset);
  }
  return { method, requestUriText, requestUri, status: undefined, reason: undefined };
}

/**
 * Splits the header lines of `head` (the header section as latin1, starting at byte `base` of the
 * input) from index `from` to `to` (each field ends in CRLF) into fields with absolute offsets.
 */
function scanHeaderFields(head: string, base: number, from: number, to: number, limits: SipLimits): HeaderField[] {
  const fields: HeaderField[] = [];
  let pos = from;
  while (pos < to) {
    const fieldStart = pos;
    const first = head.charCodeAt(fieldStart);
    if (first === SP || first === HT) {
      throw new SipError('ERR_SIP_INVALID_HEADER', 'Continuation line before any header', base + fieldStart);
    }
    let lineEnd = head.indexOf('\r\n', pos);
    while (lineEnd + 2 < to && (head.charCodeAt(lineEnd + 2) === SP || head.charCodeAt(lineEnd + 2) === HT)) {
      lineEnd = head.indexOf('\r\n', lineEnd + 2);
    }
    if (lineEnd - fieldStart > limits.maxLineLength) {
      throw new SipError('ERR_SIP_LINE_TOO_LONG', `Header line exceeds ${limits.maxLineLength} bytes`, base + fieldStart);
    }
    if (fields.length >= limits.maxHeaders) {
      throw new SipError('ERR_SIP_TOO_MANY_HEADERS', `More than ${limits.maxHeaders} header lines`, base + fieldStart);
    }
    // The name runs to the colon (blanks before it allowed); names already seen are looked up
    // by their exact spelling, new ones are checked to be tokens first.
    const colon = head.indexOf(':', fieldStart);
    if (colon < 0 || colon > lineEnd) {
      throw new SipError('ERR_SIP_INVALID_HEADER', 'Header line without a colon', base + fieldStart);
    }
    let nameEnd = colon;
    while (nameEnd > fieldStart && (head.charCodeAt(nameEnd - 1) === SP || head.charCodeAt(nameEnd - 1) === HT)) nameEnd--;
    const known = headerNameAt(head, fieldStart, nameEnd);
    if (known === undefined) {
      throw new SipError('ERR_SIP_INVALID_HEADER', `Header name "${head.slice(fieldStart, nameEnd)}" is not a token`, base + fieldStart);
    }
    let valueStart = colon + 1;
    for (;;) {
      const code = head.charCodeAt(valueStart);
      if (code === SP || code === HT) valueStart++;
      else if (code === CR && valueStart < lineEnd && head.charCodeAt(valueStart + 1) === LF) valueStart += 2;
      else break;
    }
    let valueEnd = lineEnd;
    while (valueEnd > valueStart && (head.charCodeAt(valueEnd - 1) === SP || head.charCodeAt(valueEnd - 1) === HT)) valueEnd--;
    fields.push({
      name: known.name,
      routing: known.routing,
      start: base + fieldStart,
      end: base + lineEnd + 2,
      valueStart: base + valueStart,
      valueEnd: base + valueEnd,
    });
    pos = lineEnd + 2;
  }
  return fields;
}
