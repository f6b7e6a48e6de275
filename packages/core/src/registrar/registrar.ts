import { isSipUri, parseUri, uriEquals, uriHostname, uriUser, formatNameAddr, type SipMessage, type Uri } from '@switchboard/sip';
import type { TransportAddress } from '../transport-address.js';
import type { Binding, LocationStore } from './location-store.js';

export interface RegistrarOptions {
  /** Expiry used when the request names none (RFC 3261 §10.2.1.1 suggests 3600 s). */
  readonly defaultExpires: number;
  /** Shortest expiry accepted; shorter non-zero ones get 423 Interval Too Brief. */
  readonly minExpires: number;
  /** Longest expiry granted; longer requests are shortened to it. */
  readonly maxExpires: number;
}

export const DEFAULT_REGISTRAR_OPTIONS: RegistrarOptions = Object.freeze({ defaultExpires: 3600, minExpires: 60, maxExpires: 7200 });

/** What the registrar answers: the proxy core turns it into a response on the transaction. */
export interface RegistrarResult {
  readonly status: number;
  readonly reason?: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

/**
 * The address-of-record a URI names (RFC 3261 §10.3 step 5): scheme, unescaped user and
 * lower-cased host; port, parameters and headers dropped. Undefined for non-SIP URIs.
 *
 * A byte of the user that is not part of valid UTF-8 stays escaped (`%FF`), and so does `%`
 * itself (`%25`): users stay apart, and the text survives the UTF-8 of the Redis and
 * SharedArrayBuffer stores, where the lone surrogate uriUser gives such a byte would become
 * U+FFFD.
 */
export function addressOfRecord(uri: Uri): string | undefined {
  if (!isSipUri(uri)) return undefined;
  const user = uriUser(uri);
  return `${uri.scheme}:${user === undefined ? '' : `${storableUser(user)}@`}${uriHostname(uri)}`;
}

/** A lone low surrogate U+DC80..U+DCFF: an escaped byte (see unescape), not half of a pair. */
const ESCAPED_BYTE = /(?<![\ud800-\udbff])[\udc80-\udcff]/g;

function storableUser(user: string): string {
  if (!user.includes('%') && user.search(ESCAPED_BYTE) < 0) return user;
  return user.replace(/%/g, '%25').replace(ESCAPED_BYTE, (byte) => `%${(byte.charCodeAt(0) - 0xdc00).toString(16).toUpperCase()}`);
}

/**
 * Processes a REGISTER for a domain this server is responsible for (RFC 3261 §10.3 steps 4-8):
 * adds, refreshes and removes bindings (`Expires: 0`, `Contact: *`), honours `expires` and `q`,
 * answers 423 with Min-Expires for too-brief intervals and 500 for out-of-order CSeqs, and lists
 * the bindings that remain in the 200 response. A REGISTER without Contact is a query.
 */
export async function handleRegister(
  request: SipMessage,
  source: TransportAddress,
  store: LocationStore,
  options: RegistrarOptions = DEFAULT_REGISTRAR_OPTIONS,
  now = Date.now(),
): Promise<RegistrarResult> {
  const to = request.to;
  const aor = to === undefined ? undefined : addressOfRecord(to.uri);
  if (aor === undefined) return { status: 404, reason: 'Not Found (To is not a SIP URI)', headers: [] };
  const callId = request.callId ?? '';
  const cseq = request.cseq?.seq ?? 0;
  let headerExpires: number | undefined;
  try {
    headerExpires = request.expires();
  } catch {
    return { status: 400, reason: 'Bad Expires', headers: [] };
  }

  if (request.contactStar) {
    if (headerExpires !== 0) return { status: 400, reason: 'Contact * requires Expires: 0', headers: [] };
    const existing = await store.lookup(aor, now);
    if (existing.some((binding) => binding.callId === callId && binding.cseq >= cseq)) {
      return { status: 500, reason: 'Out-of-order CSeq', headers: [] };
    }
    await store.removeAll(aor);
    return { status: 200, headers: [] };
  }

  // Contacts are matched by URI equality (§10.3 step 7, §19.1.4), not by text: an equivalent
  // spelling refreshes or removes the binding it names.
  const existing = (await store.lookup(aor, now)).map((binding) => ({ binding, uri: storedUri(binding.contact) }));
  const updates: Array<{ contact: string; uri: Uri; previous: Binding | undefined; expires: number; q: number }> = [];
  for (const contact of request.contact) {
    const expiresParam = contact.params.get('expires');
    let expires = headerExpires ?? options.defaultExpires;
    if (expiresParam !== undefined) {
      expires = expiresParam === null || !/^\d{1,10}$/.test(expiresParam) ? -1 : Number(expiresParam);
      if (expires < 0) return { status: 400, reason: 'Bad Contact expires', headers: [] };
    }
    if (expires > 0 && expires < options.minExpires) {
      return { status: 423, headers: [['Min-Expires', String(options.minExpires)]] };
    }
    const qText = contact.params.get('q');
    const q = qText === undefined ? 1 : Number(qText);
    if (qText === null || Number.isNaN(q) || q < 0 || q > 1) return { status: 400, reason: 'Bad Contact q', headers: [] };
    const previous = existing.find((entry) => entry.uri !== undefined && uriEquals(entry.uri, contact.uri))?.binding;
    if (previous !== undefined && previous.callId === callId && previous.cseq >= cseq) {
      return { status: 500, reason: 'Out-of-order CSeq', headers: [] };
    }
    const update = { contact: contact.uriText, uri: contact.uri, previous, expires: Math.min(expires, options.maxExpires), q };
    // The same contact twice in one request: the last one says what happens to it.
    const repeated = updates.findIndex((earlier) => uriEquals(earlier.uri, contact.uri));
    if (repeated >= 0) updates[repeated] = update;
    else updates.push(update);
  }
  for (const update of updates) {
    // The stores key bindings by contact text: the one stored goes, under whatever spelling.
    if (update.previous !== undefined && (update.expires === 0 || update.previous.contact !== update.contact)) {
      await store.remove(aor, update.previous.contact);
    }
    if (update.expires === 0) continue;
    const binding: Binding = { aor, contact: update.contact, expiresAt: now + update.expires * 1000, q: update.q, callId, cseq, source };
    await store.put(binding);
  }
  const current = await store.lookup(aor, now);
  const headers: Array<[string, string]> = current.map((binding) => [
    'Contact',
    formatNameAddr({
      uriText: binding.contact,
      params: new Map<string, string | null>([
        ['expires', String(Math.max(0, Math.round((binding.expiresAt - now) / 1000)))],
        ...(binding.q === 1 ? [] : ([['q', String(binding.q)]] as Array<[string, string]>)),
      ]),
    }),
  ]);
  headers.push(['Date', new Date(now).toUTCString()]);
  return { status: 200, headers };
}

/** A stored contact parsed for comparison; undefined if it no longer parses (then never equal). */
function storedUri(contact: string): Uri | undefined {
  try {
    return parseUri(contact);
  } catch {
    return undefined;
  }
}
