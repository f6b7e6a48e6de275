import { reportSendError, type MessageSender, type SendErrorHandler } from '../transport-address.js';
import type { ProxyCounters } from './proxy-counters.js';

/**
 * The proxy's sender over the transports' one: it never throws, and every failed send (a bad
 * port, a refused or reset connection, a socket error) is counted (`transportErrors`) before
 * the caller's `onError` hears of it, on a later tick.
 */
export function countingSender(sender: MessageSender, counters: ProxyCounters): MessageSender {
  return {
    send(target, bytes, onError?: SendErrorHandler): void {
      const failed = (error: Error): void => {
        counters.transportErrors++;
        onError?.(error);
      };
      // Checked here too: a sender that relays to another thread cannot report it back.
      if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535) {
        reportSendError(failed, Object.assign(new RangeError(`no port to send to: ${target.port}`), { code: 'ERR_SOCKET_BAD_PORT' }));
        return;
      }
      try {
        sender.send(target, bytes, failed);
      } catch (error) {
        reportSendError(failed, error);
      }
    },
  };
}
