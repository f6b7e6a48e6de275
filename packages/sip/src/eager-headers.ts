import { parseCSeq, type CSeq } from './cseq.js';
import { SipError } from './errors.js';
import { isWhitespace, parseDecimal, splitList } from './lexer.js';
import { parseNameAddrMemoized, scanTaggedAddress, type NameAddr, type TaggedAddress } from './name-addr.js';
import { parseVia, type Via } from './via.js';

/**
 * The headers a proxy needs for every message, parsed as soon as the message is: Via, From, To,
 * Call-ID, CSeq, Max-Forwards, Route, Record-Route, Contact and Content-Length.
 */
export interface RoutingHeaders {
  via: Via[];
  /** From and To: text and tag now, the full name-addr when first asked for. */
  from: TaggedAddress | undefined;
  to: TaggedAddress | undefined;
  callId: string | undefined;
  cseq: CSeq | undefined;
  maxForwards: number | undefined;
  route: NameAddr[];
  recordRoute: NameAddr[];
  /** Contact values; empty when there is none or when the Contact is `*`. */
  contact: NameAddr[];
  /** True for `Contact: *` (a REGISTER that removes every binding). */
  contactStar: boolean;
  contentLength: number | undefined;
}

export function emptyRoutingHeaders(): RoutingHeaders {
  return {
    via: [],
    from: undefined,
    to: undefined,
    callId: undefined,
    cseq: undefined,
    maxForwards: undefined,
    route: [],
    recordRoute: [],
    contact: [],
    contactStar: false,
    contentLength: undefined,
  };
}

function duplicate(name: string, offset: number): SipError {
  return new SipError('ERR_SIP_DUPLICATE_HEADER', `Header ${name} appears more than once`, offset);
}

/**
 * Parses each element of a comma-separated value into `into`. A value without a comma (the usual
 * case) is one element: the value itself, already trimmed by the parser.
 */
function parseListInto<T>(into: T[], value: string, offset: number, parse: (text: string, offset: number) => T, code: 'ERR_SIP_INVALID_VIA' | 'ERR_SIP_INVALID_NAME_ADDR'): void {
  if (value.length > 0 && value.indexOf(',') < 0 && !isWhitespace(value.charCodeAt(0)) && !isWhitespace(value.charCodeAt(value.length - 1))) {
    into.push(parse(value, offset));
    return;
  }
  for (const item of splitList(value)) {
    if (item.text.length === 0) throw new SipError(code, `Empty element in list "${value}"`, offset + item.start);
    into.push(parse(item.text, offset + item.start));
  }
}

/**
 * Parses the value of one routing header into `into`. `offset` is the byte position of the value
 * in the message, for error reporting. Other headers are ignored.
 */
export function applyRoutingHeader(into: RoutingHeaders, name: string, value: string, offset: number): void {
  switch (name) {
    case 'via':
      parseListInto(into.via, value, offset, parseVia, 'ERR_SIP_INVALID_VIA');
      return;
    case 'from':
      if (into.from !== undefined) throw duplicate('From', offset);
      into.from = scanTaggedAddress(value, offset);
      return;
    case 'to':
      if (into.to !== undefined) throw duplicate('To', offset);
      into.to = scanTaggedAddress(value, offset);
      return;
    case 'call-id':
      if (into.callId !== undefined) throw duplicate('Call-ID', offset);
      // callid = word ["@" word]: visible ASCII only (a byte that is not would be decoded as
      // U+FFFD, and distinct Call-IDs would share transaction keys).
      if (value.length === 0 || /[^\x21-\x7e]/.test(value)) {
        throw new SipError('ERR_SIP_INVALID_HEADER_VALUE', `Invalid Call-ID "${value}"`, offset);
      }
      into.callId = value;
      return;
    case 'cseq':
      if (into.cseq !== undefined) throw duplicate('CSeq', offset);
      into.cseq = parseCSeq(value, offset);
      return;
    case 'max-forwards': {
      if (into.maxForwards !== undefined) throw duplicate('Max-Forwards', offset);
      const hops = parseDecimal(value, 255);
      if (hops < 0) throw new SipError('ERR_SIP_INVALID_HEADER_VALUE', `Invalid Max-Forwards "${value}"`, offset);
      into.maxForwards = hops;
      return;
    }
    case 'route':
      parseListInto(into.route, value, offset, parseNameAddrMemoized, 'ERR_SIP_INVALID_NAME_ADDR');
      return;
    case 'record-route':
      parseListInto(into.recordRoute, value, offset, parseNameAddrMemoized, 'ERR_SIP_INVALID_NAME_ADDR');
      return;
    case 'contact':
      if (value === '*') {
        if (into.contactStar || into.contact.length > 0) throw duplicate('Contact: *', offset);
        into.contactStar = true;
        return;
      }
      if (into.contactStar) throw duplicate('Contact: *', offset);
      parseListInto(into.contact, value, offset, parseNameAddrMemoized, 'ERR_SIP_INVALID_NAME_ADDR');
      return;
    case 'content-length': {
      if (into.contentLength !== undefined) throw duplicate('Content-Length', offset);
      const length = parseDecimal(value, Number.MAX_SAFE_INTEGER);
      if (length < 0) throw new SipError('ERR_SIP_INVALID_CONTENT_LENGTH', `Invalid Content-Length "${value}"`, offset);
      into.contentLength = length;
      return;
    }
    default:
      return;
  }
}
