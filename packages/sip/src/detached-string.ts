/**
 * Strings that outlive their message. The parser reads the header section as one latin1 string
 * and cuts values out of it; V8 keeps a cut of 13 characters or more as a slice of that string,
 * and a concatenation as a pair of its parts. A string kept long after its message (a transaction
 * key, kept for up to 32 s while the transaction lingers) then keeps the message's whole header
 * section alive: about 600 bytes per key in place of 60.
 */

/**
 * A copy of `text` that refers to no other string: its characters written out and read back
 * (UTF-16, so any string survives unchanged).
 */
export function detachedString(text: string): string {
  return Buffer.from(text, 'utf16le').toString('utf16le');
}
