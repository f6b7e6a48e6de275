import { byteString } from './byte-string.js';
import type { CSeq } from './cseq.js';
import { applyRoutingHeader, emptyRoutingHeaders, type RoutingHeaders } from './eager-headers.js';
import { SipError } from './errors.js';
import { canonicalHeaderName, isListHeader, isRoutingHeader, writtenHeaderName } from './header-names.js';
import { isToken, parseDecimal, splitList, unfold } from './lexer.js';
import { parseNameAddr, parseNameAddrMemoized, type NameAddr, type TaggedAddress } from './name-addr.js';
import type { Uri } from './uri.js';
import { formatVia, parseVia, type Via } from './via.js';

const CRLF = '\r\n';

/**
 * One header field of a message. Fields read from the wire point into the message bytes; a field
 * that an edit added or rewrote carries its new text instead.
 */
export interface HeaderField {
  /** Lower-case full name (compact forms expanded). */
  readonly name: string;
  /** True for the routing headers the parser reads at once. */
  readonly routing?: boolean;
  /** Byte range of the whole field in the input, final CRLF included; -1 for added fields. */
  readonly start: number;
  readonly end: number;
  /** Byte range of the value (after the colon and blanks, before the final CRLF). */
  readonly valueStart: number;
  readonly valueEnd: number;
  /** Set by an edit: the whole field line without CRLF, e.g. `Via: SIP/2.0/UDP ...`. */
  text?: string;
  /** True when `text` is a byte string (latin1) cut from the input rather than Unicode text. */
  latin1?: boolean;
}

export interface StartLine {
  readonly method: string | undefined;
  readonly requestUriText: string | undefined;
  readonly requestUri: Uri | undefined;
  readonly status: number | undefined;
  readonly reason: string | undefined;
}

/** Where in the input the parts of a message lie (byte offsets into `input`). */
export interface MessageLayout {
  readonly input: Buffer;
  /** First byte of the start line. */
  readonly start: number;
  /** Offset of the CRLF that ends the start line. */
  readonly startLineEnd: number;
  /** First byte of the body (just after the empty line). */
  readonly bodyStart: number;
  /** One past the last byte of the body. */
  readonly end: number;
}

/**
 * A parsed SIP request or response. The start line and routing headers are parsed; every other
 * header is kept as bytes and parsed on demand. Edits made by a proxy (Via, Route, Record-Route,
 * Max-Forwards, Request-URI) rewrite only the fields they touch: `serialize()` writes every other
 * byte exactly as it arrived.
 */
export class SipMessage {
  readonly method: string | undefined;
  readonly status: number | undefined;
  readonly reason: string | undefined;
  via: Via[];
  callId: string | undefined;
  cseq: CSeq | undefined;
  maxForwards: number | undefined;
  route: NameAddr[];
  recordRoute: NameAddr[];
  contact: NameAddr[];
  contactStar: boolean;
  contentLength: number | undefined;

  #from: TaggedAddress | undefined;
  #to: TaggedAddress | undefined;
  #fromParsed: NameAddr | undefined;
  #toParsed: NameAddr | undefined;
  #layout: MessageLayout;
  #fields: HeaderField[];
  #requestUriText: string | undefined;
  #requestUri: Uri | undefined;
  #startLineEdited = false;
  /** Cut from the input when first asked for (a proxy forwards most bodies without reading them). */
  #body: Buffer | undefined;
  #bodyEdited = false;
  /** What `serialize()` gave since the last edit. */
  #serialized: Buffer | undefined;

  constructor(layout: MessageLayout, startLine: StartLine, fields: HeaderField[], routing: RoutingHeaders) {
    this.#layout = layout;
    this.method = startLine.method;
    this.status = startLine.status;
    this.reason = startLine.reason;
    this.#requestUriText = startLine.requestUriText;
    this.#requestUri = startLine.requestUri;
    this.#fields = fields;
    this.via = routing.via;
    this.#from = routing.from;
    this.#to = routing.to;
    this.callId = routing.callId;
    this.cseq = routing.cseq;
    this.maxForwards = routing.maxForwards;
    this.route = routing.route;
    this.recordRoute = routing.recordRoute;
    this.contact = routing.contact;
    this.contactStar = routing.contactStar;
    this.contentLength = routing.contentLength;
  }

