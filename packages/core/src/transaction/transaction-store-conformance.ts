/**
 * The conformance suite of the transaction-store contract (transaction-store.ts), for tests only
 * (`@switchboard/core/transaction-store-conformance`): every store (Map, SharedArrayBuffer table,
 * Redis) registers it with a way to open stores, and passes the same cases: each operation and its
 * compare-and-set, handles racing for one key, record expiry, and seeded random operation
 * sequences checked step by step against a reference model written independently of the stores.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { LeaseKeeper } from './lease-keeper.js';
import type { BranchRecord, NewTransaction, TransactionOutcome, TransactionRecord, TransactionStore } from './transaction-store.js';

export interface ConformanceSubject {
  /** A new, empty store of its own. */
  open(): Promise<TransactionStore>;
  /**
   * Another handle on the records of `store` (another connection, another view of the shared
   * memory), for races between handles; absent when a store has only one handle.
   */
  peer?(store: TransactionStore): Promise<TransactionStore>;
}

export interface ConformanceOptions {
  /** Random sequences (fast-check runs) per seed; 100 by default. */
  readonly runs?: number;
  /** Operations in one sequence at most; 60 by default. */
  readonly maxOperations?: number;
  /** The fast-check seed; fixed, so a failure replays. */
  readonly seed?: number;
}

/** Random sequences run by `transactionStoreConformance` with these options (for reports). */
export function conformanceRuns(options: ConformanceOptions = {}): number {
  return options.runs ?? 100;
}

const HOUR = 3_600_000;

function invite(key: string, extra: Partial<NewTransaction> = {}): NewTransaction {
  return { key, side: 'server', invite: true, state: 'proceeding', branch: `z9hG4bK-${key}`, expiresAt: Date.now() + HOUR, ...extra };
}

async function withStore(subject: ConformanceSubject, work: (store: TransactionStore) => Promise<void>): Promise<void> {
  const store = await subject.open();
  try {
    await work(store);
  } finally {
    await store.close();
  }
}

