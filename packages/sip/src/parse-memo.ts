import { detachedString } from './detached-string.js';

/**
 * Parse results remembered by the exact text they came from, for values a proxy reads again and
 * again: its own Record-Route in every response of a dialog and as the Route of every request in
 * it, a phone's Contact in each of its messages, the Request-URI of in-dialog requests. A value
 * seen before costs one map lookup instead of a parse, and no allocation.
 *
 * Only results are remembered (a text that fails to parse throws each time, with the offset it is
 * given), so what a caller gets is what the parser gives for that text. Results are shared between
 * messages: like every parsed value, they are replaced by edits, never changed. Bounded: texts
 * longer than MAX_TEXT are parsed every time, and the memo starts over when it holds MAX_ENTRIES,
 * so a peer that sends a fresh value in every message costs one map insertion per parse.
 */
const MAX_ENTRIES = 1024;
const MAX_TEXT = 256;

export function memoizedParse<T>(parse: (text: string, offset: number) => T): (text: string, offset?: number) => T {
  const memo = new Map<string, T>();
  return (text: string, offset = -1): T => {
    const known = memo.get(text);
    if (known !== undefined) return known;
    if (text.length > MAX_TEXT) return parse(text, offset);
    // A copy of its own, so that neither the key nor the parts of the result keep the message's
    // header section alive (detached-string.ts).
    const own = detachedString(text);
    const parsed = parse(own, offset);
    if (memo.size >= MAX_ENTRIES) memo.clear();
    memo.set(own, parsed);
    return parsed;
  };
}
