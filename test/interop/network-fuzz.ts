/**
 * A seeded network fuzzer for a running proxy: mutated requests and responses over UDP, TCP and
 * TLS, a downstream sink that answers what the proxy forwards, and the checks a proxy's generated
 * responses must pass (RFC 3261 §8.2.6: Via, From, To, Call-ID and CSeq copied byte for byte; over
 * UDP no answer larger than the request that drew it). Everything random comes from one seed, so a
 * failure is replayed with `FUZZ_SEED` (the ports, which change per run, are filled in last).
 */
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { canonicalHeaderName, parseMessage, StreamFramer, type SipMessage } from '@switchboard/sip';
import { ADDED_BYTES, REGISTER_OK_UDP_BYTES } from '@switchboard/core';

// ---- seeded randomness ------------------------------------------------------------------------

/** mulberry32: a 32-bit seeded generator, one stream per seed. */
export class Random {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x100000000;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  between(low: number, high: number): number {
    return low + this.int(high - low + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}

// ---- cases ------------------------------------------------------------------------------------

export type FuzzTransport = 'udp' | 'tcp' | 'tls';

/** One fuzz input: a message template (ports still as placeholders) and how it is sent. */
export interface FuzzCase {
  readonly index: number;
  readonly transport: FuzzTransport;
  /** A request for the proxy to answer or forward, or a response for it to route. */
  readonly kind: 'request' | 'response';
  readonly seed: string;
  /** Names of the mutations applied, in order (for the report). */
  readonly mutations: readonly string[];
  /** The message, with `%CLIENT%`, `%PROXY%`, `%SINK%` placeholders. */
  readonly template: Buffer;
  /** Stream transports: bytes written before the message (CRLF keep-alives, a flood). */
  readonly prefix: Buffer;
  /** Stream transports: the message written this many times in a row (pipelining). */
  readonly copies: number;
  /** Stream transports: fractions (0..1) of the stream where a write ends and the next begins. */
  readonly splits: readonly number[];
}

/** Where the placeholders of a template point once the sockets exist. */
export interface Endpoints {
  /** `host:port` of the socket that sends the case. */
  readonly client: string;
  /** `host:port` of the proxy's listener for the case's transport. */
  readonly proxy: string;
  /** `host:port` of the sink (the proxy's default route). */
  readonly sink: string;
}

/** The bytes to send: placeholders that survived mutation replaced by the real addresses. */
export function renderCase(fuzzCase: FuzzCase, endpoints: Endpoints): Buffer {
  return replaceAll(replaceAll(replaceAll(fuzzCase.template, '%CLIENT%', endpoints.client), '%PROXY%', endpoints.proxy), '%SINK%', endpoints.sink);
}

function replaceAll(bytes: Buffer, token: string, value: string): Buffer {
  const needle = Buffer.from(token);
  const parts: Buffer[] = [];
  let from = 0;
  for (let at = bytes.indexOf(needle, from); at >= 0; at = bytes.indexOf(needle, from)) {
    parts.push(bytes.subarray(from, at), Buffer.from(value));
    from = at + needle.length;
  }
  if (parts.length === 0) return bytes;
  parts.push(bytes.subarray(from));
  return Buffer.concat(parts);
}

const VIA_PROTOCOL: Record<FuzzTransport, string> = { udp: 'UDP', tcp: 'TCP', tls: 'TLS' };

const SDP = 'v=0\r\no=fuzz 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';

/**
 * Valid requests the mutations start from. None can reach the SIPp callee: requests for
 * example.com name users nobody registered except `mallory` (whose contact is the sink), and
 * every other request goes to the default route, the sink, or to the proxy itself.
 */
function requestSeeds(transport: FuzzTransport, id: string): Array<[string, string[], string]> {
  const via = `Via: SIP/2.0/${VIA_PROTOCOL[transport]} %CLIENT%;rport;branch=z9hG4bK${id}`;
  const common = (method: string, cseq = 1, toTag = ''): string[] => [
    via,
    'Max-Forwards: 70',
    `From: "Fuzz Caller" <sip:fuzz@example.org>;tag=f${id}`,
    `To: <sip:mallory@example.com>${toTag}`,
    `Call-ID: ${id}@fuzz.invalid`,
    `CSeq: ${cseq} ${method}`,
  ];
  return [
    ['options-self', [`OPTIONS sip:%PROXY% SIP/2.0`, ...common('OPTIONS'), 'Accept: application/sdp', 'Content-Length: 0'], ''],
    ['options-local-404', ['OPTIONS sip:nobody@example.com SIP/2.0', ...common('OPTIONS'), 'User-Agent: switchboard-fuzz', 'Content-Length: 0'], ''],
    [
      'invite-local-404',
      ['INVITE sip:nobody@example.com SIP/2.0', ...common('INVITE'), 'Contact: <sip:fuzz@%CLIENT%>', 'Subject: fuzz', 'Content-Type: application/sdp', `Content-Length: ${SDP.length}`],
      SDP,
    ],
    [
      'invite-default-route',
      ['INVITE sip:carol@elsewhere.invalid SIP/2.0', ...common('INVITE'), 'Contact: <sip:fuzz@%CLIENT%>', 'Content-Type: application/sdp', `Content-Length: ${SDP.length}`],
      SDP,
    ],
    ['invite-registered-sink', ['INVITE sip:mallory@example.com SIP/2.0', ...common('INVITE'), 'Contact: <sip:fuzz@%CLIENT%>', 'Content-Length: 0'], ''],
    [
      'register-mallory',
      ['REGISTER sip:example.com SIP/2.0', via, 'Max-Forwards: 70', `From: <sip:mallory@example.com>;tag=f${id}`, 'To: <sip:mallory@example.com>', `Call-ID: ${id}@fuzz.invalid`, 'CSeq: 1 REGISTER', 'Contact: <sip:mallory@%SINK%>;expires=600', 'Content-Length: 0'],
      '',
    ],
    ['message-default-route', ['MESSAGE sip:carol@elsewhere.invalid SIP/2.0', ...common('MESSAGE'), 'Content-Type: text/plain', 'Content-Length: 11'], 'hello there'],
    ['bye-routed-sink', ['BYE sip:carol@%SINK% SIP/2.0', ...common('BYE', 2, ';tag=t1'), 'Route: <sip:%SINK%;lr>', 'Content-Length: 0'], ''],
    ['cancel-unknown', ['CANCEL sip:nobody@example.com SIP/2.0', ...common('CANCEL'), 'Content-Length: 0'], ''],
    ['info-in-dialog-self', [`INFO sip:%PROXY% SIP/2.0`, ...common('INFO', 3, ';tag=t3'), 'Content-Length: 0'], ''],
    // Last: the systematic cases skip it (an ACK draws no response to check).
    ['ack-stray', ['ACK sip:nobody@example.com SIP/2.0', ...common('ACK', 1, ';tag=t2'), 'Content-Length: 0'], ''],
  ];
}

const RESPONSE_STATUSES = [100, 101, 180, 183, 199, 200, 202, 299, 301, 302, 399, 401, 404, 407, 408, 481, 486, 487, 499, 500, 503, 599, 600, 603, 699, 0, 1, 99, 700, 999, 1000, 65536];
/** Branch tails after our `z9hG4bK-sb-HASH-`: worker tags and counters, odd ones included. */
const BRANCH_TAILS = ['1', 'a', '0.1', '1.1', '2.zz', '3.1', '99.1', '-1.1', '4294967296.1', 'NaN.1', '.', '..', '1.', 's', 'sdeadbeef', 's-', '', '🙂.1', '0x1.1', '1e9.1'];

/** A response as if from downstream, with the proxy's Via on top and ours below. */
function responseSeed(rng: Random, transport: FuzzTransport, id: string): Buffer {
  const status = rng.pick(RESPONSE_STATUSES);
  const method = rng.pick(['INVITE', 'BYE', 'OPTIONS', 'CANCEL', 'MESSAGE', 'REGISTER']);
  const hash = createHash('sha1').update(id).digest('hex').slice(0, rng.pick([8, 16, 0, 40]));
  const proto = VIA_PROTOCOL[transport];
  const lines = [
    `SIP/2.0 ${status} ${rng.pick(['OK', 'Ringing', 'Busy Here', '', 'x'.repeat(300)])}`,
    `Via: SIP/2.0/${rng.chance(0.8) ? proto : rng.pick(['UDP', 'TCP', 'TLS', 'SCTP'])} %PROXY%;branch=z9hG4bK-sb-${hash}-${rng.pick(BRANCH_TAILS)}${rng.chance(0.5) ? ';rport' : ''}`,
    ...(rng.chance(0.85) ? [`Via: SIP/2.0/${proto} %CLIENT%;rport;branch=z9hG4bK${id}`] : []),
    ...(rng.chance(0.2) ? ['Record-Route: <sip:%PROXY%;lr>'] : []),
    `From: <sip:fuzz@example.org>;tag=f${id}`,
    `To: <sip:carol@elsewhere.invalid>${rng.chance(0.7) ? ';tag=r1' : ''}`,
    `Call-ID: ${id}@fuzz.invalid`,
    `CSeq: ${rng.pick(['1', '2', '0', '4294967296'])} ${method}`,
    ...(status >= 300 && status < 400 ? ['Contact: <sip:carol@%SINK%>'] : []),
    'Content-Length: 0',
  ];
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`);
}

// ---- mutations --------------------------------------------------------------------------------

/** Bytes that are not UTF-8: a lone continuation, an overlong form, a surrogate, 0xff/0xfe. */
const NON_UTF8 = [Buffer.from([0xff]), Buffer.from([0xfe, 0xff]), Buffer.from([0x80]), Buffer.from([0xc3, 0x28]), Buffer.from([0xc0, 0xaf]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]), Buffer.from([0xe9])];
const SPECIAL = Buffer.from(':;,<>"\\\r\n \t%@[]=?/0123456789zZ\u00ff\u0000', 'latin1');

interface Parts {
  head: string[];
  body: Buffer;
}

function splitMessage(bytes: Buffer): Parts {
  const end = bytes.indexOf('\r\n\r\n');
  const head = (end < 0 ? bytes : bytes.subarray(0, end)).toString('latin1').split('\r\n');
  return { head, body: end < 0 ? Buffer.alloc(0) : bytes.subarray(end + 4) };
}

function joinMessage(parts: Parts): Buffer {
  return Buffer.concat([Buffer.from(`${parts.head.join('\r\n')}\r\n\r\n`, 'latin1'), parts.body]);
}

const headerIndex = (parts: Parts, names: readonly string[]): number[] =>
  parts.head.flatMap((line, index) => (index > 0 && names.some((name) => line.toLowerCase().startsWith(`${name.toLowerCase()}:`)) ? [index] : []));

const latin1 = (bytes: Buffer): string => bytes.toString('latin1');

type Mutation = (bytes: Buffer, rng: Random) => Buffer;

/** Header-aware mutations: each one a fault a peer or an attacker can send. */
const STRUCTURED: Record<string, Mutation> = {
  'non-utf8-in-copied-header'(bytes, rng) {
    const parts = splitMessage(bytes);
    const targets = headerIndex(parts, ['From', 'To', 'Call-ID', 'Via', 'CSeq']);
    if (targets.length === 0) return bytes;
    const at = rng.pick(targets);
    const line = parts.head[at] as string;
    const bad = latin1(Buffer.concat(Array.from({ length: rng.between(1, 4) }, () => rng.pick(NON_UTF8))));
    if (/^from:|^to:/i.test(line) && line.includes('"')) parts.head[at] = line.replace('"', `"${bad}`);
    else if (/^call-id:/i.test(line)) parts.head[at] = line.replace(/:\s*/, (m) => `${m}${bad}`);
    else if (/^via:/i.test(line)) parts.head[at] = `${line};x-fz=${bad}`;
    else parts.head[at] = `${line}${bad}`;
    return joinMessage(parts);
  },
  'huge-copied-header'(bytes, rng) {
    // A From display name (or Call-ID) of kilobytes, optionally made of bytes utf8 would triple.
    const parts = splitMessage(bytes);
    const size = rng.pick([1000, 4000, 8000, 12_800, 16_000, 40_000]);
    const filler = rng.chance(0.5) ? '\u00ff'.repeat(size) : 'a'.repeat(size);
    const targets = headerIndex(parts, ['From', 'Call-ID']);
    if (targets.length === 0) return bytes;
    const at = rng.pick(targets);
    const line = parts.head[at] as string;
    parts.head[at] = /^from:/i.test(line) ? line.replace(/:\s*"[^"]*"|:\s*/, `: "${filler}" `) : `${line}${filler.replace(/\u00ff/g, 'z')}`;
    return joinMessage(parts);
  },
  'huge-header'(bytes, rng) {
    const parts = splitMessage(bytes);
    const size = rng.pick([2000, 8100, 9000, 16_500, 65_000]);
    parts.head.splice(rng.between(1, parts.head.length), 0, `X-Huge: ${rng.chance(0.3) ? '\u00ff'.repeat(size) : 'h'.repeat(size)}`);
    return joinMessage(parts);
  },
  'duplicate-header'(bytes, rng) {
    const parts = splitMessage(bytes);
    if (parts.head.length < 2) return bytes;
    const at = rng.between(1, parts.head.length - 1);
    const count = rng.pick([1, 2, 5, 130, 300]);
    parts.head.splice(at, 0, ...Array.from({ length: count }, () => parts.head[at] as string));
    return joinMessage(parts);
  },
  'many-vias'(bytes, rng) {
    const parts = splitMessage(bytes);
    const count = rng.pick([2, 10, 70, 200]);
    const vias = Array.from({ length: count }, (_, i) => `Via: SIP/2.0/UDP 192.0.2.${i % 250}:${5060 + i};branch=z9hG4bKv${i}`);
    const at = headerIndex(parts, ['Via', 'v'])[0] ?? 1;
    if (rng.chance(0.5)) parts.head.splice(at + 1, 0, ...vias);
    else parts.head.splice(at + 1, 0, `Via: ${vias.map((v) => v.slice(5)).join(', ')}`);
    return joinMessage(parts);
  },
  'bad-content-length'(bytes, rng) {
    const parts = splitMessage(bytes);
    const value = rng.pick(['-1', '99999999999999999999', 'abc', '0', '1', '100000', ' 5 5', '0x10', '', '4294967296', String(parts.body.length + rng.between(1, 50)), String(Math.max(0, parts.body.length - rng.between(1, 20)))]);
    const targets = headerIndex(parts, ['Content-Length', 'l']);
    if (targets.length === 0 || rng.chance(0.2)) parts.head.push(`Content-Length: ${value}`);
    else parts.head[rng.pick(targets)] = `Content-Length: ${value}`;
    return joinMessage(parts);
  },
  'via-odd'(bytes, rng) {
    const parts = splitMessage(bytes);
    const targets = headerIndex(parts, ['Via', 'v']);
    if (targets.length === 0) return bytes;
    const at = targets[0] as number;
    const line = parts.head[at] as string;
    const variant = rng.int(12);
    let next = line;
    if (variant <= 2) next = line.replace(/(%CLIENT%|\d+\.\d+\.\d+\.\d+(:\d+)?)/, '127.0.0.1:0').replace(/;rport/, ''); // sent-by port 0, no rport
    else if (variant === 3) next = line.replace(/%CLIENT%/, '127.0.0.1:0'); // port 0 with rport
    else if (variant === 4) next = line.replace(/;rport/, ';rport=0');
    else if (variant === 5) next = line.replace(/%CLIENT%/, rng.pick(['127.0.0.1:65536', '127.0.0.1:99999999999', '[::1]:5060', '0.0.0.0:5060', '255.255.255.255:9', 'localhost', '127.0.0.1:-1', '[::ffff:127.0.0.1]', 'a..b:1', '']));
    else if (variant === 6) next = `${line};received=${rng.pick(['', '999.1.1.1', '::1', 'x'])}`;
    else if (variant === 7) next = line.replace(/;branch=[^;]*/, rng.pick([';branch=', ';branch', '', ';branch=z9hG4bK', ';branch=z9hG4bK-sb-00000000-1.1']));
    else if (variant === 8) next = line.replace(/SIP\/2\.0\/\w+/, rng.pick(['SIP/2.0/SCTP', 'SIP/2.0/WS', 'SIP/2.0/', 'SIP/3.0/UDP', 'SIP/2.0/udp ', 'XYZ']));
    else if (variant === 9) next = `${line};maddr=${rng.pick(['224.0.0.1', '127.0.0.1', 'x'])};ttl=${rng.pick(['1', '256', '-1'])}`;
    else if (variant === 10) next = `${line}${';x'.repeat(rng.pick([10, 200, 2000]))}`;
    else next = line.replace(/;rport/, ';rport;rport;rport=1');
    parts.head[at] = next;
    return joinMessage(parts);
  },
  'missing-mandatory-header'(bytes, rng) {
    const parts = splitMessage(bytes);
    const name = rng.pick(['Via', 'From', 'To', 'Call-ID', 'CSeq', 'Max-Forwards', 'Content-Length']);
    parts.head = parts.head.filter((line, index) => index === 0 || !line.toLowerCase().startsWith(`${name.toLowerCase()}:`));
    return joinMessage(parts);
  },
  'crlf-flood'(bytes, rng) {
    const crlfs = Buffer.from('\r\n'.repeat(rng.pick([1, 2, 3, 50, 2000])));
    const where = rng.int(3);
    if (where === 0) return Buffer.concat([crlfs, bytes]);
    if (where === 1) return Buffer.concat([bytes, crlfs]);
    const parts = splitMessage(bytes);
    parts.head.splice(rng.between(1, parts.head.length), 0, '');
    return joinMessage(parts);
  },
  'compact-and-case'(bytes, rng) {
    const parts = splitMessage(bytes);
    const compact: Record<string, string> = { via: 'v', from: 'f', to: 't', 'call-id': 'i', 'content-length': 'l', 'content-type': 'c', contact: 'm' };
    parts.head = parts.head.map((line, index) => {
      if (index === 0 || !rng.chance(0.5)) return line;
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      const short = compact[name];
      if (short !== undefined && rng.chance(0.5)) return `${short}${rng.pick([':', ' :', '\t: '])}${line.slice(colon + 1)}`;
      return `${rng.chance(0.5) ? name.toUpperCase() : name}${rng.pick([':', ' :', ':   '])}${line.slice(colon + 1)}`;
    });
    return joinMessage(parts);
  },
  folding(bytes, rng) {
    const parts = splitMessage(bytes);
    if (parts.head.length < 2) return bytes;
    const at = rng.between(1, parts.head.length - 1);
    const line = parts.head[at] as string;
    const cut = rng.between(Math.min(line.length, line.indexOf(':') + 1), line.length);
    parts.head[at] = `${line.slice(0, cut)}\r\n${rng.pick([' ', '\t', '   '])}${line.slice(cut)}`;
    return joinMessage(parts);
  },
  'huge-numbers'(bytes, rng) {
    const parts = splitMessage(bytes);
    parts.head = parts.head.map((line) =>
      /^(cseq|max-forwards|expires|content-length):/i.test(line) && rng.chance(0.6) ? line.replace(/\d+/, rng.pick(['4294967296', '2147483648', '99999999999999999999999', '-1', '00000000000000000070'])) : line,
    );
    return joinMessage(parts);
  },
  'start-line'(bytes, rng) {
    const parts = splitMessage(bytes);
    const line = parts.head[0] as string;
    parts.head[0] = rng.pick([
      line.replace('SIP/2.0', rng.pick(['SIP/3.0', 'SIP/2.00', 'sip/2.0', 'HTTP/1.1', ''])),
      line.replace(/^\w+/, rng.pick(['INVITEX', 'invite', 'I', 'PRACK', 'UPDATE', 'SUBSCRIBE', 'GET', '\u00ff'])),
      line.replace(/sip:/, rng.pick(['sips:', 'tel:', 'mailto:', 'nobody:', 'sip:%', 'sip:[::1', 'sip:'.repeat(3)])),
      line.replace(/ /g, rng.pick(['  ', '\t', ' '])),
      `${line.split(' ')[0]} sip:${'u'.repeat(rng.pick([100, 9000]))}@example.com SIP/2.0`,
      `${line} extra`,
    ]);
    return joinMessage(parts);
  },
  'nul-bytes'(bytes, rng) {
    const at = rng.int(bytes.length + 1);
    return Buffer.concat([bytes.subarray(0, at), Buffer.alloc(rng.pick([1, 3, 100])), bytes.subarray(at)]);
  },
  'route-odd'(bytes, rng) {
    const parts = splitMessage(bytes);
    parts.head.splice(rng.between(1, parts.head.length), 0, `Route: ${rng.pick(['<sip:%PROXY%;lr>', '<sip:%PROXY%>', '<sip:%SINK%;lr;transport=tcp>', '<sip:127.0.0.1:0;lr>', '<sip:%SINK%;lr;maddr=127.0.0.1>', '<sips:%SINK%;lr>', '<tel:+1>', '<sip:[::1]:1;lr>', '<>', '<sip:%PROXY%;lr>, <sip:%PROXY%;lr>'])}`);
    return joinMessage(parts);
  },
  'via-port-0'(bytes) {
    // The sent-by port 0 and no rport: the response would go to port 0.
    const parts = splitMessage(bytes);
    const at = headerIndex(parts, ['Via', 'v'])[0];
    if (at === undefined) return bytes;
    parts.head[at] = (parts.head[at] as string).replace(/%CLIENT%/, '127.0.0.1:0').replace(/;rport/, '');
    return joinMessage(parts);
  },
  'proxy-require'(bytes, rng) {
    const parts = splitMessage(bytes);
    parts.head.splice(1, 0, `Proxy-Require: ${rng.pick(['foo', 'a, b, c', '', ','.repeat(100), '\u00ff'])}`);
    return joinMessage(parts);
  },
};

/** Byte-level mutations, as the parser fuzz makes, for faults nobody thought to name. */
const BYTES: Record<string, Mutation> = {
  'flip-byte'(bytes, rng) {
    if (bytes.length === 0) return bytes;
    const copy = Buffer.from(bytes);
    copy[rng.int(copy.length)] = rng.int(256);
    return copy;
  },
  'special-byte'(bytes, rng) {
    if (bytes.length === 0) return bytes;
    const copy = Buffer.from(bytes);
    copy[rng.int(copy.length)] = SPECIAL[rng.int(SPECIAL.length)] as number;
    return copy;
  },
  'delete-run'(bytes, rng) {
    const at = rng.int(bytes.length + 1);
    return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1 + rng.int(12))]);
  },
  'duplicate-run'(bytes, rng) {
    const at = rng.int(bytes.length + 1);
    const length = 1 + rng.int(60);
    return Buffer.concat([bytes.subarray(0, at + length), bytes.subarray(at, at + length), bytes.subarray(at + length)]);
  },
  truncate(bytes, rng) {
    return bytes.subarray(0, rng.int(bytes.length + 1));
  },
};

