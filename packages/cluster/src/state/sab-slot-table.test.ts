import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SLOT_HASH, SabSlotTable, allocateSlotMemory, hashBytes, hashText, type SabSlotShape } from './sab-slot-table.js';
import { StateStoreError } from './state-store-error.js';

// A test table: header words state, hash, key length; numbers value and expiry; the key as the record.
const LENGTH = 2;
const VALUE = 0;
const EXPIRES = 1;
const shape: SabSlotShape = { slotWords: 3, numbersPerSlot: 2, expiryNumber: EXPIRES, recordLength: (slots, header) => slots[header + LENGTH]!, what: 'test table' };
const NEVER = Number.POSITIVE_INFINITY;

function tableOf(capacity: number): SabSlotTable {
  return new SabSlotTable(shape, allocateSlotMemory(shape, capacity, 8));
}

/** Puts `key` with an explicit hash (so a test picks its home slot); returns its slot. */
function put(table: SabSlotTable, hash: number, key: string, value: number, expiresAt = NEVER, now = 0): number {
  const bytes = Buffer.from(key);
  const found = find(table, hash, key, now);
  const slot = found >= 0 ? found : table.claim(hash, now);
  table.records.set(bytes, table.recordStart(slot));
  table.slots[table.header(slot) + LENGTH] = bytes.length;
  table.setNumber(slot, VALUE, value);
  table.setNumber(slot, EXPIRES, expiresAt);
  table.occupy(slot, hash);
  return slot;
}

function find(table: SabSlotTable, hash: number, key: string, now = 0): number {
  const bytes = Buffer.from(key);
  return table.find(hash, now, (slot) => table.slots[table.header(slot) + LENGTH] === bytes.length && table.recordStartsWith(slot, bytes));
}

/** What each slot holds: its key, or '' when empty. */
function layout(table: SabSlotTable): string[] {
  return Array.from({ length: table.capacity }, (_, slot) => {
    if (!table.isUsed(slot)) return '';
    const start = table.recordStart(slot);
    return Buffer.from(table.records.slice(start, start + table.slots[table.header(slot) + LENGTH]!)).toString();
  });
}

/** Every used slot is reached from its home slot with no empty slot on the way (the invariant deletion keeps). */
function assertReachable(table: SabSlotTable): void {
  for (let slot = 0; slot < table.capacity; slot++) {
    if (!table.isUsed(slot)) continue;
    for (let at = table.home(table.slots[table.header(slot) + SLOT_HASH]!); at !== slot; at = (at + 1) % table.capacity) {
      assert.ok(table.isUsed(at), `slot ${slot} is cut off from its home by empty slot ${at}: ${layout(table).join('|')}`);
    }
  }
}

test('entries probe linearly from their home slot and wrap past the end of the table', () => {
  const table = tableOf(8);
  assert.equal(put(table, 6, 'a', 1), 6);
  assert.equal(put(table, 6, 'b', 2), 7);
  assert.equal(put(table, 14, 'c', 3), 0, 'home 6 again (14 mod 8), wrapped to slot 0');
  assert.equal(put(table, 1, 'd', 4), 1);
  assert.equal(put(table, 6, 'a', 5), 6, 'the same key stays in its slot');
  assert.equal(table.numberAt(6, VALUE), 5);
  assert.equal(find(table, 14, 'c'), 0);
  assert.equal(find(table, 6, 'c'), -1, 'a match needs the same hash');
  assert.equal(find(table, 3, 'x'), -1);
  assert.equal(table.countUsed(), 4);
});

test('a negative hash has a home slot in the table', () => {
  const table = tableOf(7);
  const hash = -5;
  assert.equal(table.home(hash), (hash >>> 0) % 7);
  assert.equal(put(table, hash, 'n', 1), (hash >>> 0) % 7);
  assert.equal(find(table, hash, 'n'), (hash >>> 0) % 7);
});

test('backward-shift deletion across the end of the table moves each entry as far back as its home allows', () => {
  const table = tableOf(8);
  put(table, 6, 'a', 1); // slot 6
  put(table, 6, 'b', 2); // slot 7
  put(table, 7, 'c', 3); // slot 0 (wrapped, home 7)
  put(table, 0, 'd', 4); // slot 1 (home 0)
  put(table, 2, 'x', 5); // slot 2 (its home: must not move)
  put(table, 1, 'e', 6); // slot 3 (home 1)
  assert.deepEqual(layout(table), ['c', 'd', 'x', 'e', '', '', 'a', 'b']);
  table.delete(6);
  // b to its home 6, c to its home 7 across the end, d to its home 0, x stays at its home 2,
  // e from slot 3 to slot 1 (its home), so no gap is left before x.
  assert.deepEqual(layout(table), ['d', 'e', 'x', '', '', '', 'b', 'c']);
  assert.deepEqual([table.numberAt(6, VALUE), table.numberAt(7, VALUE), table.numberAt(0, VALUE), table.numberAt(1, VALUE), table.numberAt(2, VALUE)], [2, 3, 4, 6, 5], 'numbers move with their entries');
  assertReachable(table);
  for (const [hash, key] of [[6, 'b'], [7, 'c'], [0, 'd'], [2, 'x'], [1, 'e']] as const) assert.notEqual(find(table, hash, key), -1, key);
  assert.equal(find(table, 6, 'a'), -1);
  assert.equal(table.countUsed(), 5);
});

