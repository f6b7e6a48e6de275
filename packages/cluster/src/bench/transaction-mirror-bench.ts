/**
 * `npm run bench:txmirror -w packages/cluster -- [--redis-url URL] [--calls N]`: what writing
 * server transactions through to a store (TransactionMirror, the first step of `--transactions
 * shared`) adds to the proxy core's CPU per call. One ProxyCore in this process, no sockets: each
 * call is an INVITE to an unregistered user (100 Trying, 404), its retransmission and the ACK,
 * the 404 transaction then ended; owned (no mirror) against the mirror over the Map, the
 * SharedArrayBuffer table and, with `--redis-url`, Redis. CPU time of this process per call
 * (Redis's own CPU not counted), means of one run after a warm-up.
 */
import { loadavg } from 'node:os';
import { MemoryLocationStore, MemoryTransactionStore, ProxyCore, TransactionMirror, DEFAULT_TIMERS, type TransactionStore } from '@switchboard/core';
import { machineFacts } from '@switchboard/sip/machine-facts';
import { RedisTransactionStore } from '../state/redis-transaction-store.js';
import { SabTransactionStore } from '../state/sab-transaction-store.js';

function flag(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at < 0 ? undefined : process.argv[at + 1];
}

const CALLS = Number(flag('--calls') ?? 0) || 2000;
const REDIS_URL = flag('--redis-url');
const ALICE = { protocol: 'udp' as const, address: '192.0.2.10', port: 5060 };

function request(method: string, call: number): Buffer {
  return Buffer.from(
    [`${method} sip:nobody@example.com SIP/2.0`, `Via: SIP/2.0/UDP ${ALICE.address}:${ALICE.port};branch=z9hG4bK-bench-${call}`, 'Max-Forwards: 70', 'From: <sip:alice@example.com>;tag=a1', 'To: <sip:nobody@example.com>', `Call-ID: bench-${call}`, `CSeq: 1 ${method}`, 'Content-Length: 0', '', ''].join('\r\n'),
  );
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** CPU µs per call of `CALLS` calls, one at a time. */
async function run(store: TransactionStore | undefined, round: number): Promise<number> {
  const mirror = store === undefined ? undefined : new TransactionMirror({ store, owner: 'bench', timers: DEFAULT_TIMERS });
  let sent = 0;
  const core = new ProxyCore({
    listeners: [{ protocol: 'udp', host: '192.0.2.1', port: 5060 }],
    domains: ['example.com'],
    store: new MemoryLocationStore(0),
    sender: { send: () => void sent++ },
    // Over TCP nothing lingers: each transaction ends at its final response or ACK, so its delete is measured too.
    ...(mirror === undefined ? {} : { transactionMirror: mirror }),
  });
  const source = { ...ALICE, protocol: 'tcp' as const, connectionId: 1 };
  const cpu = process.cpuUsage();
  for (let call = round * CALLS; call < (round + 1) * CALLS; call++) {
    core.receive(request('INVITE', call), source);
    await tick();
    core.receive(request('INVITE', call), source);
    core.receive(request('ACK', call), source);
    await mirror?.settled();
  }
  const used = process.cpuUsage(cpu);
  core.close();
  await mirror?.settled();
  if (sent < 3 * CALLS) throw new Error(`only ${sent} messages sent for ${CALLS} calls`);
  return (used.user + used.system) / CALLS;
}

async function main(): Promise<void> {
  const facts = machineFacts();
  const variants: Array<[string, () => Promise<TransactionStore | undefined>]> = [
    ['owned (no store)', async () => undefined],
    ['shared, Map', async () => new MemoryTransactionStore()],
    ['shared, SAB table', async () => SabTransactionStore.create({ capacity: 4 * CALLS })],
  ];
  if (REDIS_URL !== undefined) variants.push([`shared, Redis (${REDIS_URL})`, () => RedisTransactionStore.connect(REDIS_URL, { prefix: `txmirror${Date.now()}:` })]);
  const rows: string[] = [];
  let round = 0;
  for (const [name, open] of variants) {
    const store = await open();
    await run(store, round++);
    rows.push(`| ${name} | ${(await run(store, round++)).toFixed(1)} |`);
    await store?.close();
  }
  process.stdout.write(
    [`Machine: ${facts.cpu}, ${facts.cores} cores, Node ${facts.node}; ${facts.date}; load average ${loadavg()[0]?.toFixed(1)}. ${CALLS} failed INVITE calls over TCP (INVITE, 100, 404, INVITE again, ACK), one at a time.`, '', '| transactions | CPU µs per call (this process) |', '| --- | ---: |', ...rows, ''].join('\n'),
  );
}

main().catch((error: Error) => {
  process.stderr.write(`bench:txmirror: ${error.message}\n`);
  process.exitCode = 1;
});
