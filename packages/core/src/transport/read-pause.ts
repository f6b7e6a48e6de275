/**
 * How long a trunk is left unread after a read while overload control asks for pauses
 * (StreamTransport #coalesceReads): the pause asked for at first, then doubled while reads come
 * in short of a quarter of the read buffer and halved once they pass half of it, between the
 * pause asked for and MAX_PAUSE_FACTOR times it. A read costs about the same whatever it
 * carries (about 30 µs to a process that keeps up, experiments/bench-overload-2026-12-07c), and a
 * trunk's rate differs by connection and by load: at 8x over TCP the caller's trunk brought 3 KB a
 * millisecond and the callee's under half of it, so one fixed pause made reads of 16 KB on
 * one and 6 KB on the other. Past half the buffer the pause shrinks, so that reads stay short
 * of it: a read that fills the buffer is what a backlog looks like (OverloadDetector).
 */
export const MAX_PAUSE_FACTOR = 4;

/** The next pause (ms) after a read of `bytes` that followed a pause of `lastMs` (0: none yet). */
export function nextReadPause(lastMs: number, askedMs: number, bytes: number, bufferBytes: number): number {
  if (lastMs <= 0) return askedMs;
  if (bytes * 4 < bufferBytes) return Math.min(lastMs * 2, askedMs * MAX_PAUSE_FACTOR);
  if (bytes * 2 > bufferBytes) return Math.max(lastMs / 2, askedMs);
  return Math.max(askedMs, Math.min(lastMs, askedMs * MAX_PAUSE_FACTOR));
}
