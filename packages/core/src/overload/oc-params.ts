/**
 * RFC 7339's Via parameters. A client that supports overload control puts `oc` (no value) and
 * `oc-algo` (the algorithms it supports, quoted) in its Via; a server that is overloaded answers
 * in the top Via of its responses with `oc` = the percentage of requests the client should shed
 * toward it (the "loss" algorithm, §6), `oc-algo` = the one chosen, `oc-validity` = for how many
 * ms (0: stop), and `oc-seq` = a number that grows with each new value (a timestamp here), so an
 * older value arriving late does not overwrite a newer one.
 */

/** What we put in our Via as a client: we support overload control, loss-based. */
export const OC_CLIENT_PARAMS: ReadonlyArray<readonly [string, null | string]> = Object.freeze([
  ['oc', null],
  ['oc-algo', '"loss"'],
] as const);

/** RFC 7339 §5.2: oc-validity when the server gives none. */
export const DEFAULT_OC_VALIDITY_MS = 500;
/** A downstream server's oc-validity is honoured for at most this long. */
export const MAX_OC_VALIDITY_MS = 60_000;

/** One overload announcement from a server. */
export interface OcAnnouncement {
  /** Percent of new requests to shed, 0 to 100. */
  readonly reduction: number;
  /** How long it holds, in ms; 0 ends overload control toward that server at once. */
  readonly validityMs: number;
  readonly seq: number;
}

/** The oc-seq value for now: seconds with ms, as RFC 7339's examples write it. */
export function ocSeqNow(nowMs: number = Date.now()): string {
  return (nowMs / 1000).toFixed(3);
}

/** The server's parameters for the top Via of a response: `oc`, `oc-algo`, `oc-validity`, `oc-seq`. */
export function ocServerParams(reductionPercent: number, validityMs: number, seq: string): Array<readonly [string, string]> {
  return [
    ['oc', String(Math.max(0, Math.min(100, Math.round(reductionPercent))))],
    ['oc-algo', '"loss"'],
    ['oc-validity', String(Math.max(0, Math.round(validityMs)))],
    ['oc-seq', seq],
  ];
}

/**
 * A server's announcement read from the parameters of our Via in its response, or undefined when
 * it has none we can use: no `oc` value, a value that is not a number from 0 to 100, or an
 * `oc-algo` other than loss. A malformed oc-validity or oc-seq is taken as absent.
 */
export function readOcAnnouncement(params: ReadonlyMap<string, string | null>): OcAnnouncement | undefined {
  const oc = params.get('oc');
  if (oc === undefined || oc === null || !/^\d{1,3}$/.test(oc)) return undefined;
  const reduction = Number(oc);
  if (reduction > 100) return undefined;
  const algo = params.get('oc-algo');
  if (algo !== undefined && algo !== null && algo.replace(/"/g, '').trim().toLowerCase() !== 'loss') return undefined;
  const validityText = params.get('oc-validity');
  const validity = validityText !== undefined && validityText !== null && /^\d{1,10}$/.test(validityText) ? Number(validityText) : DEFAULT_OC_VALIDITY_MS;
  const seqText = params.get('oc-seq');
  const seq = seqText !== undefined && seqText !== null && /^\d{1,20}(\.\d{1,10})?$/.test(seqText) ? Number(seqText) : 0;
  return { reduction, validityMs: Math.min(validity, MAX_OC_VALIDITY_MS), seq };
}

/**
 * A Via header value (as copied, latin1) with the server's parameters set on its first (top)
 * value, when that value carries `oc`; otherwise undefined (the client does not support overload
 * control, or the value is one we will not edit). Other bytes stay as they were; the parameters
 * set replace any of the same names. Quotes are honoured, so `oc-algo="loss,rate"` is one value.
 */
export function withOcParams(viaValue: string, params: ReadonlyArray<readonly [string, string]>): string | undefined {
  // The top value ends at the first comma outside quotes; its parameters start at each ';' outside quotes.
  const cuts: number[] = [];
  let end = viaValue.length;
  let quoted = false;
  for (let k = 0; k < viaValue.length; k++) {
    const c = viaValue[k];
    if (c === '"') quoted = !quoted;
    else if (c === '\\' && quoted) k++;
    else if (!quoted && c === ';') cuts.push(k);
    else if (!quoted && c === ',') {
      end = k;
      break;
    }
  }
  if (quoted || cuts.length === 0) return undefined;
  const head = viaValue.slice(0, cuts[0]);
  const replaced = new Set(params.map(([name]) => name));
  let kept = '';
  let supports = false;
  for (let n = 0; n < cuts.length; n++) {
    const param = viaValue.slice(cuts[n], n + 1 < cuts.length ? cuts[n + 1] : end).replace(/\s+$/, '');
    const name = param.slice(1).split('=')[0]?.trim().toLowerCase() ?? '';
    if (name === 'oc') supports = true;
    if (!replaced.has(name)) kept += param;
  }
  if (!supports) return undefined;
  let added = '';
  for (const [name, value] of params) added += `;${name}=${value}`;
  return `${head}${kept}${added}${viaValue.slice(end)}`;
}