  get isRequest(): boolean {
    return this.method !== undefined;
  }

  get isResponse(): boolean {
    return this.status !== undefined;
  }

  /** The Request-URI as written (requests only). */
  get requestUriText(): string | undefined {
    return this.#requestUriText;
  }

  /** The Request-URI as a byte string (see byte-string.ts), as `serialize()` writes it. */
  get requestUriBytes(): string | undefined {
    if (this.#requestUriText === undefined) return undefined;
    if (this.#startLineEdited) return byteString(this.#requestUriText);
    const { input, start, startLineEnd } = this.#layout;
    const line = input.toString('latin1', start, startLineEnd);
    return line.slice(line.indexOf(' ') + 1, line.lastIndexOf(' '));
  }

  /** The parsed Request-URI (requests only). */
  get requestUri(): Uri | undefined {
    return this.#requestUri;
  }

  get body(): Buffer {
    this.#body ??= this.#layout.input.subarray(this.#layout.bodyStart, this.#layout.end);
    return this.#body;
  }

  /** The bytes the message was parsed from (start line to end of body), before any edit. */
  get rawBytes(): Buffer {
    return this.#layout.input.subarray(this.#layout.start, this.#layout.end);
  }

  /** The header fields in order. Do not change them: use the edit methods. */
  get fields(): readonly HeaderField[] {
    return this.#fields;
  }

  get topVia(): Via | undefined {
    return this.via[0];
  }

  get fromTag(): string | undefined {
    return this.#from?.tag;
  }

  get toTag(): string | undefined {
    return this.#to?.tag;
  }

  /** The From header in full, parsed on first use; throws ERR_SIP_INVALID_NAME_ADDR if malformed. */
  get from(): NameAddr | undefined {
    if (this.#fromParsed === undefined && this.#from !== undefined) {
      this.#fromParsed = parseNameAddr(this.#from.text, this.#from.offset);
    }
    return this.#fromParsed;
  }

  /** The To header in full, parsed on first use; throws ERR_SIP_INVALID_NAME_ADDR if malformed. */
  get to(): NameAddr | undefined {
    if (this.#toParsed === undefined && this.#to !== undefined) {
      this.#toParsed = parseNameAddr(this.#to.text, this.#to.offset);
    }
    return this.#toParsed;
  }

  /** True when the message has a From header (without parsing it in full). */
  get hasFrom(): boolean {
    return this.#from !== undefined;
  }

  /** True when the message has a To header (without parsing it in full). */
  get hasTo(): boolean {
    return this.#to !== undefined;
  }

  // ---- reading headers -------------------------------------------------------------------

  /** The value of one field: unfolded, without leading and trailing blanks. */
  fieldValue(field: HeaderField): string {
    if (field.text !== undefined) {
      const value = field.text.slice(field.text.indexOf(':') + 1).trim();
      return field.latin1 === true ? Buffer.from(value, 'latin1').toString('utf8') : value;
    }
    return unfold(this.#layout.input.toString('utf8', field.valueStart, field.valueEnd));
  }

  /**
   * The value of one field as a byte string (latin1, one character per byte; see
   * byte-string.ts): unfolded and trimmed like `fieldValue`, but `Buffer.from(value, 'latin1')`
   * gives back exactly the bytes `serialize()` writes, whatever they are. For copying values into
   * generated messages.
   */
  fieldBytes(field: HeaderField): string {
    if (field.text !== undefined) {
      const value = field.text.slice(field.text.indexOf(':') + 1).trim();
      return field.latin1 === true ? value : byteString(value);
    }
    return unfold(this.#layout.input.toString('latin1', field.valueStart, field.valueEnd));
  }

  /**
   * Copies the value of one field, as `fieldBytes` gives it, into `target` at `at`, straight from
   * the input; returns the number of bytes written, or -1 (nothing written) when the value was
   * edited or is folded over several lines: then `fieldBytes` is the way. Needs
   * `field.valueEnd - field.valueStart` bytes of room.
   */
  copyFieldValue(field: HeaderField, target: Buffer, at: number): number {
    if (field.text !== undefined) return -1;
    const input = this.#layout.input;
    for (let i = field.valueStart; i < field.valueEnd; i++) if (input[i] === 0x0d) return -1;
    // A byte at a time: these values are short, and Buffer.copy of a range makes a view per call.
    for (let i = field.valueStart; i < field.valueEnd; i++) target[at++] = input[i] as number;
    return field.valueEnd - field.valueStart;
  }

  /** The first field of this header as a byte string (see fieldBytes), or undefined. */
  headerBytes(name: string): string | undefined {
    const canonical = canonicalHeaderName(name);
    const field = this.#fields.find((candidate) => candidate.name === canonical);
    return field === undefined ? undefined : this.fieldBytes(field);
  }

  /** Every value of a header as byte strings, lists split as in `headers`. */
  headersBytes(name: string): string[] {
    const canonical = canonicalHeaderName(name);
    const values: string[] = [];
    for (const field of this.#fields) {
      if (field.name !== canonical) continue;
      const value = this.fieldBytes(field);
      if (isListHeader(canonical)) {
        for (const item of splitList(value)) if (item.text.length > 0) values.push(item.text);
      } else {
        values.push(value);
      }
    }
    return values;
  }

  has(name: string): boolean {
    const canonical = canonicalHeaderName(name);
    return this.#fields.some((field) => field.name === canonical);
  }

  /** The value of the first field with this name (whole field, list not split), or undefined. */
  header(name: string): string | undefined {
    const canonical = canonicalHeaderName(name);
    const field = this.#fields.find((candidate) => candidate.name === canonical);
    return field === undefined ? undefined : this.fieldValue(field);
  }

  /**
   * Every value of a header in order. Comma-separated lists (Via, Route, Supported, ...) are split
   * into their items; other headers give one value per field.
   */
  headers(name: string): string[] {
    const canonical = canonicalHeaderName(name);
    const values: string[] = [];
    for (const field of this.#fields) {
      if (field.name !== canonical) continue;
      const value = this.fieldValue(field);
      if (isListHeader(canonical)) {
        for (const item of splitList(value)) if (item.text.length > 0) values.push(item.text);
      } else {
        values.push(value);
      }
    }
    return values;
  }

  /**
   * Option tags of Require, Proxy-Require, Supported or Unsupported, lower-cased; throws
   * ERR_SIP_INVALID_HEADER_VALUE for a tag that is not a token (an answer echoing it, as 420's
   * Unsupported does, would otherwise carry whatever bytes it held).
   */
  optionTags(name: 'require' | 'proxy-require' | 'supported' | 'unsupported'): string[] {
    const tags = this.headers(name);
    const bad = tags.find((tag) => !isToken(tag));
    if (bad !== undefined) {
      throw new SipError('ERR_SIP_INVALID_HEADER_VALUE', `${writtenHeaderName(name)} holds a tag that is not a token: "${bad.slice(0, 40)}"`, this.#valueOffset(name));
    }
    return tags.map((tag) => tag.toLowerCase());
  }

  /** The Expires header as seconds, or undefined; throws ERR_SIP_INVALID_HEADER_VALUE if malformed. */
  expires(): number | undefined {
    return this.#deltaSeconds('expires');
  }

  /** The Min-Expires header as seconds, or undefined. */
  minExpires(): number | undefined {
    return this.#deltaSeconds('min-expires');
  }

  #deltaSeconds(name: string): number | undefined {
    const value = this.header(name);
    if (value === undefined) return undefined;
    const seconds = parseDecimal(value, 2 ** 32 - 1);
    if (seconds < 0) throw new SipError('ERR_SIP_INVALID_HEADER_VALUE', `Invalid ${writtenHeaderName(name)} "${value}"`, this.#valueOffset(name));
    return seconds;
  }

  /** Content-Type without parameters, lower-cased, or undefined. */
  contentType(): string | undefined {
    return this.header('content-type')?.split(';')[0]?.trim().toLowerCase();
  }

  /**
   * The Date header (RFC 3261 §20.17: an RFC 1123 date in GMT), or undefined;
   * throws ERR_SIP_INVALID_HEADER_VALUE if malformed.
   */
  date(): Date | undefined {
    const value = this.header('date');
    if (value === undefined) return undefined;
    const match = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/.exec(value);
    const date = match ? new Date(value) : undefined;
    if (date === undefined || Number.isNaN(date.getTime())) {
      throw new SipError('ERR_SIP_INVALID_HEADER_VALUE', `Invalid Date "${value}"`, this.#valueOffset('date'));
    }
    return date;
  }

  #valueOffset(name: string): number {
    const canonical = canonicalHeaderName(name);
    return this.#fields.find((field) => field.name === canonical)?.valueStart ?? -1;
  }

  /**
   * An independent copy for editing (a proxy's copy of a request per target, RFC 3261 §16.6
   * step 1): it shares the input bytes and the parsed values, which edits replace rather than
   * change, and has its own field list; what it serializes to is what parsing this message's
   * serialization would give.
   */
  clone(): SipMessage {
    const copy = new SipMessage(
      this.#layout,
      { method: this.method, requestUriText: this.#requestUriText, requestUri: this.#requestUri, status: this.status, reason: this.reason },
      this.#fields.slice(),
      {
        via: this.via.slice(),
        from: this.#from,
        to: this.#to,
        callId: this.callId,
        cseq: this.cseq,
        maxForwards: this.maxForwards,
        route: this.route.slice(),
        recordRoute: this.recordRoute.slice(),
        contact: this.contact.slice(),
        contactStar: this.contactStar,
        contentLength: this.contentLength,
      },
    );
    copy.#fromParsed = this.#fromParsed;
    copy.#toParsed = this.#toParsed;
    copy.#startLineEdited = this.#startLineEdited;
    copy.#body = this.#body;
    copy.#bodyEdited = this.#bodyEdited;
    copy.#serialized = this.#serialized;
    return copy;
  }

  // ---- edits -----------------------------------------------------------------------------

  /** Rewrites the Request-URI. */
  setRequestUri(text: string, parsed: Uri): void {
    if (!this.isRequest) throw new SipError('ERR_SIP_INVALID_EDIT', 'A response has no Request-URI');
    this.#requestUriText = text;
    this.#requestUri = parsed;
    this.#startLineEdited = true;
    this.#serialized = undefined;
  }

  /**
   * Adds a Via value on top (the proxy's own Via, RFC 3261 §16.6 step 8), given as text or as a
   * Via the caller built (then written with formatVia, not parsed again).
   */
  prependVia(via: string | Via): void {
    const text = typeof via === 'string' ? via : formatVia(via);
    this.#insertField('via', text, 'first');
    this.via.unshift(typeof via === 'string' ? parseVia(via) : via);
  }

  /**
   * Sets parameters of the top Via value (`received` and `rport`, RFC 3261 §18.2.1, RFC 3581),
   * keeping every other byte of it as it arrived: the value is re-read from the bytes, so a quoted
   * parameter holding bytes that are not UTF-8 is not rewritten as U+FFFD.
   */
  setTopViaParams(updates: ReadonlyArray<readonly [name: string, value: string | null]>): void {
    const top = this.via[0];
    const bytes = this.headersBytes('via')[0];
    if (top === undefined || bytes === undefined) throw new SipError('ERR_SIP_INVALID_EDIT', 'The message has no Via to edit');
    const raw = parseVia(bytes);
    const rawParams = new Map(raw.params);
    const params = new Map(top.params);
    for (const [name, value] of updates) {
      rawParams.set(name, value === null ? null : byteString(value));
      params.set(name, value);
    }
    const rport = params.get('rport');
    const updated: Via = { ...top, params, received: params.get('received') ?? undefined, rport: rport === undefined ? undefined : rport === null ? null : Number(rport) };
    this.#removeListValue('via', 'first');
    const field = addedField('via', '');
    this.#serialized = undefined;
    this.#fields.splice(Math.max(0, this.#fields.findIndex((candidate) => candidate.name === 'via')), 0, { ...field, text: `Via: ${formatVia({ ...raw, params: rawParams })}`, latin1: true });
    this.via[0] = updated;
  }

  /** Removes the top Via value (a response on its way back, §16.7 step 3). */
  removeTopVia(): Via {
    const top = this.via[0];
    if (top === undefined) throw new SipError('ERR_SIP_INVALID_EDIT', 'The message has no Via to remove');
    this.#removeListValue('via', 'first');
    this.via.shift();
    return top;
  }

  /** Adds a Record-Route value on top (§16.6 step 4). */
  prependRecordRoute(text: string, parsed: NameAddr = parseNameAddrMemoized(text)): void {
    this.#insertField('record-route', text, 'first');
    this.recordRoute.unshift(parsed);
  }

  /** Removes the first Route value (loose routing, §16.4) and returns it. */
  removeFirstRoute(): NameAddr {
    const first = this.route[0];
    if (first === undefined) throw new SipError('ERR_SIP_INVALID_EDIT', 'The message has no Route to remove');
    this.#removeListValue('route', 'first');
    this.route.shift();
    return first;
  }

  /** Removes the last Route value (strict-router interop, §16.4) and returns it. */
  removeLastRoute(): NameAddr {
    const last = this.route[this.route.length - 1];
    if (last === undefined) throw new SipError('ERR_SIP_INVALID_EDIT', 'The message has no Route to remove');
    this.#removeListValue('route', 'last');
    this.route.pop();
    return last;
  }

  /** Adds a Route value at the end (strict-router interop, §16.6 step 7). */
  appendRoute(text: string, parsed: NameAddr = parseNameAddrMemoized(text)): void {
    this.#insertField('route', text, 'last');
    this.route.push(parsed);
  }

  /** Sets Max-Forwards, adding the header when it is missing. */
  setMaxForwards(hops: number): void {
    if (!Number.isInteger(hops) || hops < 0 || hops > 255) {
      throw new SipError('ERR_SIP_INVALID_EDIT', `Max-Forwards must be 0..255, got ${hops}`);
    }
    this.#serialized = undefined;
    const index = this.#fields.findIndex((field) => field.name === 'max-forwards');
    if (index < 0) this.#fields.push(addedField('max-forwards', String(hops)));
    else this.#fields[index] = addedField('max-forwards', String(hops));
    this.maxForwards = hops;
  }

  /** Replaces every field of this header with one field holding `value`. */
  setHeader(name: string, value: string): void {
    const canonical = canonicalHeaderName(name);
    const index = this.#fields.findIndex((field) => field.name === canonical);
    const field = addedField(canonical, value);
    this.#serialized = undefined;
    this.#fields = this.#fields.filter((candidate) => candidate.name !== canonical);
    this.#fields.splice(index < 0 ? this.#fields.length : index, 0, field);
    this.#refreshRoutingHeader(canonical);
  }

  /** Adds a field after the last one. */
  appendHeader(name: string, value: string): void {
    const canonical = canonicalHeaderName(name);
    this.#serialized = undefined;
    this.#fields.push(addedField(canonical, value));
    this.#refreshRoutingHeader(canonical);
  }

  /** Removes every field of this header. */
  removeHeader(name: string): void {
    const canonical = canonicalHeaderName(name);
    this.#serialized = undefined;
    this.#fields = this.#fields.filter((field) => field.name !== canonical);
    this.#refreshRoutingHeader(canonical);
  }

  /** Replaces the body and its Content-Length (and Content-Type when given). */
  setBody(body: Buffer | string, contentType?: string): void {
    this.#serialized = undefined;
    this.#body = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    this.#bodyEdited = true;
    if (contentType !== undefined) this.setHeader('content-type', contentType);
    this.setHeader('content-length', String(this.#body.length));
  }

  #insertField(name: string, value: string, where: 'first' | 'last'): void {
    this.#serialized = undefined;
    const field = addedField(name, value);
    const index =
      where === 'first'
        ? this.#fields.findIndex((candidate) => candidate.name === name)
        : findLastIndex(this.#fields, (candidate) => candidate.name === name) + 1;
    if (index <= 0 && where === 'last') {
      this.#fields.push(field);
    } else {
      this.#fields.splice(index < 0 ? 0 : index, 0, field);
    }
  }

  #removeListValue(name: string, which: 'first' | 'last'): void {
    this.#serialized = undefined;
    const index =
      which === 'first'
        ? this.#fields.findIndex((field) => field.name === name)
        : findLastIndex(this.#fields, (field) => field.name === name);
    const field = this.#fields[index];
    if (field === undefined) throw new SipError('ERR_SIP_INVALID_EDIT', `The message has no ${writtenHeaderName(name)}`);
    if (!mayHoldSeveral(field, this.#layout.input)) {
      // No comma: one value (the usual Via line of a response), so the whole field goes.
      this.#fields.splice(index, 1);
      return;
    }
    if (which === 'first' && field.text === undefined) {
      // A field as it arrived (a response's `Via: ours, theirs` from a UA that joins its Vias in
      // one line): the values after the first are cut from the bytes at the first separating
      // comma, without splitting and trimming every value of the list.
      this.#removeFirstArrivedValue(index, field);
      return;
    }
    // Cut as bytes: the values left keep every byte they arrived with.
    const value = this.fieldBytes(field);
    const items = splitList(value);
    if (items.length <= 1) {
      this.#fields.splice(index, 1);
      return;
    }
    const kept =
      which === 'first'
        ? value.slice(items[1]?.start ?? 0)
        : value.slice(0, items[items.length - 1]?.start ?? value.length).replace(/\s*,\s*$/, '');
    this.#fields[index] = { ...addedField(name, kept), text: `${this.#writtenName(field)}: ${kept}`, latin1: true };
  }

  /** #removeListValue for the first value of a field read from the input (`field.text` unset). */
  #removeFirstArrivedValue(index: number, field: HeaderField): void {
    const input = this.#layout.input;
    const comma = firstListComma(input, field.valueStart, field.valueEnd);
    let rest = comma + 1;
    while (rest < field.valueEnd && isLinearWhitespace(input[rest] as number)) rest++;
    if (comma < 0 || rest >= field.valueEnd) {
      // One value after all (the comma was quoted or bracketed), or nothing after it: as splitList would, the field goes.
      this.#fields.splice(index, 1);
      return;
    }
    const kept = unfold(input.toString('latin1', rest, field.valueEnd));
    this.#fields[index] = { name: field.name, routing: field.routing, start: -1, end: -1, valueStart: -1, valueEnd: -1, text: `${this.#writtenName(field)}: ${kept}`, latin1: true };
  }

  /** The name of a field as it was written on the wire (compact forms kept). */
  #writtenName(field: HeaderField): string {
    if (field.text !== undefined) return field.text.slice(0, field.text.indexOf(':')).trim();
    const input = this.#layout.input;
    let end = field.start;
    while (end < field.valueStart && input[end] !== 0x3a) end++;
    return input.toString('latin1', field.start, end).trim();
  }

  #refreshRoutingHeader(name: string): void {
    if (!isRoutingHeader(name)) return;
    const fresh = emptyRoutingHeaders();
    for (const field of this.#fields) {
      if (field.name === name) applyRoutingHeader(fresh, name, this.fieldValue(field), field.valueStart);
    }
    switch (name) {
      case 'via': this.via = fresh.via; break;
      case 'from': this.#from = fresh.from; this.#fromParsed = undefined; break;
      case 'to': this.#to = fresh.to; this.#toParsed = undefined; break;
      case 'call-id': this.callId = fresh.callId; break;
      case 'cseq': this.cseq = fresh.cseq; break;
      case 'max-forwards': this.maxForwards = fresh.maxForwards; break;
      case 'route': this.route = fresh.route; break;
      case 'record-route': this.recordRoute = fresh.recordRoute; break;
      case 'contact': this.contact = fresh.contact; this.contactStar = fresh.contactStar; break;
      case 'content-length': this.contentLength = fresh.contentLength; break;
    }
  }

  // ---- writing ---------------------------------------------------------------------------

  /**
   * The message as bytes. Unedited parts are copied from the input as they arrived (runs of
   * untouched fields as one copy), edited ones written in place: one Buffer of the exact size,
   * made once and kept until the next edit (a proxy serializes the copy it sends several times:
   * to check its size, to send it, to retransmit it).
   */
  serialize(): Buffer {
    if (this.#serialized === undefined) this.#serialized = this.#write();
    return this.#serialized;
  }

  #write(): Buffer {
    const { input, start, startLineEnd, bodyStart, end } = this.#layout;
    const fields = this.#fields;
    const startLine = this.#startLineEdited ? `${this.method} ${this.#requestUriText} SIP/2.0${CRLF}` : undefined;
    let length = startLine === undefined ? startLineEnd + 2 - start : Buffer.byteLength(startLine, 'utf8');
    let edited = startLine !== undefined || this.#bodyEdited;
    for (const field of fields) {
      if (field.text === undefined) {
        length += field.end - field.start;
      } else {
        edited = true;
        length += (field.latin1 === true ? field.text.length : Buffer.byteLength(field.text, 'utf8')) + 2;
      }
    }
    if (!edited) {
      // Nothing rewritten: the fields may still have been removed or reordered, so check they
      // are the input's own run before handing out a slice of it.
      let expected = startLineEnd + 2;
      for (const field of fields) {
        if (field.start !== expected) break;
        expected = field.end;
      }
      if (expected === bodyStart - 2 && length === bodyStart - 2 - start) return input.subarray(start, end);
    }
    length += this.#bodyEdited ? 2 + this.body.length : end - (bodyStart - 2);
    const out = Buffer.allocUnsafe(length);
    let at = 0;
    let runStart = -1;
    let runEnd = -1;
    if (startLine === undefined) {
      runStart = start;
      runEnd = startLineEnd + 2;
    } else {
      at += out.write(startLine, at, 'utf8');
    }
    for (const field of fields) {
      if (field.text === undefined) {
        if (runStart >= 0 && runEnd === field.start) {
          runEnd = field.end;
          continue;
        }
        if (runStart >= 0) at += input.copy(out, at, runStart, runEnd);
        runStart = field.start;
        runEnd = field.end;
        continue;
      }
      if (runStart >= 0) at += input.copy(out, at, runStart, runEnd);
      runStart = -1;
      at += out.write(field.text, at, field.latin1 === true ? 'latin1' : 'utf8');
      out[at++] = 0x0d;
      out[at++] = 0x0a;
    }
    if (this.#bodyEdited) {
      if (runStart >= 0) at += input.copy(out, at, runStart, runEnd);
      out[at++] = 0x0d;
      out[at++] = 0x0a;
      at += this.body.copy(out, at);
    } else if (runStart >= 0 && runEnd === bodyStart - 2) {
      at += input.copy(out, at, runStart, end);
    } else {
      if (runStart >= 0) at += input.copy(out, at, runStart, runEnd);
      at += input.copy(out, at, bodyStart - 2, end);
    }
    return at === length ? out : out.subarray(0, at);
  }

  toString(): string {
    return this.serialize().toString('utf8');
  }
}

/** False when a field's value has no comma, so cannot hold more than one list value. */
function mayHoldSeveral(field: HeaderField, input: Buffer): boolean {
  if (field.text !== undefined) return field.text.indexOf(',', field.text.indexOf(':') + 1) >= 0;
  // A loop over the value rather than Buffer.indexOf, which is a native call and searches on to
  // the end of the input.
  for (let i = field.valueStart; i < field.valueEnd; i++) if (input[i] === 0x2c) return true;
  return false;
}

/**
 * Index of the first comma in `input[from, to)` that separates list values: not inside a quoted
 * string or `<...>` (as splitList reads a list); -1 when there is none, or when a quoted string
 * is not closed (splitList stops there too).
 */
function firstListComma(input: Buffer, from: number, to: number): number {
  let inAngle = false;
  for (let i = from; i < to; i++) {
    const code = input[i] as number;
    if (code === 0x22) {
      i++;
      while (i < to && input[i] !== 0x22) i += input[i] === 0x5c ? 2 : 1;
      if (i >= to) return -1;
    } else if (code === 0x3c) {
      inAngle = true;
    } else if (code === 0x3e) {
      inAngle = false;
    } else if (code === 0x2c && !inAngle) {
      return i;
    }
  }
  return -1;
}

/** SP, HTAB, or the CR and LF of a folded line. */
function isLinearWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0d || code === 0x0a;
}

function addedField(name: string, value: string): HeaderField {
  return { name, routing: isRoutingHeader(name), start: -1, end: -1, valueStart: -1, valueEnd: -1, text: `${writtenHeaderName(name)}: ${value}` };
}

function findLastIndex<T>(items: readonly T[], predicate: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (predicate(items[i] as T)) return i;
  return -1;
}
