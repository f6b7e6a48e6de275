/**
 * HTTP Digest as SIP uses it (RFC 3261 §22.4 and §25.1, RFC 8760, RFC 7616): the grammar of
 * WWW-Authenticate / Proxy-Authenticate challenges and Authorization / Proxy-Authorization
 * credentials, and the hashes (HA1, HA2, response) for MD5, SHA-256 and SHA-512/256. No I/O and
 * no policy: which requests are challenged, nonces and replay protection live in the proxy
 * (`@switchboard/core`).
 */
import { createHash } from 'node:crypto';
import { SipError } from './errors.js';
import { isHex, isTokenChar, quote, scanQuotedString, scanToken, unquote } from './lexer.js';

/** The algorithms of RFC 8760, in its order of preference: a server lists its challenges so. */
export const DIGEST_ALGORITHMS = ['SHA-256', 'SHA-512-256', 'MD5'] as const;
export type DigestAlgorithm = (typeof DIGEST_ALGORITHMS)[number];

const NODE_HASHES: Readonly<Record<DigestAlgorithm, string>> = { MD5: 'md5', 'SHA-256': 'sha256', 'SHA-512-256': 'sha512-256' };
/** Hex digits of each algorithm's hash (a response of another length is malformed). */
export const DIGEST_HEX_LENGTH: Readonly<Record<DigestAlgorithm, number>> = { MD5: 32, 'SHA-256': 64, 'SHA-512-256': 64 };

/** The algorithm a token names (case-insensitive), or undefined when it is none of RFC 8760's. */
export function digestAlgorithm(token: string): DigestAlgorithm | undefined {
  const upper = token.toUpperCase();
  return DIGEST_ALGORITHMS.find((algorithm) => algorithm === upper);
}

/** Lower-case hex hash of a UTF-8 string. */
export function digestHash(algorithm: DigestAlgorithm, text: string): string {
  return createHash(NODE_HASHES[algorithm]).update(text, 'utf8').digest('hex');
}

/** HA1 = H(username ":" realm ":" password) (RFC 7616 §3.4.2): what a users file stores. */
export function digestHa1(algorithm: DigestAlgorithm, username: string, realm: string, password: string): string {
  return digestHash(algorithm, `${username}:${realm}:${password}`);
}

export interface DigestResponseInput {
  readonly algorithm: DigestAlgorithm;
  /** HA1 in hex (see digestHa1). */
  readonly ha1: string;
  readonly method: string;
  /** The `uri` parameter of the credentials, as written. */
  readonly uri: string;
  readonly nonce: string;
  /** With qop: the nonce count as written (8 hex digits), the client nonce and the qop ("auth"). */
  readonly qop?: string;
  readonly nc?: string;
  readonly cnonce?: string;
}

/**
 * The request-digest (RFC 7616 §3.4.1): H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" HA2) with
 * a qop, H(HA1 ":" nonce ":" HA2) without (RFC 2069 style), where HA2 = H(method ":" uri).
 */
export function digestResponse(input: DigestResponseInput): string {
  const ha2 = digestHash(input.algorithm, `${input.method}:${input.uri}`);
  const middle = input.qop === undefined ? input.nonce : `${input.nonce}:${input.nc ?? ''}:${input.cnonce ?? ''}:${input.qop}`;
  return digestHash(input.algorithm, `${input.ha1}:${middle}:${ha2}`);
}

// ---- header grammar ------------------------------------------------------------------------

/** One challenge or one set of credentials: its scheme and its parameters (names lower-cased, values unquoted). */
export interface AuthValue {
  readonly scheme: string;
  readonly params: ReadonlyMap<string, string>;
}

function malformed(message: string): SipError {
  return new SipError('ERR_SIP_INVALID_AUTH_HEADER', message);
}

function skipBlanks(text: string, index: number): number {
  while (index < text.length && (text[index] === ' ' || text[index] === '\t' || text[index] === '\r' || text[index] === '\n')) index++;
  return index;
}

/**
 * Parses a WWW-Authenticate, Proxy-Authenticate, Authorization or Proxy-Authorization value:
 * `scheme LWS name=value *(COMMA name=value)`, values tokens or quoted strings (escapes
 * resolved). A value may hold several challenges one after the other, as HTTP allows
 * (`Digest realm="a", ..., Digest realm="b", ...`): a token after a comma that is followed by a
 * blank and not by `=` starts the next one. Throws ERR_SIP_INVALID_AUTH_HEADER when the value
 * does not match the grammar (no scheme, an unclosed quoted string, a parameter without a value
 * or given twice).
 */
