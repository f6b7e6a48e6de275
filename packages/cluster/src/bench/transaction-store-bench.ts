/**
 * `npm run bench:txstore -w packages/cluster`: what one operation of each transaction store costs
 * on this machine, one operation at a time (a worker awaits each, as on the message path): the
 * Map, the SharedArrayBuffer table (one thread, no contention) and, with `--redis-url URL`, Redis
 * (start a redis-server on loopback pinned to one CPU and run this process pinned to another).
 * Means of one short run, wall time and this process's CPU time; `--ops N` per operation (2000 by
 * default).
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { TransactionStore } from '@switchboard/core';
import { MemoryTransactionStore } from '@switchboard/core';
import { machineFacts } from '@switchboard/sip/machine-facts';
import { RedisTransactionStore } from '../state/redis-transaction-store.js';
import { SabTransactionStore } from '../state/sab-transaction-store.js';

function flag(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at < 0 ? undefined : process.argv[at + 1];
}

const OPS = Number(flag('--ops') ?? 0) || 2000;
const REDIS_URL = flag('--redis-url');
/** A 486 Busy Here of a usual size: the bytes a transition stores for retransmissions. */
const RESPONSE = Buffer.from(`SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-bench;received=192.0.2.1\r\n${'X-Pad: '.padEnd(400, 'x')}\r\nContent-Length: 0\r\n\r\n`);

type Step = (store: TransactionStore, key: string) => Promise<unknown>;

const STEPS: ReadonlyArray<[name: string, step: Step]> = [
  ['create (lease, timer C)', (store, key) => store.create({ key, side: 'server', invite: true, state: 'proceeding', branch: key, timers: { C: Date.now() + 181_000 }, lease: { owner: 'w1', until: Date.now() + 5000 }, expiresAt: Date.now() + 200_000 })],
  ['create of an existing key (a retransmission)', (store, key) => store.create({ key, side: 'server', invite: true, state: 'proceeding', branch: key, expiresAt: Date.now() + 200_000 })],
  ['addBranch', (store, key) => store.addBranch(key, { branch: `${key}.1`, target: 'udp:198.51.100.7:5060', state: 'calling', status: 0 })],
  ['updateBranch', (store, key) => store.updateBranch(key, `${key}.1`, ['calling'], { state: 'completed', status: 486 })],
  [`transition with a ${RESPONSE.length}-byte response`, (store, key) => store.transition(key, ['proceeding'], { state: 'completed', response: { status: 486, bytes: RESPONSE }, timers: { C: null, G: Date.now() + 500, H: Date.now() + 32_000 } })],
  ['get', (store, key) => store.get(key)],
  ['renewLease', (store, key) => store.renewLease(key, 'w1', Date.now() + 5000)],
  ['delete', (store, key) => store.delete(key)],
];

/** Mean wall time and mean CPU time of this process per operation, µs (CPU time is the steadier on a loaded machine). */
async function measure(store: TransactionStore): Promise<Array<[wall: number, cpu: number]>> {
  const keys = Array.from({ length: OPS }, (_, i) => `z9hG4bK-bench-${i}|192.0.2.1:5060|INVITE`);
  const means: Array<[number, number]> = [];
  for (const [, step] of STEPS) {
    const started = performance.now();
    const cpu = process.cpuUsage();
    for (const key of keys) await step(store, key);
    const used = process.cpuUsage(cpu);
    means.push([((performance.now() - started) / OPS) * 1000, (used.user + used.system) / OPS]);
  }
  return means;
}

async function main(): Promise<void> {
  const facts = machineFacts();
  const stores: Array<[string, () => Promise<TransactionStore>]> = [
    ['Map', async () => new MemoryTransactionStore()],
    ['SAB table', async () => SabTransactionStore.create({ capacity: 2 * OPS })],
  ];
  if (REDIS_URL !== undefined) stores.push([`Redis (${REDIS_URL})`, () => RedisTransactionStore.connect(REDIS_URL, { prefix: `bench${Date.now()}:` })]);
  const columns: Array<Array<[number, number]>> = [];
  for (const [, open] of stores) {
    const warm = await open();
    await measure(warm);
    await warm.close();
    const store = await open();
    columns.push(await measure(store));
    await store.close();
  }
  const rows = STEPS.map(([name], row) => `| ${name} | ${columns.map((column) => { const [wall, cpu] = column[row] ?? [0, 0]; return `${wall.toFixed(1)} / ${cpu.toFixed(1)}`; }).join(' | ')} |`);
  process.stdout.write(
    [
      `Machine: ${facts.cpu}, ${facts.cores} cores, Node ${facts.node}; ${facts.date}. Mean µs per operation (wall / CPU of this process), ${OPS} sequential operations each, after a warm-up run; load average ${loadavg()[0]?.toFixed(1)}.`,
      '',
      `| operation | ${stores.map(([name]) => name).join(' | ')} |`,
      `| --- | ${stores.map(() => '---:').join(' | ')} |`,
      ...rows,
      '',
    ].join('\n'),
  );
}

main().catch((error: Error) => {
  process.stderr.write(`bench:txstore: ${error.message}\n`);
  process.exitCode = 1;
});
