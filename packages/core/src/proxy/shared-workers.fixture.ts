import assert from 'node:assert/strict';
import { parseMessage, type SipMessage } from '@switchboard/sip';
import { MemoryLocationStore } from '../registrar/location-store.js';
import type { TransactionStore } from '../transaction/transaction-store.js';
import type { TransportAddress } from '../transport-address.js';
import { ProxyCore, type ProxyCoreOptions } from './proxy-core.js';
import type { SharedTransactionsOptions } from './shared-transactions.js';

/**
 * `--transactions shared` in unit tests: two ProxyCores stand for two workers sharing one
 * transaction store; `handOffTo` between them stands for the pool's IPC (each hand-off is recorded,
 * so a test sees which messages went to another worker). Every core made is closed by `closeAll`.
 */

export interface SharedWorker {
  readonly core: ProxyCore;
  readonly sent: Array<{ target: TransportAddress; message: SipMessage; bytes: Buffer }>;
  /** The lease owners this worker handed messages to, in order. */
  readonly handedOff: string[];
}

const made: ProxyCore[] = [];

/** Closes every core `sharedWorkers` made (afterEach). */
export function closeAll(): void {
  for (const core of made.splice(0)) core.close();
}

/** Workers `w0.a` and `w1.b` on `store`, listening on udp:192.0.2.1:5060 for example.com, with `options` and `shared` added. */
export function sharedWorkers(store: TransactionStore, options: Partial<ProxyCoreOptions> = {}, shared: Partial<SharedTransactionsOptions> = {}): [SharedWorker, SharedWorker] {
  const byOwner = new Map<string, SharedWorker>();
  const make = (owner: string): SharedWorker => {
    const sent: SharedWorker['sent'] = [];
    const handedOff: string[] = [];
    const core = new ProxyCore({
      listeners: [{ protocol: 'udp', host: '192.0.2.1', port: 5060 }],
      domains: ['example.com'],
      ...options,
      store: new MemoryLocationStore(0),
      sender: { send: (target, bytes) => sent.push({ target, message: parseMessage(bytes), bytes }) },
      sharedTransactions: {
        store,
        owner,
        ...shared,
        handOffTo: (holder, bytes, source) => {
          const to = byOwner.get(holder);
          if (to === undefined) return false;
          handedOff.push(holder);
          to.core.receive(bytes, source, true);
          return true;
        },
      },
    });
    made.push(core);
    const worker = { core, sent, handedOff };
    byOwner.set(owner, worker);
    return worker;
  };
  return [make('w0.a'), make('w1.b')];
}

/** Waits (generously) until `condition` holds: store operations settle in microtasks or, for the cluster stores, round trips. */
export async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