/** Registers the suite under `describe(name)`. */
export function transactionStoreConformance(name: string, subject: ConformanceSubject, options: ConformanceOptions = {}): void {
  describe(`transaction store conformance: ${name}`, () => {
    test('create is create-if-absent and answers the record that stands', async () => {
      await withStore(subject, async (store) => {
        const now = Date.now();
        const first = await store.create(invite('k1', { timers: { C: now + 181_000 }, lease: { owner: 'w1', until: now + 2000 } }));
        assert.equal(first.ok, true);
        assert.deepEqual(first.record, {
          key: 'k1',
          side: 'server',
          invite: true,
          state: 'proceeding',
          branch: 'z9hG4bK-k1',
          request: undefined,
          parent: undefined,
          respondTo: undefined,
          version: 1,
          status: 0,
          response: undefined,
          branches: [],
          timers: { C: now + 181_000 },
          lease: { owner: 'w1', until: now + 2000 },
          expiresAt: first.record?.expiresAt,
        });
        const response = Buffer.from('SIP/2.0 180 Ringing\r\n\r\n');
        await store.transition('k1', ['proceeding'], { response: { status: 180, bytes: response } });
        const again = await store.create(invite('k1', { state: 'trying', side: 'client' }));
        assert.equal(again.ok, false, 'a second create of a live key fails');
        assert.equal(again.record?.state, 'proceeding', 'and answers the standing record, unchanged');
        assert.equal(again.record?.side, 'server');
        assert.deepEqual(again.record?.response, response, 'whose response a retransmission replays');
        assert.equal(again.record?.version, 2);
        assert.deepEqual(await store.get('k1'), again.record);
        assert.equal(await store.get('nothing'), undefined);
        const sent = Buffer.from('MESSAGE sip:bob@192.0.2.9 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-c1\r\n\r\n\x00\xff');
        const client = await store.create({ key: 'c1', side: 'client', invite: false, state: 'trying', branch: 'z9hG4bK-c1', request: sent, parent: 'k1', expiresAt: now + HOUR });
        assert.deepEqual(client.record?.request, sent, 'the request as sent, byte for byte');
        assert.equal(client.record?.parent, 'k1');
        const moved = await store.transition('c1', ['trying'], { state: 'completed', response: { status: 200, bytes: Buffer.from('SIP/2.0 200 OK\r\n\r\n') } });
        assert.deepEqual(moved.record?.request, sent, 'kept by transitions');
        assert.equal(moved.record?.parent, 'k1');
        const answered = await store.create(invite('k2', { respondTo: 'tls|192.0.2.7|5061|4294967297' }));
        assert.equal(answered.record?.respondTo, 'tls|192.0.2.7|5061|4294967297', 'a server transaction\'s response target');
        assert.equal((await store.transition('k2', ['proceeding'], { state: 'accepted' })).record?.respondTo, 'tls|192.0.2.7|5061|4294967297', 'kept by transitions');
        assert.equal(client.record?.side, 'client');
        assert.equal(client.record?.invite, false);
        assert.equal(client.record?.lease, undefined);
        assert.deepEqual(client.record?.timers, {});
        assert.equal(await store.size(), 3);
      });
    });

    test('transition writes only from the expected states', async () => {
      await withStore(subject, async (store) => {
        const now = Date.now();
        await store.create(invite('k', { timers: { C: now + 1000, X: now + 5 } }));
        const wrong = await store.transition('k', ['completed', 'trying'], { state: 'terminated' });
        assert.equal(wrong.ok, false);
        assert.equal(wrong.record?.state, 'proceeding');
        assert.equal(wrong.record?.version, 1, 'a refused transition writes nothing');
        const bytes = Buffer.from([0x53, 0x00, 0xff, 0x0d, 0x0a, 0x80, 0x7f]);
        const moved = await store.transition('k', ['trying', 'proceeding'], {
          state: 'completed',
          response: { status: 486, bytes },
          timers: { G: now + 500, H: now + 32_000, X: null },
          expiresAt: now + 2 * HOUR,
        });
        assert.equal(moved.ok, true);
        assert.equal(moved.record?.state, 'completed');
        assert.equal(moved.record?.status, 486);
        assert.deepEqual(moved.record?.response, bytes, 'response bytes are kept byte for byte');
        assert.deepEqual(moved.record?.timers, { C: now + 1000, G: now + 500, H: now + 32_000 });
        assert.equal(moved.record?.expiresAt, now + 2 * HOUR);
        assert.equal(moved.record?.version, 2);
        const stale = await store.transition('k', ['proceeding'], { state: 'accepted' });
        assert.equal(stale.ok, false, 'the state seen before is gone: the loser learns the winner\'s state');
        assert.equal(stale.record?.state, 'completed');
        const kept = await store.transition('k', ['completed'], { timers: { G: now + 1000 } });
        assert.equal(kept.ok, true, 'a transition may keep the state (a timer re-armed)');
        assert.equal(kept.record?.state, 'completed');
        assert.deepEqual(kept.record?.response, bytes, 'fields left out stay');
        assert.equal(kept.record?.timers.G, now + 1000);
        const cleared = await store.transition('k', ['completed'], { response: { status: 0 } });
        assert.equal(cleared.record?.response, undefined, 'a response without bytes clears the bytes');
        const missing = await store.transition('none', ['proceeding'], { state: 'completed' });
        assert.deepEqual(missing, { ok: false, record: undefined });
      });
    });

    test('a transition writes the lease with it only for the lease holder', async () => {
      await withStore(subject, async (store) => {
        const now = Date.now();
        await store.create(invite('held', { lease: { owner: 'w0', until: now + 100 } }));
        const other = await store.transition('held', ['proceeding'], { state: 'accepted', lease: { owner: 'w1', until: now + HOUR } });
        assert.equal(other.ok, true, 'the transition is made');
        assert.deepEqual(other.record?.lease, { owner: 'w0', until: now + 100 }, 'but not the lease of another owner');
        const own = await store.transition('held', ['accepted'], { expiresAt: now + HOUR, lease: { owner: 'w0', until: now + HOUR } });
        assert.deepEqual(own.record?.lease, { owner: 'w0', until: now + HOUR });
        assert.deepEqual(await store.expiredLeases(now + 200, 10), [], 'extended: no longer adoptable when the old lease would have lapsed');
        const refused = await store.transition('held', ['completed'], { lease: { owner: 'w0', until: now + 5 } });
        assert.equal(refused.ok, false);
        assert.equal(refused.record?.lease?.until, now + HOUR, 'a refused transition writes no lease');
      });
    });

    test('a transition takes the lease with it whoever holds it (takeLease), and only when it is made', async () => {
      await withStore(subject, async (store) => {
        const now = Date.now();
        await store.create(invite('moved', { lease: { owner: 'w0', until: now + HOUR } }));
        const refused = await store.transition('moved', ['trying'], { state: 'accepted', takeLease: { owner: 'w1', until: now + 2 * HOUR } });
        assert.equal(refused.ok, false);
        assert.deepEqual(refused.record?.lease, { owner: 'w0', until: now + HOUR }, 'a refused transition takes nothing');
        const taken = await store.transition('moved', ['proceeding'], { state: 'accepted', lease: { owner: 'w2', until: now + 5 }, takeLease: { owner: 'w1', until: now + 2 * HOUR }, expiresAt: now + 2 * HOUR });
        assert.equal(taken.ok, true);
        assert.deepEqual(taken.record?.lease, { owner: 'w1', until: now + 2 * HOUR }, 'taken from w0, and it wins over lease');
        assert.equal((await store.renewLease('moved', 'w0', now + HOUR)).ok, false, 'the old holder\'s renewal finds it lost');
        if (store.leasesHeldBy !== undefined) assert.deepEqual(await store.leasesHeldBy('w1', 10), [], 'a lease to the record\'s end is a lingering one: nobody takes it over');
        await store.create(invite('free'));
        const unowned = await store.transition('free', ['proceeding'], { takeLease: { owner: 'w3', until: now + HOUR } });
        assert.deepEqual(unowned.record?.lease, { owner: 'w3', until: now + HOUR }, 'and taken where nobody held one');
      });
    });

    test('branches are added once, kept in order, and moved by compare-and-set', async () => {
      await withStore(subject, async (store) => {
        await store.create(invite('fork'));
        const first: BranchRecord = { branch: 'z9hG4bK-b1', target: 'udp:192.0.2.1:5060', state: 'calling', status: 0 };
        const second: BranchRecord = { branch: 'z9hG4bK-b2', target: 'tcp:[2001:db8::1]:5070', state: 'calling', status: 0 };
        assert.equal((await store.addBranch('fork', first)).ok, true);
        const added = await store.addBranch('fork', second);
        assert.deepEqual(added.record?.branches, [first, second]);
        const duplicate = await store.addBranch('fork', { ...first, state: 'proceeding' });
        assert.equal(duplicate.ok, false);
        assert.deepEqual(duplicate.record?.branches, [first, second]);
        const ringing = await store.updateBranch('fork', 'z9hG4bK-b2', ['calling'], { state: 'proceeding', status: 180 });
        assert.equal(ringing.ok, true);
        assert.deepEqual(ringing.record?.branches, [first, { ...second, state: 'proceeding', status: 180 }]);
        const refused = await store.updateBranch('fork', 'z9hG4bK-b2', ['calling'], { state: 'completed', status: 486 });
        assert.equal(refused.ok, false);
        const statusKept = await store.updateBranch('fork', 'z9hG4bK-b2', ['proceeding'], { state: 'cancelling' });
        assert.deepEqual(statusKept.record?.branches[1], { ...second, state: 'cancelling', status: 180 });
        assert.equal((await store.updateBranch('fork', 'z9hG4bK-none', ['calling'], { state: 'completed' })).ok, false);
        assert.deepEqual(await store.addBranch('none', first), { ok: false, record: undefined });
        assert.equal(statusKept.record?.version, 5);
      });
    });

    test('a lease is held by one owner until it lapses; then another adopts it', async () => {
      await withStore(subject, async (store) => {
        const now = 1_000_000;
        await store.create(invite('t', { lease: { owner: 'w1', until: now + 100 } }));
        await store.create(invite('u'));
        const taken = await store.acquireLease('t', 'w2', now + 500, now + 50);
        assert.equal(taken.ok, false, 'w1 holds it');
        assert.deepEqual(taken.record?.lease, { owner: 'w1', until: now + 100 });
        assert.equal((await store.acquireLease('t', 'w1', now + 200, now + 50)).ok, true, 'its holder may take it again (renewal)');
        assert.deepEqual(await store.expiredLeases(now + 150, 10), ['u'], 'only the unowned one is adoptable at +150');
        assert.deepEqual((await store.expiredLeases(now + 200, 10)).sort(), ['t', 'u'], 'a lease lapses at its until');
        assert.deepEqual(await store.expiredLeases(now + 200, 1).then((keys) => keys.length), 1, 'no more than the limit');
        const adopted = await store.acquireLease('t', 'w2', now + 700, now + 200);
        assert.equal(adopted.ok, true, 'adoption of a lapsed lease');
        assert.deepEqual(adopted.record?.lease, { owner: 'w2', until: now + 700 });
        assert.equal((await store.renewLease('t', 'w1', now + 900)).ok, false, 'the old holder cannot renew what was adopted');
        const renewed = await store.renewLease('t', 'w2', now + 900);
        assert.deepEqual(renewed.record?.lease, { owner: 'w2', until: now + 900 });
        assert.equal((await store.renewLease('u', 'w2', now + 900)).ok, false, 'nobody holds u: nothing to renew');
        assert.equal((await store.releaseLease('t', 'w1')).ok, false, 'only the holder releases');
        const released = await store.releaseLease('t', 'w2');
        assert.equal(released.ok, true);
        assert.equal(released.record?.lease, undefined);
        assert.deepEqual((await store.expiredLeases(now, 10)).sort(), ['t', 'u'], 'released: adoptable at once');
        assert.equal((await store.acquireLease('none', 'w1', now, now)).ok, false);
        assert.equal(released.record?.version, 5);
      });
    });

    test('a dead owner\'s leases are listed by owner, lapsed or not, and taken over once each (acquireLease from)', async () => {
      await withStore(subject, async (store) => {
        const now = 1_000_000;
        await store.create(invite('live', { lease: { owner: 'dead', until: now + HOUR } }));
        await store.create(invite('lapsed', { lease: { owner: 'dead', until: now - 10 } }));
        await store.create(invite('other', { lease: { owner: 'alive', until: now + HOUR } }));
        await store.create(invite('free'));
        const end = Date.now() + HOUR;
        await store.create(invite('lingers', { expiresAt: end, lease: { owner: 'dead', until: end } }));
        assert.ok(store.leasesHeldBy !== undefined, 'every store of the suite lists leases by owner');
        assert.deepEqual((await store.leasesHeldBy('dead', 10)).sort(), ['lapsed', 'live'], 'not a lease to its record\'s end (a lingering transaction\'s)');
        assert.equal((await store.leasesHeldBy('dead', 1)).length, 1, 'no more than the limit');
        assert.deepEqual(await store.leasesHeldBy('nobody', 10), []);
        assert.equal((await store.acquireLease('live', 'w2', now + 500, now)).ok, false, 'not lapsed: no plain adoption');
        assert.equal((await store.acquireLease('other', 'w2', now + 500, now, 'dead')).ok, false, 'from names a holder it is not');
        const taken = await store.acquireLease('live', 'w2', now + 500, now, 'dead');
        assert.deepEqual(taken.record?.lease, { owner: 'w2', until: now + 500 }, 'taken over from its dead holder');
        assert.equal((await store.acquireLease('live', 'w3', now + 500, now, 'dead')).ok, false, 'once: a second survivor finds it held by the first');
        assert.equal((await store.acquireLease('free', 'w2', now + 500, now, 'dead')).ok, true, 'a free lease is granted as before');
        assert.deepEqual(await store.leasesHeldBy('dead', 10), ['lapsed']);
        assert.deepEqual((await store.leasesHeldBy('w2', 10)).sort(), ['free', 'live']);
        // Survivors told of one death race for each lease: exactly one takes it.
        const handles = [store, ...(subject.peer === undefined ? [store, store] : [await subject.peer(store), await subject.peer(store)])];
        try {
          await store.create(invite('raced', { lease: { owner: 'dead', until: now + HOUR } }));
          const raced = await Promise.all(handles.map((handle, i) => handle.acquireLease('raced', `s${i}`, now + 500, now, 'dead')));
          assert.equal(raced.filter((outcome) => outcome.ok).length, 1, 'one survivor takes it');
        } finally {
          for (const handle of handles.slice(1)) if (handle !== store) await handle.close();
        }
      });
    });

    test('delete removes a record; operations on a removed key find nothing', async () => {
      await withStore(subject, async (store) => {
        await store.create(invite('d', { lease: { owner: 'w', until: 1 } }));
        assert.equal(await store.delete('d'), true);
        assert.equal(await store.delete('d'), false);
        assert.equal(await store.get('d'), undefined);
        assert.deepEqual(await store.expiredLeases(Date.now(), 10), []);
        assert.deepEqual(await store.transition('d', ['proceeding'], { state: 'completed' }), { ok: false, record: undefined });
        assert.equal((await store.create(invite('d'))).ok, true, 'the key is free again');
        assert.equal(await store.size(), 1);
      });
    });

    test('a record is gone once its expiresAt passes (the TTL of its longest timer)', async () => {
      await withStore(subject, async (store) => {
        const now = Date.now();
        await store.create(invite('short', { expiresAt: now + 250 }));
        await store.create(invite('long'));
        await store.create(invite('extended', { expiresAt: now + 250 }));
        assert.equal((await store.transition('extended', ['proceeding'], { expiresAt: now + HOUR })).ok, true);
        assert.equal(await store.size(), 3);
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, now + 450 - Date.now())));
        assert.equal(await store.get('short'), undefined);
        assert.deepEqual((await store.expiredLeases(Date.now(), 10)).sort(), ['extended', 'long']);
        assert.equal(await store.size(), 2);
        assert.equal((await store.create(invite('short'))).ok, true, 'an expired key may be created again');
      });
    });

    test('of several handles racing on one key, exactly one wins each compare-and-set', async () => {
      await withStore(subject, async (store) => {
        const handles = [store];
        try {
          for (let i = 1; i < 6; i++) handles.push(subject.peer === undefined ? store : await subject.peer(store));
          for (let round = 0; round < 20; round++) {
            const key = `race-${round}`;
            const created = await Promise.all(handles.map((handle, i) => handle.create(invite(key, { branch: `b${i}` }))));
            assert.equal(created.filter((outcome) => outcome.ok).length, 1, 'one creator');
            const winner = created.find((outcome) => outcome.ok)?.record?.branch;
            assert.ok(created.every((outcome) => outcome.record?.branch === winner), 'every loser sees the winner\'s record');
            const moved = await Promise.all(handles.map((handle, i) => handle.transition(key, ['proceeding'], { state: `s${i}` })));
            assert.equal(moved.filter((outcome) => outcome.ok).length, 1, 'one transition');
            const leased = await Promise.all(handles.map((handle, i) => handle.acquireLease(key, `w${i}`, 10_000, 5_000)));
            assert.equal(leased.filter((outcome) => outcome.ok).length, 1, 'one lease holder');
            const branched = await Promise.all(handles.map((handle) => handle.addBranch(key, { branch: 'z9hG4bK-one', target: 't', state: 'calling', status: 0 })));
            assert.equal(branched.filter((outcome) => outcome.ok).length, 1, 'one branch added');
            const record = await store.get(key);
            assert.equal(record?.version, 4, 'four writes, one per round');
            assert.equal(record?.branches.length, 1);
          }
        } finally {
          for (const handle of handles.slice(1)) if (handle !== store) await handle.close();
        }
      });
    });

    test('lease keepers: a dead worker\'s transactions are adopted exactly once by one of two survivors, and its late tick loses them', async () => {
      await withStore(subject, async (store) => {
        const handles = [store, ...(subject.peer === undefined ? [store, store] : [await subject.peer(store), await subject.peer(store)])];
        try {
          const now = 5_000_000;
          const leaseMs = 1000;
          const adoptedBy = new Map<string, string[]>();
          const keeper = (handle: TransactionStore, owner: string): LeaseKeeper =>
            new LeaseKeeper({ store: handle, owner, leaseMs, batch: 100, adopt: (record) => adoptedBy.set(record.key, [...(adoptedBy.get(record.key) ?? []), owner]) });
          const [dead, left, right] = [keeper(handles[0]!, 'dead'), keeper(handles[1]!, 'left'), keeper(handles[2]!, 'right')];
          const keys = Array.from({ length: 12 }, (_, i) => `call-${i}`);
          for (const key of keys) {
            await handles[0]!.create(invite(key, { lease: dead.leaseFrom(now), timers: { H: now + 32_000 } }));
            dead.hold(key);
          }
          const early = await Promise.all([left.tick(now + 10), right.tick(now + 10)]);
          assert.deepEqual(early.map((tick) => tick.adopted.length), [0, 0], 'nothing lapsed yet');
          assert.equal((await dead.tick(now + 500)).renewed, 12, 'the owner renews while it lives');
          // The owner dies after that tick: its leases lapse at now + 1500.
          const [fromLeft, fromRight] = await Promise.all([left.tick(now + 1600), right.tick(now + 1600)]);
          assert.equal(fromLeft.adopted.length + fromRight.adopted.length, 12, 'every transaction adopted');
          assert.deepEqual([...adoptedBy.keys()].sort(), [...keys].sort());
          for (const [key, owners] of adoptedBy) assert.equal(owners.length, 1, `${key} adopted once, not by ${owners.join(' and ')}`);
          const adopted = await handles[0]!.get(keys[0]!);
          assert.deepEqual(adopted?.timers, { H: now + 32_000 }, 'the deadlines to re-arm come with the record');
          const late = await dead.tick(now + 1700);
          assert.equal(late.lost.length, 12, 'the old owner, back, finds every lease taken');
          assert.equal(dead.held.size, 0);
          const again = await Promise.all([left.tick(now + 1800), right.tick(now + 1800)]);
          assert.deepEqual(again.map((tick) => tick.adopted.length), [0, 0]);
          assert.equal(again[0]!.renewed + again[1]!.renewed, 12);
        } finally {
          for (const handle of handles.slice(1)) if (handle !== store) await handle.close();
        }
      });
    });

    test(`seeded random operation sequences agree with the reference model (${conformanceRuns(options)} sequences)`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: options.maxOperations ?? 60 }), async (operations) => {
          await withStore(subject, async (store) => {
            const model = new ReferenceModel();
            for (const [index, op] of operations.entries()) await check(store, model, op, index);
          });
        }),
        { seed: options.seed ?? 3261, numRuns: conformanceRuns(options) },
      );
    });
  });
}

