import type { Cluster, Redis } from 'ioredis';
import type { BranchChange, BranchRecord, NewTransaction, TransactionChange, TransactionOutcome, TransactionRecord, TransactionStore } from '@switchboard/core';
import { connectRedis, redisCall } from './redis-connection.js';
import { ACQUIRE_LEASE, ADD_BRANCH, CREATE, DELETE, EXPIRED_LEASES, LEASES_HELD_BY, RELEASE_LEASE, RENEW_LEASE, TRANSITION, UPDATE_BRANCH } from './redis-transaction-scripts.js';

/** A single Redis server or a Redis Cluster: the store's scripts touch one slot each, so either works. */
export type TransactionRedis = Redis | Cluster;

/**
 * Buckets of the key layout: every process sharing a prefix must use the same number, so it is
 * fixed. Each bucket is one hash tag (one Cluster slot) holding its transactions and their lease index.
 */
export const TRANSACTION_BUCKETS = 256;

type Argument = string | number | Buffer;
type ScriptAnswer = [number, Buffer[]];
type Scripted = {
  createTransactionBuffer(hash: string, index: string, ...args: Argument[]): Promise<ScriptAnswer>;
  transitionTransactionBuffer(hash: string, index: string, ...args: Argument[]): Promise<ScriptAnswer>;
  addTransactionBranchBuffer(hash: string, index: string, ...args: Argument[]): Promise<ScriptAnswer>;
  updateTransactionBranchBuffer(hash: string, index: string, ...args: Argument[]): Promise<ScriptAnswer>;
  acquireTransactionLeaseBuffer(hash: string, index: string, ...args: Argument[]): Promise<ScriptAnswer>;
  renewTransactionLeaseBuffer(hash: string, index: string, ...args: Argument[]): Promise<ScriptAnswer>;
  releaseTransactionLeaseBuffer(hash: string, index: string, ...args: Argument[]): Promise<ScriptAnswer>;
  deleteTransaction(hash: string, index: string, member: string): Promise<number>;
  expiredTransactionLeases(index: string, now: number, limit: number, window: number, hashPrefix: string): Promise<string[]>;
  transactionLeasesHeldBy(index: string, owner: string, limit: number, hashPrefix: string): Promise<string[]>;
};

const SCRIPTS: ReadonlyArray<[name: string, keys: number, lua: string]> = [
  ['createTransaction', 2, CREATE],
  ['transitionTransaction', 2, TRANSITION],
  ['addTransactionBranch', 2, ADD_BRANCH],
  ['updateTransactionBranch', 2, UPDATE_BRANCH],
  ['acquireTransactionLease', 2, ACQUIRE_LEASE],
  ['renewTransactionLease', 2, RENEW_LEASE],
  ['releaseTransactionLease', 2, RELEASE_LEASE],
  ['deleteTransaction', 2, DELETE],
  ['expiredTransactionLeases', 1, EXPIRED_LEASES],
  ['transactionLeasesHeldBy', 1, LEASES_HELD_BY],
];

/** FNV-1a over the key's UTF-8 bytes: the same bucket in every process. */
export function transactionBucket(key: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(key, 'utf8')) hash = Math.imul(hash ^ byte, 0x01000193);
  return (hash >>> 0) % TRANSACTION_BUCKETS;
}

/** An optional value as the scripts take it: '' to leave the field alone, '=' and the value to set it. */
function optional(value: string | Buffer | undefined): string | Buffer {
  if (value === undefined) return '';
  return typeof value === 'string' ? `=${value}` : Buffer.concat([Buffer.from('='), value]);
}

