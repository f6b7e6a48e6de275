/**
 * Byte strings: JavaScript strings with one character per byte (latin1). Generated messages
 * (responses, CANCEL, the ACK of a failure) copy header values as byte strings and encode them
 * with `latin1`, so that every byte, UTF-8 or not, comes out exactly as it came in
 * (RFC 3261 §8.2.6.2, §9.1, §17.1.1.3). Decoding as UTF-8 instead turns each invalid byte into
 * U+FFFD, three bytes on the way back.
 */

const NON_ASCII = /[^\x00-\x7f]/;

/** The byte string of the UTF-8 encoding of `text` (the same string when it is ASCII). */
export function byteString(text: string): string {
  return NON_ASCII.test(text) ? Buffer.from(text, 'utf8').toString('latin1') : text;
}

/** The bytes of a byte string. */
export function bytesOf(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}