// ---- the reference model and the random operations ----

const KEYS = ['a', 'b', 'c', 'd'];
const STATES = ['trying', 'proceeding', 'completed', 'terminated'];
const OWNERS = ['w1', 'w2', 'w3'];
const BRANCHES = ['x', 'y', 'z'];
/** Lease times of the random sequences are virtual: offsets from here, advanced by `tick`. */
const EPOCH = 1_000_000;

type Operation =
  | { readonly op: 'create'; readonly key: string; readonly state: string; readonly owner?: string; readonly leaseFor: number; readonly request?: string; readonly parent?: string; readonly respondTo?: string }
  | { readonly op: 'get'; readonly key: string }
  | { readonly op: 'transition'; readonly key: string; readonly from: string[]; readonly state?: string; readonly status?: number; readonly body?: string; readonly timer?: string; readonly deadline: number | null; readonly take?: string; readonly leaseFor: number }
  | { readonly op: 'addBranch'; readonly key: string; readonly branch: string; readonly state: string }
  | { readonly op: 'updateBranch'; readonly key: string; readonly branch: string; readonly from: string[]; readonly state: string; readonly status?: number }
  | { readonly op: 'acquire' | 'renew' | 'release'; readonly key: string; readonly owner: string; readonly leaseFor: number }
  | { readonly op: 'expired'; readonly limit: number }
  | { readonly op: 'delete'; readonly key: string }
  | { readonly op: 'size' }
  | { readonly op: 'tick'; readonly ms: number };