const STRUCTURED_NAMES = [...Object.keys(STRUCTURED).filter((name) => name !== 'via-port-0'), 'via-port-0'];
/** Each named mutation alone, once per transport. */
const SYSTEMATIC_CASES = STRUCTURED_NAMES.length * 3;
const BYTE_NAMES = Object.keys(BYTES);

/**
 * `count` cases from `seed`, transports in turn (UDP, TCP, TLS). The first ones apply each named
 * mutation alone to a request, once per transport (so a short run meets every fault, a Via with
 * port 0 last); after them, one case in five is a response and requests get one to three mutations
 * of either kind.
 */
export function generateCases(seed: number, count: number, transports: readonly FuzzTransport[] = ['udp', 'tcp', 'tls']): FuzzCase[] {
  const cases: FuzzCase[] = [];
  for (let index = 0; index < count; index++) {
    // One generator per case: case i is the same whatever the count, so a long run extends the short one.
    const rng = new Random((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
    const transport = transports[index % transports.length] as FuzzTransport;
    const id = `fz${seed.toString(36)}x${index.toString(36)}`;
    const systematic = index < SYSTEMATIC_CASES ? (STRUCTURED_NAMES[Math.floor(index / 3)] as string) : undefined;
    const kind = systematic === undefined && rng.chance(0.2) ? 'response' : 'request';
    let name: string;
    let bytes: Buffer;
    if (kind === 'response') {
      name = 'response';
      bytes = responseSeed(rng, transport, id);
    } else {
      const seeds = requestSeeds(transport, id);
      const [seedName, head, body] = systematic === undefined ? rng.pick(seeds) : (seeds[index % (seeds.length - 1)] as [string, string[], string]);
      name = seedName;
      bytes = Buffer.from(`${head.join('\r\n')}\r\n\r\n${body}`);
    }
    const mutations: string[] = [];
    if (systematic !== undefined) {
      mutations.push(systematic);
      bytes = STRUCTURED[systematic]!(bytes, rng);
    }
    const rounds = systematic !== undefined || rng.chance(0.1) ? 0 : rng.between(1, 3);
    for (let round = 0; round < rounds; round++) {
      const structured = rng.chance(0.7);
      const mutation = structured ? rng.pick(STRUCTURED_NAMES) : rng.pick(BYTE_NAMES);
      mutations.push(mutation);
      bytes = (structured ? STRUCTURED[mutation] : BYTES[mutation])!(bytes, rng);
    }
    const stream = transport !== 'udp';
    const prefix = stream && rng.chance(0.15) ? Buffer.from(rng.pick(['\r\n\r\n', '\r\n', '\r\n'.repeat(rng.pick([10, 500, 5000]))])) : Buffer.alloc(0);
    const copies = stream && rng.chance(0.1) ? 2 : 1;
    const splits = stream ? Array.from({ length: rng.pick([0, 0, 1, 2, 5, 20]) }, () => rng.next()).sort((a, b) => a - b) : [];
    cases.push({ index, transport, kind, seed: name, mutations, template: bytes, prefix, copies, splits });
  }
  return cases;
}

// ---- sending and collecting -------------------------------------------------------------------

/** What came back for one case. */
export interface Exchange {
  readonly fuzzCase: FuzzCase;
  /** The message bytes as sent (one copy, no prefix). */
  readonly sent: Buffer;
  /** Every SIP message that came back to the sending socket, in order. */
  readonly received: Buffer[];
  readonly sentAt: number;
  /** False when the connection could not be made (TCP/TLS): nothing was sent. */
  readonly delivered: boolean;
  /** TCP/TLS: bytes the proxy wrote that do not frame as SIP messages, from the first bad chunk on. */
  readonly garbage?: Buffer;
}

export interface SendOptions {
  readonly host: string;
  readonly ports: Record<FuzzTransport, number>;
  readonly sink: string;
  /** How long to collect answers after the last byte is written. */
  readonly windowMs: number;
  /** TLS client options (the test CA). */
  readonly tls: tls.ConnectionOptions;
  /** Called when a case's bytes are about to go out (for crash attribution). */
  onSend?(fuzzCase: FuzzCase, sent: Buffer): void;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** UDP source ports handed out recently: a late answer to an earlier case must not land in a new one. */
const recentUdpPorts = new Map<number, number>();

async function freshUdpSocket(host: string): Promise<dgram.Socket> {
  for (let attempt = 0; ; attempt++) {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, host, () => resolve()));
    const port = socket.address().port;
    const last = recentUdpPorts.get(port);
    if (last === undefined || Date.now() - last > 60_000 || attempt > 20) {
      recentUdpPorts.set(port, Date.now());
      return socket;
    }
    socket.close();
  }
}

/** Sends one case over its transport and collects what comes back within the window. */
export async function sendCase(fuzzCase: FuzzCase, options: SendOptions): Promise<Exchange> {
  const proxy = `${options.host}:${options.ports[fuzzCase.transport]}`;
  if (fuzzCase.transport === 'udp') {
    const socket = await freshUdpSocket(options.host);
    const received: Buffer[] = [];
    socket.on('message', (data) => received.push(data));
    socket.on('error', () => undefined);
    const sent = renderCase(fuzzCase, { client: `${options.host}:${socket.address().port}`, proxy, sink: options.sink });
    options.onSend?.(fuzzCase, sent);
    const sentAt = Date.now();
    // A datagram larger than UDP allows cannot be sent: that case has nothing to check.
    const delivered = sent.length <= 65_507 && (await new Promise<boolean>((resolve) => socket.send(sent, options.ports.udp, options.host, (error) => resolve(error == null))));
    await pause(options.windowMs);
    socket.close();
    return { fuzzCase, sent, received, sentAt, delivered };
  }
  const socket: net.Socket =
    fuzzCase.transport === 'tls'
      ? tls.connect({ ...options.tls, host: options.host, port: options.ports.tls })
      : net.connect({ host: options.host, port: options.ports.tcp });
  socket.on('error', () => undefined);
  const received: Buffer[] = [];
  const garbage: Buffer[] = [];
  // Limits far above the proxy's own: whatever it writes back is framed and checked.
  const framer = new StreamFramer({ limits: LENIENT_LIMITS });
  socket.on('data', (chunk: Buffer) => {
    if (garbage.length > 0) {
      garbage.push(Buffer.from(chunk));
      return;
    }
    try {
      for (const event of framer.push(chunk)) if (event.kind === 'message') received.push(Buffer.from(event.bytes));
    } catch {
      garbage.push(Buffer.from(chunk)); // bytes from the proxy that are no SIP message: kept for the report
    }
  });
  const connected = await Promise.race([
    once(socket, fuzzCase.transport === 'tls' ? 'secureConnect' : 'connect').then(() => true, () => false),
    once(socket, 'close').then(() => false),
    pause(10_000).then(() => false),
  ]);
  const local = `${options.host}:${socket.localPort ?? 0}`;
  const sent = renderCase(fuzzCase, { client: local, proxy, sink: options.sink });
  const sentAt = Date.now();
  if (!connected) {
    socket.destroy();
    return { fuzzCase, sent, received, sentAt, delivered: false };
  }
  options.onSend?.(fuzzCase, sent);
  const stream = Buffer.concat([fuzzCase.prefix, ...Array.from({ length: fuzzCase.copies }, () => sent)]);
  let from = 0;
  for (const fraction of [...fuzzCase.splits, 1]) {
    const to = Math.max(from, Math.round(fraction * stream.length));
    if (to > from && !socket.destroyed) {
      socket.write(stream.subarray(from, to));
      // Let the chunk reach the proxy on its own, most of the time.
      await (fraction < 1 && fuzzCase.index % 2 === 0 ? pause(1) : new Promise((resolve) => setImmediate(resolve)));
    }
    from = to;
  }
  await pause(options.windowMs);
  socket.destroy();
  return { fuzzCase, sent, received, sentAt, delivered: true, garbage: garbage.length > 0 ? Buffer.concat(garbage) : undefined };
}

// ---- the sink: the proxy's default route ------------------------------------------------------

export interface Sink {
  readonly port: number;
  /** Requests the proxy forwarded here. */
  readonly forwarded: number;
  close(): Promise<void>;
}

/** Marks responses the sink made, so the collector never takes them for the proxy's own. */
export const SINK_MARK = 'X-Fuzz-Sink: yes';
const SINK_STATUSES = [0, 100, 180, 183, 200, 202, 302, 404, 486, 487, 503, 603, 699];

/**
 * A UDP downstream that answers every forwarded request except ACK with a status chosen from the
 * request's bytes (the same request, the same answer), the proxy's own Via on top: the responses
 * with our Via and random statuses come back through real client transactions. Status 0 means
 * no answer (the proxy's timers run).
 */
export async function startSink(host: string): Promise<Sink> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, host, () => resolve()));
  let forwarded = 0;
  socket.on('message', (data, from) => {
    forwarded++;
    let request: SipMessage;
    try {
      request = parseMessage(data);
    } catch {
      return;
    }
    if (!request.isRequest || request.method === 'ACK') return;
    const digest = createHash('sha1').update(request.callId ?? '').update(request.method ?? '').digest();
    const status = SINK_STATUSES[(digest[0] as number) % SINK_STATUSES.length] as number;
    if (status === 0) return;
    const lines = [`SIP/2.0 ${status} Sink`];
    for (const field of request.fields) {
      if (!['via', 'from', 'to', 'call-id', 'cseq', 'record-route'].includes(field.name)) continue;
      let value = data.subarray(field.valueStart, field.valueEnd).toString('latin1');
      if (field.name === 'to' && status > 100 && request.toTag === undefined) value += ';tag=sink';
      lines.push(`${field.name}: ${value}`);
    }
    if (status >= 300 && status < 400) lines.push(`Contact: <sip:elsewhere@${host}:${socket.address().port}>`);
    lines.push(SINK_MARK, 'Content-Length: 0', '', '');
    socket.send(Buffer.from(lines.join('\r\n'), 'latin1'), from.port, from.address);
  });
  socket.on('error', () => undefined);
  return {
    port: socket.address().port,
    get forwarded() {
      return forwarded;
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

// ---- checks -----------------------------------------------------------------------------------

/** One requirement a response broke. */
export interface Finding {
  readonly rule: 'copy' | 'udp-size';
  readonly detail: string;
  readonly response: Buffer;
}

interface RawField {
  readonly name: string;
  readonly value: Buffer;
}

/**
 * The header fields of a message read leniently from its bytes (a request that failed to parse
 * still has lines): folded lines joined, names canonical, values without surrounding blanks.
 */
export function rawFields(bytes: Buffer): RawField[] {
  let start = 0;
  while (bytes[start] === 0x0d && bytes[start + 1] === 0x0a) start += 2;
  let end = bytes.indexOf('\r\n\r\n', start);
  if (end < 0) end = bytes.length;
  const lines: Buffer[] = [];
  let from = bytes.indexOf('\r\n', start);
  if (from < 0 || from >= end) return [];
  from += 2;
  while (from < end) {
    let next = bytes.indexOf('\r\n', from);
    if (next < 0 || next > end) next = end;
    const line = bytes.subarray(from, next);
    if ((line[0] === 0x20 || line[0] === 0x09) && lines.length > 0) lines[lines.length - 1] = Buffer.concat([lines[lines.length - 1] as Buffer, Buffer.from('\r\n'), line]);
    else lines.push(line);
    from = next + 2;
  }
  const fields: RawField[] = [];
  for (const line of lines) {
    const colon = line.indexOf(0x3a);
    if (colon <= 0) continue;
    const name = canonicalHeaderName(line.subarray(0, colon).toString('latin1').trim());
    fields.push({ name, value: trimBlanks(line.subarray(colon + 1)) });
  }
  return fields;
}

function trimBlanks(bytes: Buffer): Buffer {
  let from = 0;
  let to = bytes.length;
  const blank = (byte: number | undefined): boolean => byte === 0x20 || byte === 0x09 || byte === 0x0d || byte === 0x0a;
  while (from < to && blank(bytes[from])) from++;
  while (to > from && blank(bytes[to - 1])) to--;
  return bytes.subarray(from, to);
}

/** Folding (CRLF and blanks) counts as one space, as RFC 3261 §7.3.1 makes it equivalent. */
const unfoldBytes = (bytes: Buffer): string => bytes.toString('latin1').replace(/[ \t]*\r\n[ \t]+/g, ' ');

/** The Via values of a list of Via fields, one per Via (commas outside quotes split them). */
function viaValues(values: readonly Buffer[]): string[] {
  const out: string[] = [];
  for (const value of values) {
    const text = unfoldBytes(value);
    let quoted = false;
    let from = 0;
    for (let i = 0; i <= text.length; i++) {
      const char = text[i];
      if (char === '"') quoted = !quoted;
      if (i === text.length || (char === ',' && !quoted)) {
        out.push(text.slice(from, i).trim());
        from = i + 1;
      }
    }
  }
  return out;
}

/**
 * Bytes of the header lines a response's status requires and the UDP size rule lets past the
 * request's size (core's generated-response.ts): a challenge (401, 407), Allow (405), Min-Expires
 * (423). The proxy under fuzz runs without --auth, so in practice only 405 and 423 carry them.
 */
function requiredHeaderBytes(response: Buffer): number {
  let total = 0;
  for (const line of response.toString('latin1').split('\r\n')) {
    if (/^(www-authenticate|proxy-authenticate|allow|min-expires)[ \t]*:/i.test(line)) total += line.length + 2;
  }
  return total;
}

/** A Via with what a server may add to it (`received`, a value for `rport`) taken out. */
const withoutStamps = (via: string): string => via.replace(/;[ \t]*received[ \t]*=[ \t]*[^;,]*/gi, '').replace(/(;[ \t]*rport)[ \t]*=[ \t]*\d*/gi, '$1');

/**
 * The requirements on a response the proxy generated for `request` (as sent): Via, From, To,
 * Call-ID and CSeq copied byte for byte (To may gain a tag, the top Via `received`/`rport`), and,
 * over UDP, no more bytes than the request plus the constant a response must add (ADDED_BYTES) and
 * the header lines its status requires (a 2xx to REGISTER: up to REGISTER_OK_UDP_BYTES). When the request parses (the project's own parser),
 * each of those headers must be there; otherwise every one that is there must copy one of the
 * request's.
 */
export function checkGeneratedResponse(request: Buffer, response: Buffer, transport: FuzzTransport): Finding[] {
  const findings: Finding[] = [];
  const registerOk = /^SIP\/2\.0 2\d\d /.test(response.subarray(0, 16).toString('latin1')) && /\r\nCSeq:[ \t]*\d+[ \t]+REGISTER\r\n/i.test(response.toString('latin1'));
  const limit = Math.max(request.length + ADDED_BYTES + requiredHeaderBytes(response), registerOk ? REGISTER_OK_UDP_BYTES : 0);
  if (transport === 'udp' && response.length > limit) {
    findings.push({ rule: 'udp-size', detail: `a ${response.length}-byte response to a ${request.length}-byte request over UDP (limit ${limit})`, response });
  }
  const status = Number(/^SIP\/2\.0 (\d{3})/.exec(response.subarray(0, 16).toString('latin1'))?.[1] ?? NaN);
  let parsed: SipMessage | undefined;
  try {
    parsed = parseMessage(request);
    if (!parsed.isRequest) parsed = undefined;
  } catch {
    parsed = undefined;
  }
  const requestFields = rawFields(request);
  const responseFields = rawFields(response);
  const requestValues = (name: string): Buffer[] => requestFields.filter((field) => field.name === name).map((field) => field.value);
  const responseValues = (name: string): Buffer[] => responseFields.filter((field) => field.name === name).map((field) => field.value);
  /** Latin-1 text with every byte outside printable ASCII as \\xNN, cut at 200 characters. */
  const show = (text: string): string => {
    const cut = text.length > 200 ? `${text.slice(0, 200)}…(${text.length} bytes)` : text;
    return `"${cut.replace(/[^\x20-\x7e]|["\\]/g, (char) => (char === '"' || char === '\\' ? `\\${char}` : `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`))}"`;
  };

  for (const name of ['from', 'call-id', 'cseq', 'to']) {
    const ours = responseValues(name)[0];
    const theirs = requestValues(name).map(unfoldBytes);
    if (ours === undefined) {
      if (parsed !== undefined && theirs.length > 0) findings.push({ rule: 'copy', detail: `${name} missing from the response`, response });
      continue;
    }
    let text = unfoldBytes(ours);
    if (name === 'to' && !theirs.includes(text) && status > 100) {
      const untagged = text.replace(/;[ \t]*tag=[^;]*$/i, '');
      if (theirs.some((value) => value === untagged && !/;[ \t]*tag[ \t]*=/i.test(value))) text = untagged;
    }
    if (!theirs.includes(text)) {
      findings.push({ rule: 'copy', detail: `${name} not copied byte for byte: response has ${show(text)}, request has ${theirs.map(show).join(' | ') || 'none'}`, response });
    }
  }
  const requestVias = viaValues(requestValues('via'));
  const responseVias = viaValues(responseValues('via'));
  if (parsed !== undefined && responseVias.length !== requestVias.length) {
    findings.push({ rule: 'copy', detail: `${responseVias.length} Via values in the response, ${requestVias.length} in the request`, response });
  }
  const differing = responseVias.flatMap((via, index) => {
    const expected = requestVias[index];
    const same = expected !== undefined && (index === 0 ? withoutStamps(via) === withoutStamps(expected) : via === expected);
    return same ? [] : [index];
  });
  const first = differing[0];
  if (first !== undefined) {
    findings.push({
      rule: 'copy',
      detail: `Via not copied byte for byte (${differing.length} of ${responseVias.length} values differ): #${first + 1} in the response is ${show(responseVias[first] as string)}, in the request ${show(requestVias[first] ?? 'none')}`,
      response,
    });
  }
  return findings;
}

/** Limits far above the proxy's own, so that whatever crosses a stream frames here. */
const LENIENT_LIMITS = { maxHeaderBytes: 1 << 24, maxHeaders: 1 << 20, maxLineLength: 1 << 24, maxBodyBytes: 1 << 24 };

/**
 * The messages a stream carries as a SIP framer cuts it (a case over TCP or TLS may hold several:
 * junk before a CRLF flood, then the request; or the request twice). What follows a framing error
 * is kept as one last piece.
 */
export function frameMessages(stream: Buffer): Buffer[] {
  const framer = new StreamFramer({ limits: LENIENT_LIMITS });
  const messages: Buffer[] = [];
  let offset = 0;
  try {
    for (const event of framer.push(stream)) if (event.kind === 'message') messages.push(Buffer.from(event.bytes));
  } catch {
    offset = messages.reduce((sum, message) => sum + message.length, 0);
    messages.push(stream.subarray(Math.min(offset, stream.length)));
  }
  return messages.length > 0 ? messages : [stream];
}

/**
 * The checks against the request that drew the response: of several requests (a stream), the one
 * it copies best; a response that faithfully answers any of them passes.
 */
export function checkAgainstRequests(requests: readonly Buffer[], response: Buffer, transport: FuzzTransport): Finding[] {
  let best: Finding[] | undefined;
  for (const request of requests) {
    const findings = checkGeneratedResponse(request, response, transport);
    if (findings.length === 0) return findings;
    if (best === undefined || findings.length < best.length) best = findings;
  }
  return best ?? [];
}

/** A message that came back: a response the proxy generated, one it forwarded, or neither. */
export function classify(bytes: Buffer): 'generated' | 'forwarded' | 'other' {
  if (!/^SIP\/2\.0 \d{3} /.test(bytes.subarray(0, 13).toString('latin1'))) return 'other';
  return bytes.includes(SINK_MARK) ? 'forwarded' : 'generated';
}

/** Hex of at most `limit` bytes, with the total length when cut. */
export function hex(bytes: Buffer, limit = 512): string {
  return bytes.length <= limit ? bytes.toString('hex') : `${bytes.subarray(0, limit).toString('hex')}… (${bytes.length} bytes in all)`;
}