function decode(key: string, flat: Buffer[]): TransactionRecord | undefined {
  if (flat.length === 0) return undefined;
  const fields = new Map<string, Buffer>();
  for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i]!.toString('latin1'), flat[i + 1]!);
  const text = (name: string): string => fields.get(name)?.toString('utf8') ?? '';
  const timers: Record<string, number> = {};
  const branches: Array<[number, BranchRecord]> = [];
  for (const [name, value] of fields) {
    if (name.startsWith('t:')) timers[Buffer.from(name.slice(2), 'latin1').toString('utf8')] = Number(value.toString('latin1'));
    else if (name.startsWith('b:')) {
      const [order, target, state, status] = JSON.parse(value.toString('utf8')) as [number, string, string, number];
      branches.push([order, { branch: Buffer.from(name.slice(2), 'latin1').toString('utf8'), target, state, status }]);
    }
  }
  const owner = fields.get('owner');
  return {
    key,
    side: text('side') === 'client' ? 'client' : 'server',
    invite: text('invite') === '1',
    state: text('state'),
    branch: text('branch'),
    request: fields.get('req'),
    parent: fields.has('parent') ? text('parent') : undefined,
    respondTo: fields.has('rto') ? text('rto') : undefined,
    version: Number(text('v')),
    status: Number(text('status')),
    response: fields.get('resp'),
    branches: branches.sort((a, b) => a[0] - b[0]).map(([, branch]) => branch),
    timers,
    lease: owner === undefined ? undefined : { owner: owner.toString('utf8'), until: Number(text('until')) },
    expiresAt: Number(text('exp')),
  };
}

/**
 * Transactions in Redis, shared by every process and every instance using it (`--transactions
 * shared` with `--state redis`). One hash per transaction, `<prefix>tx:{<bucket>}:<key>`, expiring
 * at the record's expiresAt (PEXPIREAT: the TTL of its longest timer); each bucket's lease index is
 * the sorted set `<prefix>txlease:{<bucket>}`. The bucket (FNV-1a of the key, mod 256) is the hash
 * tag: a transaction and its index entry share a Cluster slot, so every operation is one Lua
 * compare-and-set script in one slot, one round trip, and the layout works unchanged on Redis
 * Cluster. Listing lapsed leases (the adoption sweep) or a dead owner's (its death notice) visits
 * the 256 indexes: adoption only, never the message path.
 */
export class RedisTransactionStore implements TransactionStore {
  readonly #redis: TransactionRedis;
  readonly #scripted: Scripted;
  readonly #prefix: string;

  private constructor(redis: TransactionRedis, prefix: string) {
    this.#redis = redis;
    this.#scripted = redis as unknown as Scripted;
    this.#prefix = prefix;
  }

  /** Connects to one Redis server (see connectRedis: a clear error naming the URL when it does not answer). */
  static async connect(url: string, options: { prefix?: string; connectTimeoutMs?: number } = {}): Promise<RedisTransactionStore> {
    return RedisTransactionStore.over(await connectRedis(url, options.connectTimeoutMs), options.prefix);
  }

  /** A store over a connection already made (a single server or a Cluster); `close` ends it. */
  static over(redis: TransactionRedis, prefix = 'switchboard:'): RedisTransactionStore {
    for (const [name, numberOfKeys, lua] of SCRIPTS) redis.defineCommand(name, { numberOfKeys, lua });
    return new RedisTransactionStore(redis, prefix);
  }