const key = fc.constantFrom(...KEYS);
const state = fc.constantFrom(...STATES);
const states = fc.subarray(STATES, { minLength: 1 });
const owner = fc.constantFrom(...OWNERS);
const leaseFor = fc.integer({ min: 1, max: 300 });
const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ op: fc.constant('create' as const), key, state, owner, leaseFor, request: fc.string({ maxLength: 30 }), parent: key, respondTo: fc.constantFrom('udp|192.0.2.1|5060|', 'tcp|[2001:db8::1]|5060|7') }, { requiredKeys: ['op', 'key', 'state', 'leaseFor'] }),
  fc.record({ op: fc.constant('get' as const), key }),
  fc.record(
    {
      op: fc.constant('transition' as const),
      key,
      from: states,
      state,
      status: fc.constantFrom(100, 180, 200, 486),
      body: fc.string({ maxLength: 40 }),
      timer: fc.constantFrom('A', 'B', 'G', 'H'),
      deadline: fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: null }),
      take: owner,
      leaseFor,
    },
    { requiredKeys: ['op', 'key', 'from', 'deadline', 'leaseFor'] },
  ),
  fc.record({ op: fc.constant('addBranch' as const), key, branch: fc.constantFrom(...BRANCHES), state }),
  fc.record({ op: fc.constant('updateBranch' as const), key, branch: fc.constantFrom(...BRANCHES), from: states, state, status: fc.constantFrom(180, 200, 486) }, { requiredKeys: ['op', 'key', 'branch', 'from', 'state'] }),
  fc.record({ op: fc.constantFrom('acquire' as const, 'renew' as const, 'release' as const), key, owner, leaseFor }),
  fc.record({ op: fc.constant('expired' as const), limit: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ op: fc.constant('delete' as const), key }),
  fc.record({ op: fc.constant('size' as const) }),
  fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 200 }) }),
);

