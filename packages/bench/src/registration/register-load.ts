/**
 * An open-loop stream of REGISTERs over a process's clients: `rate` per second on a fixed
 * schedule (deterministic arrivals; late ticks catch up, so a slow proxy never slows the offered
 * load), cycling through the clients and passing over those whose previous REGISTER is still in
 * flight (a phone waits for its final response, RFC 3261 §10.2) or, honouring Retry-After, still
 * waiting out a 503's (registering-clients.ts). When every client is waiting,
 * the REGISTER is not sent and fails as CLIENTS_WAITING: the phones could not register because
 * the proxy had not answered them (with `clients` phones and response time R, at most
 * clients / R REGISTERs/s can be sent). Only REGISTERs started inside
 * the window are counted; the window's result waits for each of them to end (2xx, failure or
 * timeout).
 */
import type { RegisteringClients, RegistrationMode } from './registering-clients.js';

export interface LoadCounts {
  readonly attempted: number;
  readonly completed: number;
  readonly failures: Readonly<Record<string, number>>;
  /** Response times of the completed REGISTERs, ms. */
  readonly latenciesMs: readonly number[];
  readonly windowSeconds: number;
}

export interface LoadPlan {
  readonly rate: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly mode: RegistrationMode;
  /** Where in the client list to start (so consecutive loads go on round the clients). */
  readonly startOffset?: number;
}

const TICK_MS = 4;

/** The failure kind of a REGISTER not sent because every client had one in flight. */
export const CLIENTS_WAITING = 'not-sent:clients-waiting';

/** The first client from `offset` on that may send now (RegisteringClients.idle), or -1 when none may. */
function nextIdleClient(clients: RegisteringClients, offset: number, nowMs: number): number {
  for (let probe = 0; probe < clients.size; probe++) {
    const candidate = (offset + probe) % clients.size;
    if (clients.idle(candidate, nowMs)) return candidate;
  }
  return -1;
}

export async function registerOpenLoop(clients: RegisteringClients, plan: LoadPlan): Promise<LoadCounts & { nextOffset: number }> {
  const startedAt = performance.now();
  const windowStart = startedAt + plan.warmupSeconds * 1000;
  const end = windowStart + plan.seconds * 1000;
  let sent = 0;
  let offset = plan.startOffset ?? 0;
  let attempted = 0;
  let completed = 0;
  const failures: Record<string, number> = {};
  const latenciesMs: number[] = [];
  const measured: Array<Promise<void>> = [];
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      const due = Math.floor(((Math.min(now, end) - startedAt) / 1000) * plan.rate);
      while (sent < due) {
        const at = startedAt + (sent / plan.rate) * 1000;
        sent++;
        const counted = at >= windowStart && at < end;
        const chosen = nextIdleClient(clients, offset, now);
        offset = (chosen < 0 ? offset : chosen) + 1;
        const attempt = chosen < 0 ? Promise.resolve({ ok: false, ms: 0, failure: CLIENTS_WAITING }) : clients.register(chosen, plan.mode);
        if (!counted) continue;
        attempted++;
        measured.push(
          attempt.then((outcome) => {
            if (outcome.ok) {
              completed++;
              latenciesMs.push(outcome.ms);
            } else failures[outcome.failure ?? 'unknown'] = (failures[outcome.failure ?? 'unknown'] ?? 0) + 1;
          }),
        );
      }
      if (now >= end) {
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(tick, TICK_MS);
  });
  await Promise.all(measured);
  return { attempted, completed, failures, latenciesMs, windowSeconds: plan.seconds, nextOffset: offset % clients.size };
}
