import { SCAN_LIMIT } from './message-class.js';
import { withOcParams } from './oc-params.js';

export interface OverloadResponseOptions {
  /** The To tag to add (see OVERLOAD_TAG_PREFIX: its ACK is then recognised before a parse). */
  readonly toTag: string;
  /** Retry-After, in seconds. */
  readonly retryAfterSeconds: number;
  /** RFC 7339 parameters to set on the top Via when it carries `oc`. */
  readonly ocParams?: ReadonlyArray<readonly [string, string]>;
}

const COPIED: Readonly<Record<string, string>> = { via: 'Via', v: 'Via', from: 'From', f: 'From', to: 'To', t: 'To', 'call-id': 'Call-ID', i: 'Call-ID', cseq: 'CSeq' };

/**
 * The 503 Service Unavailable with Retry-After that overload control answers new work with,
 * built from the request's bytes without a parse (as rejectionResponse is): its Via, From, To,
 * Call-ID and CSeq lines copied byte for byte (To with our tag, the top Via with RFC 7339's
 * parameters when it asked for them), and nothing else. Undefined when a header the client needs
 * to match it is missing or a header line is folded: the request is then dropped and counted.
 */
export function overloadResponse(input: Buffer, options: OverloadResponseOptions): Buffer | undefined {
  const text = input.toString('latin1', 0, Math.min(input.length, SCAN_LIMIT));
  const headerEnd = text.indexOf('\r\n\r\n');
  if (headerEnd < 0) return undefined;
  const lines = text.slice(0, headerEnd).split('\r\n');
  let out = 'SIP/2.0 503 Service Unavailable\r\n';
  let found = 0;
  let seen = '';
  let firstVia = true;
  for (let n = 1; n < lines.length; n++) {
    const line = lines[n] as string;
    if (line.startsWith(' ') || line.startsWith('\t')) return undefined;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const written = COPIED[line.slice(0, colon).trim().toLowerCase()];
    if (written === undefined) continue;
    let value = line.slice(colon + 1).trim();
    if (written === 'Via') {
      if (firstVia && options.ocParams !== undefined) value = withOcParams(value, options.ocParams) ?? value;
      firstVia = false;
    } else if (seen.includes(`|${written}`)) {
      continue;
    } else if (written === 'To') {
      value += `;tag=${options.toTag}`;
    }
    if (!seen.includes(`|${written}`)) {
      seen += `|${written}`;
      found++;
    }
    out += `${written}: ${value}\r\n`;
  }
  if (found < 5) return undefined;
  out += `Retry-After: ${options.retryAfterSeconds}\r\nContent-Length: 0\r\n\r\n`;
  return Buffer.from(out, 'latin1');
}
