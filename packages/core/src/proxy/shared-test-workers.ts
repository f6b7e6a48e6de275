import assert from 'node:assert/strict';
import { parseMessage, type SipMessage } from '@switchboard/sip';
import { MemoryLocationStore } from '../registrar/location-store.js';
import type { TimerSettings } from '../transaction/timers.js';
import type { TransactionStore } from '../transaction/transaction-store.js';
import type { TransportAddress } from '../transport-address.js';
import { ProxyCore } from './proxy-core.js';

/**
 * Tests of `--transactions shared` (this package only): two ProxyCores stand for two workers
 * sharing one TransactionStore; `handOffTo` between them stands for the pool's IPC.
 */

export const ALICE: TransportAddress = { protocol: 'udp', address: '192.0.2.10', port: 5060 };
export const BOB: TransportAddress = { protocol: 'udp', address: '192.0.2.30', port: 5060 };
const cores: ProxyCore[] = [];

/** Closes every core made so far (afterEach). */
export function closeWorkers(): void {
  for (const core of cores.splice(0)) core.close();
}

export interface Worker {
  readonly core: ProxyCore;
  readonly sent: Array<{ target: TransportAddress; message: SipMessage; bytes: Buffer }>;
  readonly handedOff: string[];
}

export function workers(store: TransactionStore, options: { defaultRoute?: string; timers?: TimerSettings } = {}): [Worker, Worker] {
  const byOwner = new Map<string, Worker>();
  const make = (owner: string): Worker => {
    const sent: Worker['sent'] = [];
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
        handOffTo: (holder, bytes, source) => {
          const to = byOwner.get(holder);
          if (to === undefined) return false;
          handedOff.push(holder);
          to.core.receive(bytes, source, true);
          return true;
        },
      },
    });
    cores.push(core);
    const worker = { core, sent, handedOff };
    byOwner.set(owner, worker);
    return worker;
  };
  return [make('w0.a'), make('w1.b')];
}

export function request(method: string, options: { branch?: string; uri?: string; cseqMethod?: string } = {}): Buffer {
  const uri = options.uri ?? 'sip:nobody@example.com';
  return Buffer.from(
    [
      `${method} ${uri} SIP/2.0`,
      `Via: SIP/2.0/UDP ${ALICE.address}:${ALICE.port};branch=${options.branch ?? 'z9hG4bKshared1'}`,
      'Max-Forwards: 70',
      'From: <sip:alice@example.com>;tag=a1',
      `To: <${uri}>`,
      'Call-ID: shared-1',
      `CSeq: 1 ${options.cseqMethod ?? method}`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

/** A response from the callee to `forwarded` (the request as a worker sent it: its Vias). */
export function responseTo(forwarded: SipMessage, status: number, reason: string): Buffer {
  return Buffer.from(
    [
      `SIP/2.0 ${status} ${reason}`,
      ...forwarded.headers('Via').map((via) => `Via: ${via}`),
      `From: ${forwarded.header('From') ?? ''}`,
      `To: ${forwarded.header('To') ?? ''}${status > 100 ? ';tag=c1' : ''}`,
      `Call-ID: ${forwarded.callId ?? ''}`,
      `CSeq: ${forwarded.header('CSeq') ?? ''}`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

/** Waits (generously) until `condition` holds: store operations settle in microtasks or, for the cluster stores, round trips. */
export async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

export const statuses = (worker: Worker): string[] => worker.sent.filter((sent) => !sent.message.isRequest).map((sent) => `${sent.message.status} ${sent.message.cseq?.method}`);