interface ModelRecord {
  side: 'server';
  invite: true;
  state: string;
  branch: string;
  request: Buffer | undefined;
  parent: string | undefined;
  respondTo: string | undefined;
  version: number;
  status: number;
  response: Buffer | undefined;
  branches: Array<{ branch: string; target: string; state: string; status: number }>;
  timers: Record<string, number>;
  lease: { owner: string; until: number } | undefined;
  expiresAt: number;
}

/** What a store should hold: plain objects changed in place, no shared code with the stores. */
class ReferenceModel {
  readonly records = new Map<string, ModelRecord>();
  now = EPOCH;
  readonly expiresAt = Date.now() + HOUR;

  view(key: string): TransactionRecord | undefined {
    const record = this.records.get(key);
    if (record === undefined) return undefined;
    return { key, ...record, branches: record.branches.map((branch) => ({ ...branch })), timers: { ...record.timers }, lease: record.lease === undefined ? undefined : { ...record.lease } };
  }

  outcome(ok: boolean, key: string): TransactionOutcome {
    return { ok, record: this.view(key) };
  }

  apply(op: Operation): TransactionOutcome | undefined {
    if (op.op === 'tick') {
      this.now += op.ms;
      return undefined;
    }
    if (op.op === 'expired' || op.op === 'size' || op.op === 'get') return undefined;
    const record = this.records.get(op.key);
    switch (op.op) {
      case 'create':
        if (record !== undefined) return this.outcome(false, op.key);
        this.records.set(op.key, {
          side: 'server',
          invite: true,
          state: op.state,
          branch: `br-${op.key}`,
          request: op.request === undefined ? undefined : Buffer.from(op.request),
          parent: op.parent,
          respondTo: op.respondTo,
          version: 1,
          status: 0,
          response: undefined,
          branches: [],
          timers: {},
          lease: op.owner === undefined ? undefined : { owner: op.owner, until: this.now + op.leaseFor },
          expiresAt: this.expiresAt,
        });
        return this.outcome(true, op.key);
      case 'transition':
        if (record === undefined || !op.from.includes(record.state)) return this.outcome(false, op.key);
        if (op.state !== undefined) record.state = op.state;
        if (op.status !== undefined) {
          record.status = op.status;
          record.response = op.body === undefined ? undefined : Buffer.from(op.body);
        }
        if (op.timer !== undefined) {
          if (op.deadline === null) delete record.timers[op.timer];
          else record.timers[op.timer] = op.deadline;
        }
        if (op.take !== undefined) record.lease = { owner: op.take, until: this.now + op.leaseFor };
        record.version++;
        return this.outcome(true, op.key);
      case 'addBranch':
        if (record === undefined || record.branches.some((branch) => branch.branch === op.branch)) return this.outcome(false, op.key);
        record.branches.push({ branch: op.branch, target: `to-${op.branch}`, state: op.state, status: 0 });
        record.version++;
        return this.outcome(true, op.key);
      case 'updateBranch': {
        const branch = record?.branches.find((candidate) => candidate.branch === op.branch);
        if (record === undefined || branch === undefined || !op.from.includes(branch.state)) return this.outcome(false, op.key);
        branch.state = op.state;
        if (op.status !== undefined) branch.status = op.status;
        record.version++;
        return this.outcome(true, op.key);
      }
      case 'acquire':
        if (record === undefined) return this.outcome(false, op.key);
        if (record.lease !== undefined && record.lease.owner !== op.owner && record.lease.until > this.now) return this.outcome(false, op.key);
        record.lease = { owner: op.owner, until: this.now + op.leaseFor };
        record.version++;
        return this.outcome(true, op.key);
      case 'renew':
        if (record === undefined || record.lease?.owner !== op.owner) return this.outcome(false, op.key);
        record.lease = { owner: op.owner, until: this.now + op.leaseFor };
        record.version++;
        return this.outcome(true, op.key);
      case 'release':
        if (record === undefined || record.lease?.owner !== op.owner) return this.outcome(false, op.key);
        record.lease = undefined;
        record.version++;
        return this.outcome(true, op.key);
      case 'delete':
        return { ok: this.records.delete(op.key), record: undefined };
    }
  }