  #keys(key: string): [hash: string, index: string] {
    const bucket = transactionBucket(key);
    return [`${this.#prefix}tx:{${bucket}}:${key}`, `${this.#prefix}txlease:{${bucket}}`];
  }

  async #run(key: string, work: (hash: string, index: string) => Promise<ScriptAnswer>): Promise<TransactionOutcome> {
    const [won, flat] = await redisCall(() => work(...this.#keys(key)));
    return { ok: won === 1, record: decode(key, flat) };
  }

  create(transaction: NewTransaction): Promise<TransactionOutcome> {
    const { lease } = transaction;
    const timers = Object.entries(transaction.timers ?? {}).flatMap(([letter, deadline]) => [letter, deadline]);
    return this.#run(transaction.key, (hash, index) =>
      this.#scripted.createTransactionBuffer(hash, index, transaction.side, transaction.invite ? 1 : 0, transaction.state, transaction.branch, transaction.expiresAt, lease?.owner ?? '', lease?.until ?? 0, transaction.key, optional(transaction.request), optional(transaction.parent), optional(transaction.respondTo), ...timers),
    );
  }

  async get(key: string): Promise<TransactionRecord | undefined> {
    const [hash] = this.#keys(key);
    return decode(key, await redisCall(() => this.#redis.callBuffer('HGETALL', hash) as Promise<Buffer[]>));
  }

  transition(key: string, from: readonly string[], change: TransactionChange): Promise<TransactionOutcome> {
    const response = change.response;
    const lease = change.takeLease ?? change.lease;
    const timers = Object.entries(change.timers ?? {}).flatMap(([letter, deadline]) => [letter, deadline === null ? '' : deadline]);
    return this.#run(key, (hash, index) =>
      this.#scripted.transitionTransactionBuffer(
        hash,
        index,
        from.length,
        ...from,
        optional(change.state),
        response === undefined ? '' : response.status,
        optional(response?.bytes),
        change.expiresAt ?? '',
        lease?.owner ?? '',
        lease?.until ?? '',
        key,
        change.takeLease === undefined ? '' : '1',
        ...timers,
      ),
    );
  }

  addBranch(key: string, branch: BranchRecord): Promise<TransactionOutcome> {
    return this.#run(key, (hash, index) => this.#scripted.addTransactionBranchBuffer(hash, index, branch.branch, branch.target, branch.state, branch.status));
  }

  updateBranch(key: string, branch: string, from: readonly string[], change: BranchChange): Promise<TransactionOutcome> {
    return this.#run(key, (hash, index) => this.#scripted.updateTransactionBranchBuffer(hash, index, branch, change.state, change.status ?? '', from.length, ...from));
  }

  acquireLease(key: string, owner: string, until: number, now: number, from?: string): Promise<TransactionOutcome> {
    return this.#run(key, (hash, index) => this.#scripted.acquireTransactionLeaseBuffer(hash, index, owner, until, now, key, from ?? ''));
  }

  renewLease(key: string, owner: string, until: number): Promise<TransactionOutcome> {
    return this.#run(key, (hash, index) => this.#scripted.renewTransactionLeaseBuffer(hash, index, owner, until, key));
  }

  releaseLease(key: string, owner: string): Promise<TransactionOutcome> {
    return this.#run(key, (hash, index) => this.#scripted.releaseTransactionLeaseBuffer(hash, index, owner, key));
  }

  expiredLeases(now: number, limit: number): Promise<string[]> {
    return redisCall(async () => {
      const window = limit + 64;
      const found = await Promise.all(
        Array.from({ length: TRANSACTION_BUCKETS }, (_, bucket) => this.#scripted.expiredTransactionLeases(`${this.#prefix}txlease:{${bucket}}`, now, limit, window, `${this.#prefix}tx:{${bucket}}:`)),
      );
      return found.flat().slice(0, limit);
    });
  }

  /** One script per bucket (256), each reading its leased entries: a death notice's search, not the message path's. */
  leasesHeldBy(owner: string, limit: number): Promise<string[]> {
    return redisCall(async () => {
      const found = await Promise.all(
        Array.from({ length: TRANSACTION_BUCKETS }, (_, bucket) => this.#scripted.transactionLeasesHeldBy(`${this.#prefix}txlease:{${bucket}}`, owner, limit, `${this.#prefix}tx:{${bucket}}:`)),
      );
      return found.flat().slice(0, limit);
    });
  }

  delete(key: string): Promise<boolean> {
    return redisCall(async () => (await this.#scripted.deleteTransaction(...this.#keys(key), key)) === 1);
  }

  /** Counts the transaction hashes (SCAN on a single server; on a Cluster, each master is scanned). */
  size(): Promise<number> {
    return redisCall(async () => {
      const nodes = 'nodes' in this.#redis && typeof this.#redis.nodes === 'function' ? this.#redis.nodes('master') : [this.#redis as Redis];
      let count = 0;
      for (const node of nodes) {
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', `${this.#prefix}tx:*`, 'COUNT', 500);
          cursor = next;
          // SCAN may list a key past its expiry that Redis has not reclaimed yet; EXISTS does not.
          for (const key of keys) count += await node.exists(key);
        } while (cursor !== '0');
      }
      return count;
    });
  }

  async close(): Promise<void> {
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}
