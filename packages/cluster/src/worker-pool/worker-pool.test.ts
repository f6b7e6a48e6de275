import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkerError } from '../worker-error.js';
import { LatencyHistogram, newModelCounters, type WorkerStats } from '../worker-stats.js';
import type { Channel, ChannelHandlers, LifecycleToPool, LifecycleToWorker } from './channel.js';
import { restartDelayMs, WorkerPool, type PoolEvent, type PoolSlot } from './worker-pool.js';

/** The lifecycle base against in-process channels: nothing is spawned. */

type Out = LifecycleToWorker | { readonly t: 'ping' };
type In = LifecycleToPool | { readonly t: 'pong' };

/** A worker as a script: what it does when opened and when told something. */
interface Script {
  opened(channel: FakeChannel): void;
  told?(channel: FakeChannel, message: Out): void;
}

class FakeChannel implements Channel<Out, never> {
  static next = 100;
  readonly id = FakeChannel.next++;
  readonly sent: Out[] = [];
  connected = true;
  readonly pendingSends = 0;
  constructor(
    readonly slot: number,
    readonly handlers: ChannelHandlers<In, never>,
    readonly script: Script,
  ) {
    setImmediate(() => script.opened(this));
  }
  send(message: Out): void {
    this.sent.push(message);
    setImmediate(() => this.script.told?.(this, message));
  }
  reply(message: In): void {
    setImmediate(() => this.handlers.message(message, undefined));
  }
  die(code: number | null, signal: string | null = null): void {
    if (!this.connected) return;
    this.connected = false;
    setImmediate(() => this.handlers.exit(code, signal));
  }
  kill(): void {
    this.die(null, 'SIGKILL');
  }
}

function statsOf(slot: number): WorkerStats {
  const empty = new LatencyHistogram().snapshot();
  return { worker: String(slot), pid: 0, core: undefined, transport: undefined, model: newModelCounters(), transactions: 0, tcpConnections: 0, tlsConnections: 0, ipcRoundTrip: empty, storeLatency: empty };
}

/** A well-behaved worker: ready at once, answers stats, exits when told to stop. */
const healthy: Script = {
  opened: (channel) => channel.reply({ t: 'ready' }),
  told: (channel, message) => {
    if (message.t === 'stats-request') channel.reply({ t: 'stats', request: message.request, stats: statsOf(channel.slot) });
    if (message.t === 'stop') channel.die(0);
    if (message.t === 'ping') channel.reply({ t: 'pong' });
  },
};

class TestPool extends WorkerPool<Out, In, never> {
  readonly events: PoolEvent[] = [];
  readonly channels: FakeChannel[] = [];
  readonly others: In[] = [];
  constructor(
    workers: number,
    readonly scriptFor: (slot: number, replacement: boolean) => Script,
    startTimeoutMs = 1000,
  ) {
    super({ workers, startTimeoutMs, stopTimeoutMs: 200 });
  }
  protected override open(slot: number, replacement: boolean, handlers: ChannelHandlers<In, never>): FakeChannel {
    const channel = new FakeChannel(slot, handlers, this.scriptFor(slot, replacement));
    this.channels.push(channel);
    return channel;
  }
  protected override onWorkerMessage(_slot: PoolSlot<Out, never>, message: In): void {
    if (message.t === 'pong') this.others.push(message);
    else throw new Error('unexpected');
  }
  protected override report(event: PoolEvent): void {
    this.events.push(event);
  }
  start(): Promise<In[]> {
    return this.startWorkers();
  }
  stats(): Promise<WorkerStats[]> {
    return this.gatherStats(300);
  }
  ping(slot: number): void {
    const target = this.slots[slot];
    if (target !== undefined) this.send(target, { t: 'ping' });
  }
  get restartCount(): number {
    return this.restarts;
  }
  stopAccepting(): void {
    this.stopReplacing();
  }
  close(): Promise<void> {
    return this.stopWorkers();
  }
  get ipcErrors(): number {
    return this.counters.ipcErrors;
  }
}

async function until(condition: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.ok(condition(), 'condition met in time');
}

const exits = (pool: TestPool): Array<Extract<PoolEvent, { kind: 'exited' }>> => pool.events.filter((event): event is Extract<PoolEvent, { kind: 'exited' }> => event.kind === 'exited');

test('start waits for every ready; other messages reach the pool; stats come from every worker by slot', async () => {
  const pool = new TestPool(3, () => healthy);
  const ready = await pool.start();
  assert.deepEqual(ready, [{ t: 'ready' }, { t: 'ready' }, { t: 'ready' }]);
  assert.equal(pool.events.filter((event) => event.kind === 'started').length, 3);
  pool.ping(1);
  await until(() => pool.others.length === 1);
  assert.deepEqual((await pool.stats()).map((stats) => stats.worker), ['0', '1', '2']);
  await pool.close();
  assert.ok(exits(pool).every((event) => event.expected), 'stops are expected');
});

