/**
 * Bytes that outlive their message. `Buffer.allocUnsafe` (serialize, Buffer.from) hands out
 * slices of shared 8 KiB pool blocks, and a message framed from a TCP stream is a slice of the
 * chunk it was read in (up to 64 KiB). A slice kept long after its message (a final response a
 * server transaction keeps for retransmissions, 32 s over UDP) keeps its whole block alive: at
 * 400 calls/s, about one block per lingering call, tens of MB of external memory that every
 * major garbage collection is sized by.
 */

/** `bytes` in a block of its own: itself when it has one already, else a copy of exactly its length. */
export function detachedBuffer(bytes: Buffer): Buffer {
  if (bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.length) return bytes;
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(copy);
  return copy;
}
