/**
 * A generator process: runs one PhoneFleet on the orders of the bench run that forked it
 * (register, start, window, end-window, stop) and answers with counts, snapshots and its own CPU.
 * Messages are plain JSON over the IPC channel.
 */
import { interArrival, seededRandom } from './arrivals.js';
import type { Arrivals } from './bench-result.js';
import type { LoadSnapshot } from './load-stats.js';
import { emptyKeepAliveCounts, type KeepAliveCounts } from './keep-alive.js';
import { sendToParent } from './parent-channel.js';
import { PhoneFleet, type FleetOptions } from './phone-fleet.js';

export type LoadMode = { readonly kind: 'closed' } | { readonly kind: 'open'; readonly rate: number; readonly arrivals: Arrivals; readonly seed: number };

export type ToLoadProcess =
  | { readonly type: 'init'; readonly fleet: FleetOptions; readonly mode: LoadMode }
  | { readonly type: 'start' }
  | { readonly type: 'window' }
  | { readonly type: 'end-window' }
  | { readonly type: 'stop'; readonly drainMs: number };

export interface LoadProgress {
  readonly callsCompleted: number;
  readonly callsFailed: number;
  readonly running: number;
}

/** What happened to the phones' own connections over the window. */
export interface WindowChurn {
  readonly keepAlive: KeepAliveCounts;
  /** Connections the phones opened (reconnections after a close, or per-ops lifetimes). */
  readonly connectionsOpened: number;
  /** REGISTERs sent (a phone whose connection closed registers again on a new one). */
  readonly registrations: number;
}

export type FromLoadProcess =
  | { readonly type: 'registered'; readonly attempted: number; readonly completed: number; readonly failed: number; readonly connections: number; readonly failure?: string }
  | { readonly type: 'progress'; readonly progress: LoadProgress }
  | { readonly type: 'window-result'; readonly snapshot: LoadSnapshot; readonly cpuPercent: number; readonly rssBytesMax: number; readonly unmatched: number; readonly unparsable: number; readonly window: WindowChurn }
  | { readonly type: 'stopped' }
  | { readonly type: 'error'; readonly code: string; readonly message: string };

function send(message: FromLoadProcess): void {
  sendToParent(message);
}

let fleet: PhoneFleet | undefined;
let mode: LoadMode = { kind: 'closed' };
let loop: Promise<void> | undefined;
let progressTimer: NodeJS.Timeout | undefined;
let windowStart: { cpu: NodeJS.CpuUsage; at: number } | undefined;
let rssBytesMax = 0;
let churnAtStart: WindowChurn = { keepAlive: emptyKeepAliveCounts(), connectionsOpened: 0, registrations: 0 };

function churn(): WindowChurn {
  return { keepAlive: fleet?.keepAliveCounts ?? emptyKeepAliveCounts(), connectionsOpened: fleet?.connectionsOpened ?? 0, registrations: fleet?.stats.registrationsAttempted ?? 0 };
}

function churnSince(start: WindowChurn): WindowChurn {
  const now = churn();
  return {
    keepAlive: {
      pingsSent: now.keepAlive.pingsSent - start.keepAlive.pingsSent,
      pongsReceived: now.keepAlive.pongsReceived - start.keepAlive.pongsReceived,
      pongsMissing: now.keepAlive.pongsMissing - start.keepAlive.pongsMissing,
    },
    connectionsOpened: now.connectionsOpened - start.connectionsOpened,
    registrations: now.registrations - start.registrations,
  };
}

function progress(): LoadProgress {
  const stats = fleet?.stats;
  return { callsCompleted: stats?.callsCompleted ?? 0, callsFailed: stats?.callsFailed ?? 0, running: fleet?.running ?? 0 };
}

async function handle(message: ToLoadProcess): Promise<void> {
  switch (message.type) {
    case 'init': {
      mode = message.mode;
      fleet = new PhoneFleet(message.fleet);
      await fleet.register();
      const stats = fleet.stats;
      send({ type: 'registered', attempted: stats.registrationsAttempted, completed: stats.registrationsCompleted, failed: stats.registrationsFailed, connections: fleet.connectionsOpened, ...(fleet.registrationFailure === undefined ? {} : { failure: fleet.registrationFailure }) });
      return;
    }
    case 'start': {
      const running = fleet;
      if (running === undefined) return;
      loop = mode.kind === 'closed' ? running.closedLoop() : running.openLoop(interArrival(mode.arrivals, mode.rate, seededRandom(mode.seed)));
      progressTimer = setInterval(() => {
        rssBytesMax = Math.max(rssBytesMax, process.memoryUsage.rss());
        send({ type: 'progress', progress: progress() });
      }, 250);
      return;
    }
    case 'window':
      fleet?.stats.startWindow();
      windowStart = { cpu: process.cpuUsage(), at: performance.now() };
      rssBytesMax = process.memoryUsage.rss();
      churnAtStart = churn();
      return;
    case 'end-window': {
      const running = fleet;
      if (running === undefined) return;
      running.stats.measuring = false;
      let cpuPercent = 0;
      if (windowStart !== undefined) {
        const used = process.cpuUsage(windowStart.cpu);
        const elapsedMs = performance.now() - windowStart.at;
        cpuPercent = elapsedMs > 0 ? Math.round(((used.user + used.system) / 1000 / elapsedMs) * 1000) / 10 : 0;
      }
      // Connections and keep-alives over the window's interval; the calls started in the window count to their end (load-stats.ts).
      const windowChurn = churnSince(churnAtStart);
      await running.windowCallsEnded();
      const snapshot = running.stats.snapshot();
      rssBytesMax = Math.max(rssBytesMax, process.memoryUsage.rss());
      send({ type: 'window-result', snapshot, cpuPercent, rssBytesMax, unmatched: running.unmatchedResponses, unparsable: running.errors.unparsable, window: windowChurn });
      return;
    }
    case 'stop': {
      clearInterval(progressTimer);
      fleet?.stop();
      if (loop !== undefined) await Promise.race([loop, new Promise((resolve) => setTimeout(resolve, message.drainMs))]);
      fleet?.close();
      send({ type: 'stopped' });
      process.disconnect?.();
      setTimeout(() => process.exit(0), 200).unref();
      return;
    }
  }
}

process.on('message', (message: ToLoadProcess) => {
  handle(message).catch((error: Error & { code?: string }) => {
    send({ type: 'error', code: error.code ?? 'ERR_SWITCHBOARD_BENCH_PROCESS', message: error.message });
  });
});
process.on('disconnect', () => {
  fleet?.close();
  setTimeout(() => process.exit(0), 100).unref();
});
