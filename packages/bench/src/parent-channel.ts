/**
 * Sends to the process that forked this one (a generator process to its bench run). Never throws
 * and never emits: once the parent has gone (it gave up on this process, or ended), a send fails
 * with EPIPE, which without a callback becomes an 'error' event on `process`, uncaught, ending this
 * process with a stack trace in the middle of a run's output. The caller's 'disconnect' handler
 * ends it quietly instead.
 */
export function sendToParent(message: unknown): void {
  if (process.connected !== true || process.send === undefined) return;
  try {
    process.send(message, undefined, {}, () => undefined);
  } catch {
    // A message that cannot be serialized is a bug of the caller; the parent's timeout reports it.
  }
}