export function parseAuthValues(value: string): AuthValue[] {
  const values: AuthValue[] = [];
  let i = skipBlanks(value, 0);
  if (i >= value.length) throw malformed('Empty authentication header');
  while (i < value.length) {
    const schemeEnd = scanToken(value, i);
    if (schemeEnd === i) throw malformed(`Expected an authentication scheme at "${value.slice(i, i + 20)}"`);
    const scheme = value.slice(i, schemeEnd);
    const params = new Map<string, string>();
    i = skipBlanks(value, schemeEnd);
    if (i === schemeEnd && i < value.length) throw malformed(`Expected a blank after the scheme ${scheme}`);
    if (scheme.toLowerCase() !== 'digest') {
      // Another scheme (Basic's token68, a future one): kept by name, skipped to the next challenge.
      values.push({ scheme, params });
      const next = nextChallengeStart(value, i);
      if (next < 0) break;
      i = next;
      continue;
    }
    let next = -1;
    while (i < value.length) {
      const nameEnd = scanToken(value, i);
      if (nameEnd === i) throw malformed(`Expected a parameter name at "${value.slice(i, i + 20)}"`);
      const name = value.slice(i, nameEnd).toLowerCase();
      let j = skipBlanks(value, nameEnd);
      if (value[j] !== '=') throw malformed(`Parameter ${name} of ${scheme} has no value`);
      j = skipBlanks(value, j + 1);
      let text: string;
      if (value[j] === '"') {
        const end = scanQuotedString(value, j);
        if (end < 0) throw malformed(`Unclosed quoted string in parameter ${name}`);
        text = unquote(value.slice(j, end));
        j = end;
      } else {
        const end = scanToken(value, j);
        if (end === j) throw malformed(`Parameter ${name} of ${scheme} has no value`);
        text = value.slice(j, end);
        j = end;
      }
      if (params.has(name)) throw malformed(`Parameter ${name} is given twice`);
      params.set(name, text);
      j = skipBlanks(value, j);
      if (j >= value.length) {
        i = j;
        break;
      }
      if (value[j] !== ',') throw malformed(`Expected a comma after parameter ${name}`);
      j = skipBlanks(value, j + 1);
      // A token followed by a blank and then not by "=" is the scheme of the next challenge.
      const tokenEnd = scanToken(value, j);
      const after = skipBlanks(value, tokenEnd);
      if (tokenEnd > j && after > tokenEnd && after < value.length && value[after] !== '=') {
        next = j;
        break;
      }
      i = j;
    }
    values.push({ scheme, params });
    if (next < 0) break;
    i = next;
  }
  return values;
}

/** Where the challenge after the one whose parameters start at `from` begins, or -1. */
function nextChallengeStart(value: string, from: number): number {
  for (let i = from; i < value.length; i++) {
    if (value[i] === '"') {
      const end = scanQuotedString(value, i);
      if (end < 0) throw malformed('Unclosed quoted string');
      i = end - 1;
    } else if (value[i] === ',') {
      const start = skipBlanks(value, i + 1);
      const tokenEnd = scanToken(value, start);
      const after = skipBlanks(value, tokenEnd);
      if (tokenEnd > start && after > tokenEnd && after < value.length && value[after] !== '=') return start;
    }
  }
  return -1;
}

/** A Digest challenge (WWW-Authenticate or Proxy-Authenticate). */
export interface DigestChallenge {
  readonly realm: string;
  readonly nonce: string;
  /** Absent in the header means MD5 (RFC 2617). */
  readonly algorithm: DigestAlgorithm;
  /** Offered qop values ("auth"); none for an RFC 2069 challenge. */
  readonly qop?: readonly string[];
  /** The previous request's nonce was stale but its response right (RFC 7616 §3.3): retry without asking the user. */
  readonly stale?: boolean;
  readonly opaque?: string;
}

/**
 * Formats a challenge as RFC 8760 writes them: realm and nonce first (clients with a loose parser
 * find them there), algorithm as a token, qop quoted.
 */
export function formatDigestChallenge(challenge: DigestChallenge): string {
  let text = `Digest realm=${quote(challenge.realm)}, nonce=${quote(challenge.nonce)}`;
  if (challenge.opaque !== undefined) text += `, opaque=${quote(challenge.opaque)}`;
  text += `, algorithm=${challenge.algorithm}`;
  if (challenge.qop !== undefined && challenge.qop.length > 0) text += `, qop=${quote(challenge.qop.join(','))}`;
  if (challenge.stale === true) text += ', stale=true';
  return text;
}

/**
 * The Digest challenges of a WWW-Authenticate or Proxy-Authenticate value whose algorithm is one
 * of RFC 8760's (others are skipped, as a client skips what it cannot answer). Throws
 * ERR_SIP_INVALID_AUTH_HEADER on a malformed value or a Digest challenge without realm or nonce.
 */