test('deleting the last entry of a run leaves the others where they are', () => {
  const table = tableOf(8);
  put(table, 7, 'a', 1); // 7
  put(table, 7, 'b', 2); // 0
  put(table, 0, 'c', 3); // 1
  table.delete(1);
  assert.deepEqual(layout(table), ['b', '', '', '', '', '', '', 'a']);
});

test('find deletes lapsed entries of the run it walks and finds the live entry behind them', () => {
  const table = tableOf(8);
  put(table, 3, 'old', 1, 100); // 3
  put(table, 3, 'live', 2, 500); // 4
  put(table, 4, 'next', 3, 100); // 5
  assert.equal(find(table, 3, 'live', 200), 3, 'the live entry was shifted into the lapsed one\'s slot');
  assert.deepEqual(layout(table), ['', '', '', 'live', 'next', '', '', ''], 'the walk stopped at the match: a lapsed entry after it stays');
  assert.equal(find(table, 4, 'next', 200), -1);
  assert.equal(table.countUsed(), 1);
});

test('sweep deletes every lapsed entry, across the end of the table too', () => {
  const table = tableOf(4);
  put(table, 2, 'a', 1, 100); // 2
  put(table, 2, 'b', 2, 900); // 3
  put(table, 2, 'c', 3, 100); // 0
  put(table, 3, 'd', 4, 900); // 1
  assert.deepEqual(layout(table), ['c', 'd', 'a', 'b']);
  table.sweep(500);
  // Deleting c shifts d back from slot 1 to slot 0 (its run wraps from home 3); deleting a then
  // shifts b to its home 2 and d from slot 0 back across the end to its home 3.
  assert.deepEqual(layout(table), ['', '', 'b', 'd']);
  assert.equal(table.countUsed(), 2);
  assertReachable(table);
  assert.notEqual(find(table, 2, 'b', 500), -1);
  assert.notEqual(find(table, 3, 'd', 500), -1);
});

test('a full table: walks and finds end, claim sweeps lapsed entries once, then refuses with ERR_SWITCHBOARD_STATE_FULL', () => {
  const table = tableOf(4);
  for (let i = 0; i < 3; i++) put(table, i, `k${i}`, i);
  put(table, 3, 'short', 9, 100);
  assert.equal(table.freeSlot(0), -1);
  assert.equal(table.walk(1, () => 'next'), -1, 'a walk round a full table ends');
  assert.equal(find(table, 2, 'absent', 50), -1, 'a find round a full table ends');
  assert.throws(
    () => table.claim(0, 50),
    (error: unknown) => error instanceof StateStoreError && error.code === 'ERR_SWITCHBOARD_STATE_FULL' && error.message === 'the test table is full (4 slots)',
  );
  assert.equal(table.countUsed(), 4, 'nothing lapsed at 50');
  assert.equal(table.claim(0, 100), 3, 'the entry lapsed at 100 was swept to make room');
  assert.equal(table.countUsed(), 3);
});

test('a walk that deletes its slot looks at it again and meets the entry shifted into it', () => {
  const table = tableOf(8);
  put(table, 5, 'a', 1);
  put(table, 5, 'b', 2);
  put(table, 5, 'c', 3);
  const seen: string[] = [];
  const end = table.walk(5, (slot) => {
    const key = layout(table)[slot]!;
    seen.push(key);
    if (key === 'a') {
      table.delete(slot);
      return 'again';
    }
    return 'next';
  });
  assert.deepEqual(seen, ['a', 'b', 'c']);
  assert.equal(end, 7, 'the walk ended at the empty slot after the run');
});

test('hashes: FNV-1a over bytes and over UTF-16 code units agree on ASCII and are 32-bit signed', () => {
  assert.equal(hashBytes(Buffer.from('')), 0x811c9dc5 | 0);
  assert.equal(hashBytes(Buffer.from('a')), 0xe40c292c | 0, 'the published FNV-1a 32 of "a"');
  assert.equal(hashText('sip:alice@example.com'), hashBytes(Buffer.from('sip:alice@example.com')));
  assert.notEqual(hashText('é'), hashBytes(Buffer.from('é')), 'UTF-16 unit vs two UTF-8 bytes');
});

test('random puts, deletes and finds on a small table behave as a Map and keep every entry reachable', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('put' as const), key: fc.integer({ min: 0, max: 11 }), value: fc.integer() }),
    fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 11 }) }),
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 9 }), fc.array(op, { maxLength: 60 }), (capacity, ops) => {
      const table = tableOf(capacity);
      const model = new Map<number, number>();
      // Keys collide on purpose: key k hashes to k mod 5, a few homes for a dozen keys.
      const hashOf = (key: number): number => key % 5;
      for (const step of ops) {
        const slot = find(table, hashOf(step.key), `k${step.key}`);
        assert.equal(slot >= 0, model.has(step.key));
        if (step.kind === 'put') {
          if (slot < 0 && model.size === capacity) {
            assert.throws(() => put(table, hashOf(step.key), `k${step.key}`, step.value), (error: StateStoreError) => error.code === 'ERR_SWITCHBOARD_STATE_FULL');
            continue;
          }
          put(table, hashOf(step.key), `k${step.key}`, step.value);
          model.set(step.key, step.value);
        } else if (slot >= 0) {
          table.delete(slot);
          model.delete(step.key);
        }
        assertReachable(table);
        assert.equal(table.countUsed(), model.size);
        for (const [key, value] of model) assert.equal(table.numberAt(find(table, hashOf(key), `k${key}`), VALUE), value);
      }
    }),
    { numRuns: 300 },
  );
});
