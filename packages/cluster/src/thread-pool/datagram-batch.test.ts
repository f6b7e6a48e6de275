import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { test } from 'node:test';
import type { TransportAddress } from '@switchboard/core';
import { DatagramBatcher, forEachDatagram, MAX_BATCH_BYTES, MAX_BATCH_DATAGRAMS, type DatagramBatch } from './datagram-batch.js';

const from = (port: number): TransportAddress => ({ protocol: 'udp', address: '127.0.0.1', port });

function unpacked(batch: DatagramBatch): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  forEachDatagram(batch, (bytes, address) => out.push([bytes.toString('latin1'), address.port]), (error) => assert.fail(String(error)));
  return out;
}

test('the datagrams of one turn go in one batch, in order, at the end of the turn', async () => {
  const batches: DatagramBatch[] = [];
  const batcher = new DatagramBatcher((batch) => batches.push(batch), (error) => assert.fail(String(error)));
  batcher.add(Buffer.from('INVITE'), from(1));
  batcher.add(Buffer.from(''), from(2));
  batcher.add(Buffer.from('ACK'), from(3));
  assert.equal(batches.length, 0);
  assert.equal(batcher.pending, 3);
  await nextTurn();
  assert.equal(batches.length, 1);
  assert.deepEqual(unpacked(batches[0] as DatagramBatch), [['INVITE', 1], ['', 2], ['ACK', 3]]);
  // One buffer of exactly their bytes, to transfer.
  assert.equal(batches[0]?.bytes.byteLength, 9);
  assert.equal(batcher.pending, 0);
});

test('a lone datagram is not held past its turn, and the next turn makes a new batch', async () => {
  const batches: DatagramBatch[] = [];
  const batcher = new DatagramBatcher((batch) => batches.push(batch), () => assert.fail());
  batcher.add(Buffer.from('one'), from(1));
  await nextTurn();
  batcher.add(Buffer.from('two'), from(2));
  await nextTurn();
  assert.deepEqual(batches.map(unpacked), [[['one', 1]], [['two', 2]]]);
});

test('a full batch is posted at once, by count and by bytes', async () => {
  const batches: DatagramBatch[] = [];
  const batcher = new DatagramBatcher((batch) => batches.push(batch), () => assert.fail());
  for (let n = 0; n < MAX_BATCH_DATAGRAMS + 1; n++) batcher.add(Buffer.from([n]), from(n));
  assert.equal(batches.length, 1);
  assert.equal(batches[0]?.ends.length, MAX_BATCH_DATAGRAMS);
  batcher.add(Buffer.alloc(MAX_BATCH_BYTES), from(9));
  assert.equal(batches.length, 2);
  assert.equal(batches[1]?.ends.length, 2);
  await nextTurn();
  assert.equal(batches.length, 2);
});

test('an error from posting goes to onError, never to the event loop; clear drops what waits', async () => {
  const errors: unknown[] = [];
  let posted = 0;
  const failing = new DatagramBatcher(() => {
    throw new Error('port closed');
  }, (error) => errors.push(error));
  failing.add(Buffer.from('x'), from(1));
  await nextTurn();
  assert.equal(errors.length, 1);
  const cleared = new DatagramBatcher(() => posted++, () => assert.fail());
  cleared.add(Buffer.from('x'), from(1));
  cleared.clear();
  await nextTurn();
  assert.equal(posted, 0);
});

test('forEachDatagram goes on past a handler that throws, and stops at a malformed batch', () => {
  const batch: DatagramBatch = { bytes: Buffer.from('abc'), ends: [1, 2, 3], addresses: [from(1), from(2), from(3)] };
  const seen: string[] = [];
  const errors: unknown[] = [];
  forEachDatagram(
    batch,
    (bytes) => {
      seen.push(bytes.toString());
      if (bytes.toString() === 'b') throw new Error('handler');
    },
    (error) => errors.push(error),
  );
  assert.deepEqual(seen, ['a', 'b', 'c']);
  assert.equal(errors.length, 1);
  const malformed: DatagramBatch = { bytes: Buffer.from('abc'), ends: [2, 9], addresses: [from(1), from(2)] };
  const ok: string[] = [];
  const bad: unknown[] = [];
  forEachDatagram(malformed, (bytes) => ok.push(bytes.toString()), (error) => bad.push(error));
  assert.deepEqual(ok, ['ab']);
  assert.equal(bad.length, 1);
});