  adoptable(): string[] {
    return [...this.records.entries()].filter(([, record]) => record.lease === undefined || record.lease.until <= this.now).map(([key]) => key);
  }
}

async function check(store: TransactionStore, model: ReferenceModel, op: Operation, index: number): Promise<void> {
  const where = `operation ${index}: ${JSON.stringify(op)}`;
  const expected = model.apply(op);
  switch (op.op) {
    case 'tick':
      return;
    case 'get':
      assert.deepEqual(await store.get(op.key), model.view(op.key), where);
      return;
    case 'size':
      assert.equal(await store.size(), model.records.size, where);
      return;
    case 'expired': {
      const keys = await store.expiredLeases(model.now, op.limit);
      const adoptable = model.adoptable();
      assert.equal(keys.length, Math.min(op.limit, adoptable.length), where);
      assert.equal(new Set(keys).size, keys.length, `${where}: no key twice`);
      for (const found of keys) assert.ok(adoptable.includes(found), `${where}: ${found} is not adoptable`);
      return;
    }
    case 'delete':
      assert.equal(await store.delete(op.key), expected?.ok, where);
      return;
    default:
      assert.deepEqual(await run(store, model, op), expected, where);
  }
}

function run(store: TransactionStore, model: ReferenceModel, op: Operation): Promise<TransactionOutcome> {
  switch (op.op) {
    case 'create':
      return store.create({
        key: op.key,
        side: 'server',
        invite: true,
        state: op.state,
        branch: `br-${op.key}`,
        ...(op.request === undefined ? {} : { request: Buffer.from(op.request) }),
        ...(op.parent === undefined ? {} : { parent: op.parent }),
        ...(op.respondTo === undefined ? {} : { respondTo: op.respondTo }),
        ...(op.owner === undefined ? {} : { lease: { owner: op.owner, until: model.now + op.leaseFor } }),
        expiresAt: model.expiresAt,
      });
    case 'transition':
      return store.transition(op.key, op.from, {
        ...(op.state === undefined ? {} : { state: op.state }),
        ...(op.status === undefined ? {} : { response: op.body === undefined ? { status: op.status } : { status: op.status, bytes: Buffer.from(op.body) } }),
        ...(op.timer === undefined ? {} : { timers: { [op.timer]: op.deadline } }),
        ...(op.take === undefined ? {} : { takeLease: { owner: op.take, until: model.now + op.leaseFor } }),
      });
    case 'addBranch':
      return store.addBranch(op.key, { branch: op.branch, target: `to-${op.branch}`, state: op.state, status: 0 });
    case 'updateBranch':
      return store.updateBranch(op.key, op.branch, op.from, op.status === undefined ? { state: op.state } : { state: op.state, status: op.status });
    case 'acquire':
      return store.acquireLease(op.key, op.owner, model.now + op.leaseFor, model.now);
    case 'renew':
      return store.renewLease(op.key, op.owner, model.now + op.leaseFor);
    case 'release':
      return store.releaseLease(op.key, op.owner);
    default:
      throw new Error(`not a record operation: ${op.op}`);
  }
}