export function parseDigestChallenges(value: string): DigestChallenge[] {
  const challenges: DigestChallenge[] = [];
  for (const { scheme, params } of parseAuthValues(value)) {
    if (scheme.toLowerCase() !== 'digest') continue;
    const realm = params.get('realm');
    const nonce = params.get('nonce');
    if (realm === undefined || nonce === undefined) throw malformed('A Digest challenge needs realm and nonce');
    const algorithm = digestAlgorithm(params.get('algorithm') ?? 'MD5');
    if (algorithm === undefined) continue;
    const qop = params.get('qop')?.split(',').map((item) => item.trim()).filter((item) => item.length > 0);
    const opaque = params.get('opaque');
    challenges.push({ realm, nonce, algorithm, ...(qop === undefined ? {} : { qop }), ...(params.get('stale')?.toLowerCase() === 'true' ? { stale: true } : {}), ...(opaque === undefined ? {} : { opaque }) });
  }
  return challenges;
}

/** Digest credentials (Authorization or Proxy-Authorization). */
export interface DigestCredentials {
  readonly username: string;
  readonly realm: string;
  readonly nonce: string;
  readonly uri: string;
  /** Lower-case hex. */
  readonly response: string;
  /** As written; absent means MD5. Not checked here: the server decides what it accepts. */
  readonly algorithm: string;
  readonly qop?: string;
  /** 8 hex digits, as written (it is hashed as written). */
  readonly nc?: string;
  readonly cnonce?: string;
  readonly opaque?: string;
}

/**
 * The Digest credentials of an Authorization or Proxy-Authorization value, or undefined for
 * another scheme. Throws ERR_SIP_INVALID_AUTH_HEADER when the value is malformed, lacks username,
 * realm, nonce, uri or response, has a qop without nc and cnonce, or an nc that is not 8 hex
 * digits.
 */
export function parseDigestCredentials(value: string): DigestCredentials | undefined {
  const [first, ...rest] = parseAuthValues(value);
  if (first === undefined || first.scheme.toLowerCase() !== 'digest') return undefined;
  if (rest.length > 0) throw malformed('One Authorization value holds one set of credentials');
  const { params } = first;
  const required = (name: string): string => {
    const text = params.get(name);
    if (text === undefined) throw malformed(`Digest credentials without ${name}`);
    return text;
  };
  const credentials = {
    username: required('username'),
    realm: required('realm'),
    nonce: required('nonce'),
    uri: required('uri'),
    response: required('response').toLowerCase(),
    algorithm: params.get('algorithm') ?? 'MD5',
  };
  const qop = params.get('qop');
  const opaque = params.get('opaque');
  if (qop === undefined) return { ...credentials, ...(opaque === undefined ? {} : { opaque }) };
  const nc = required('nc');
  const cnonce = required('cnonce');
  if (nc.length !== 8 || ![...nc].every((ch) => isHex(ch.charCodeAt(0)))) throw malformed(`Digest nc "${nc}" is not 8 hex digits`);
  return { ...credentials, qop, nc, cnonce, ...(opaque === undefined ? {} : { opaque }) };
}

/** Formats credentials (a client's answer to a challenge); qop and nc are tokens, the rest quoted. */
export function formatDigestCredentials(credentials: DigestCredentials): string {
  let text = `Digest username=${quote(credentials.username)}, realm=${quote(credentials.realm)}, nonce=${quote(credentials.nonce)}, uri=${quote(credentials.uri)}, response=${quote(credentials.response)}, algorithm=${credentials.algorithm}`;
  if (credentials.opaque !== undefined) text += `, opaque=${quote(credentials.opaque)}`;
  if (credentials.qop !== undefined) text += `, qop=${isAllTokenChars(credentials.qop) ? credentials.qop : quote(credentials.qop)}, nc=${credentials.nc ?? '00000001'}, cnonce=${quote(credentials.cnonce ?? '')}`;
  return text;
}

function isAllTokenChars(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (!isTokenChar(text.charCodeAt(i))) return false;
  return text.length > 0;
}

/**
 * A client's answer to a challenge: credentials for `method` on `uri` with qop=auth when the
 * challenge offers it. For tests and the load generator; `cnonce` should be random.
 */
export function answerDigestChallenge(
  challenge: DigestChallenge,
  options: { readonly username: string; readonly password: string; readonly method: string; readonly uri: string; readonly nc?: number; readonly cnonce: string },
): DigestCredentials {
  const ha1 = digestHa1(challenge.algorithm, options.username, challenge.realm, options.password);
  const qop = challenge.qop?.includes('auth') === true ? 'auth' : undefined;
  const nc = (options.nc ?? 1).toString(16).padStart(8, '0');
  const response = digestResponse({ algorithm: challenge.algorithm, ha1, method: options.method, uri: options.uri, nonce: challenge.nonce, ...(qop === undefined ? {} : { qop, nc, cnonce: options.cnonce }) });
  return {
    username: options.username,
    realm: challenge.realm,
    nonce: challenge.nonce,
    uri: options.uri,
    response,
    algorithm: challenge.algorithm,
    ...(qop === undefined ? {} : { qop, nc, cnonce: options.cnonce }),
    ...(challenge.opaque === undefined ? {} : { opaque: challenge.opaque }),
  };
}
