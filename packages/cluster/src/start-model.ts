import { EventLoopModel, type EventLoopEvent } from './event-loop-model.js';
import { IoDispatchModel, type IoDispatchEvent } from './io-dispatch/io-dispatch-model.js';
import { ProcessPoolSupervisor, type AssignStrategy, type SupervisorEvent, type SupervisorHandles } from './process-pool/supervisor.js';
import { withSharedTicketKeys, type Model, type ProxySettings, type StateKind } from './proxy-settings.js';
import type { RunningModel } from './running-model.js';
import { settleNonceSecret } from './state/open-authenticator.js';
import { ThreadPool, type ThreadPoolEvent } from './thread-pool/thread-pool.js';

export interface ModelOptions {
  readonly model: Model;
  readonly settings: ProxySettings;
  /** Worker processes or threads (ignored by event-loop). */
  readonly workers: number;
  /** process-pool: handles cached per worker (0: off). */
  readonly fdCache: number;
  readonly assign: AssignStrategy;
  /** process-pool: keep (default) or release the supervisor's handle of each handed-over TCP connection. */
  readonly supervisorHandles?: SupervisorHandles;
  /** Accepted connections open at once (default: no cap). */
  readonly maxConnections?: number;
  readonly onEvent?: (event: ModelEvent) => void;
}

/** What a running model reports for the CLI's log. */
export type ModelEvent = SupervisorEvent | ThreadPoolEvent | IoDispatchEvent | EventLoopEvent;

/** Settings with the whole cap, or as they are without one. */
function capped(settings: ProxySettings, max: number | undefined): ProxySettings {
  return max === undefined ? settings : { ...settings, maxConnections: max };
}

export async function startModel(options: ModelOptions): Promise<RunningModel> {
  // The nonce secret is settled here, once, so every worker verifies every other's nonces; TLS
  // ticket keys likewise, so any worker resumes any session.
  const settings = withSharedTicketKeys(await settleNonceSecret(options.settings));
  switch (options.model) {
    case 'event-loop':
      return EventLoopModel.start(capped(settings, options.maxConnections), options.onEvent);
    case 'process-pool':
      return ProcessPoolSupervisor.start({ settings, workers: options.workers, fdCache: options.fdCache, assign: options.assign, supervisorHandles: options.supervisorHandles, maxConnections: options.maxConnections, onEvent: options.onEvent });
    case 'thread-pool':
      // Every thread accepts from the shared listener on its own, all taking from one cap
      // (shared-connection-quota.ts), not a share each.
      return ThreadPool.start({ settings: capped(settings, options.maxConnections), workers: options.workers, onEvent: options.onEvent });
    case 'io-dispatch':
      // One process accepts and holds every connection: the whole cap is its own.
      return IoDispatchModel.start({ settings: capped(settings, options.maxConnections), workers: options.workers, onEvent: options.onEvent });
  }
}
