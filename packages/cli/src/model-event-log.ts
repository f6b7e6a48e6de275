import type { Logger } from 'pino';
import type { ModelEvent } from '@switchboard/cluster';

/**
 * Logs what a running model reports: worker starts at debug, expected exits at info, a bug a
 * worker's core caught (`internal-error`, already rate-limited where it was caught) at error with
 * its code and stack, anything else (an unexpected exit, an IPC error) at warn.
 */
export function logModelEvent(log: Logger, event: ModelEvent): void {
  if (event.kind === 'worker-started' || event.kind === 'thread-started') log.debug(event, 'worker started');
  // Workers the supervisor (or the pool) is stopping exit as told: no cause for alarm.
  else if ((event.kind === 'worker-exited' || event.kind === 'thread-exited') && event.expected) log.info(event, event.kind);
  else if (event.kind === 'internal-error') {
    const { name, code, message, stack, suppressed } = event.error;
    log.error({ worker: event.worker, code, error: { name, message, stack }, suppressedSinceLast: suppressed }, 'internal error');
  } else log.warn(event, event.kind);
}