test('a start failure rejects with the worker\'s code revived; an exit or silence during start-up is ERR_SWITCHBOARD_WORKER_START', async () => {
  const coded = new TestPool(2, (slot) => (slot === 1 ? { opened: (channel) => channel.reply({ t: 'start-failed', error: { code: 'ERR_SWITCHBOARD_STATE_UNAVAILABLE', message: 'redis down' } }) } : healthy));
  await assert.rejects(coded.start(), (error: Error & { code?: string }) => error.code === 'ERR_SWITCHBOARD_STATE_UNAVAILABLE');
  await coded.close();
  const dies = new TestPool(1, () => ({ opened: (channel) => channel.die(1) }));
  await assert.rejects(dies.start(), (error: Error) => error instanceof WorkerError && /exited during start-up/.test(error.message));
  const silent = new TestPool(1, () => ({ opened: () => undefined }), 50);
  await assert.rejects(silent.start(), (error: Error) => error instanceof WorkerError && /did not start within 50 ms/.test(error.message));
  await until(() => exits(silent).length === 1);
  assert.equal(exits(silent)[0]?.signal, 'SIGKILL', 'a worker that never says ready is killed');
  assert.equal(exits(silent)[0]?.restartInMs, undefined, 'one of the first workers is not replaced');
});

test('a dead worker is replaced in its slot; stats leave out a slot that is down instead of waiting for it', async () => {
  const pool = new TestPool(2, (_slot, replacement) => (replacement ? { opened: () => undefined, told: healthy.told } : healthy));
  await pool.start();
  pool.channels[0]?.die(null, 'SIGKILL');
  await until(() => exits(pool).length === 1 && pool.channels.length === 3);
  const started = Date.now();
  assert.deepEqual((await pool.stats()).map((stats) => stats.worker), ['1'], 'the replacement has not said ready');
  assert.ok(Date.now() - started < 250, 'did not wait for the timeout');
  assert.equal(exits(pool)[0]?.expected, false);
  assert.equal(exits(pool)[0]?.restartInMs, 0);
  pool.channels[2]?.reply({ t: 'ready' });
  await until(() => pool.events.filter((event) => event.kind === 'started').length === 3);
  assert.deepEqual((await pool.stats()).map((stats) => stats.worker), ['0', '1']);
  assert.equal(pool.restartCount, 1);
  await pool.close();
});

test('replacements that fail to start wait 250 ms doubling to 10 s; none is made once the pool is stopping', async () => {
  const pool = new TestPool(1, (_slot, replacement) => (replacement ? { opened: (channel) => channel.die(1) } : healthy));
  await pool.start();
  pool.channels[0]?.die(null, 'SIGKILL');
  await until(() => exits(pool).length >= 3);
  assert.deepEqual(exits(pool).slice(0, 3).map((event) => event.restartInMs), [0, 250, 500]);
  assert.equal(restartDelayMs(6), 8000);
  assert.equal(restartDelayMs(7), 10_000);
  pool.stopAccepting();
  const made = pool.channels.length;
  await new Promise((resolve) => setTimeout(resolve, 600));
  assert.equal(pool.channels.length, made, 'the pending restart was cancelled');
  await pool.close();
});

test('a worker that dies while the pool stops is not replaced and its exit is expected; one that ignores stop is killed', async () => {
  const pool = new TestPool(2, (slot) => (slot === 1 ? { opened: healthy.opened, told: (channel, message) => message.t !== 'stop' && healthy.told?.(channel, message) } : healthy));
  await pool.start();
  pool.stopAccepting();
  pool.channels[0]?.die(null, 'SIGTERM');
  await until(() => exits(pool).length === 1);
  assert.equal(exits(pool)[0]?.expected, true);
  assert.equal(exits(pool)[0]?.restartInMs, undefined);
  await pool.close();
  assert.equal(pool.channels.length, 2);
  assert.equal(exits(pool)[1]?.signal, 'SIGKILL', 'killed after the stop limit');
});

test('a message the pool cannot act on is counted as an ipc error, never fatal', async () => {
  const pool = new TestPool(1, () => healthy);
  await pool.start();
  pool.channels[0]?.reply({ t: 'nonsense' } as unknown as In);
  await until(() => pool.ipcErrors === 1);
  assert.ok(pool.events.some((event) => event.kind === 'ipc-error' && /nonsense: unexpected/.test(event.message)));
  assert.equal((await pool.stats()).length, 1);
  await pool.close();
});

test('a worker that dies is announced to the others by its lease owner id (worker-died), and to the worker that replaces it; an expected stop is not', async () => {
  const owned = (slot: number, replacement: boolean): Script => ({ ...healthy, opened: (channel) => channel.reply({ t: 'ready', owner: `w${slot}.${replacement ? 'new' : 'old'}` }) });
  const pool = new TestPool(3, owned);
  await pool.start();
  const [first, second, third] = pool.channels;
  second?.die(null, 'SIGKILL');
  await until(() => pool.channels.length === 4 && pool.channels[3]?.sent.some((message) => message.t === 'worker-died') === true);
  const notices = (channel: FakeChannel | undefined): Out[] => channel?.sent.filter((message) => message.t === 'worker-died') ?? [];
  assert.deepEqual(notices(first), [{ t: 'worker-died', owner: 'w1.old' }], 'each survivor is told at once');
  assert.deepEqual(notices(third), [{ t: 'worker-died', owner: 'w1.old' }]);
  assert.deepEqual(notices(second), [], 'not the dead one');
  assert.deepEqual(notices(pool.channels[3]), [{ t: 'worker-died', owner: 'w1.old' }], 'its replacement hears of it once ready');
  await pool.close();
  assert.equal(pool.channels.flatMap((channel) => notices(channel)).length, 3, 'workers stopped with the pool are no deaths to announce');
});
