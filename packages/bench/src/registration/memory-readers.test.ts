import assert from 'node:assert/strict';
import { test } from 'node:test';
import { memorySnapshot, parseSlabinfo, parseSmapsRollup, parseSockstat, readSetSizes, readSetSizesOf, readSockstat, slabGrowth } from './memory-readers.js';

const ROLLUP = `55d4c0a00000-7ffd8a5f1000 ---p 00000000 00:00 0                          [rollup]
Rss:               48812 kB
Pss:               40145 kB
Pss_Anon:          30000 kB
Shared_Clean:       9000 kB
`;

const SOCKSTAT = `sockets: used 412
TCP: inuse 300 orphan 1 tw 265 alloc 310 mem 12
UDP: inuse 7 mem 41
`;

const SLABINFO = `slabinfo - version: 2.1
# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>
TCP                  240    240   2432   13    8 : tunables    0    0    0 : slabdata     20     20      0
sock_inode_cache     500    520    704   23    4 : tunables    0    0    0 : slabdata     22     22      0
kmalloc-8k            10     12   8192    4    8 : tunables    0    0    0 : slabdata      3      3      0
`;

test('parsers read smaps_rollup, sockstat and slabinfo texts', () => {
  assert.deepEqual(parseSmapsRollup(ROLLUP), { rssBytes: 48812 * 1024, pssBytes: 40145 * 1024 });
  assert.equal(parseSmapsRollup('nothing here'), undefined);
  assert.deepEqual(parseSockstat(SOCKSTAT), { socketsUsed: 412, tcpInUse: 300, tcpOrphan: 1, tcpTimeWait: 265, tcpAlloc: 310, tcpMemPages: 12 });
  assert.equal(parseSockstat('garbage'), undefined);
  assert.deepEqual(parseSlabinfo(SLABINFO), { TCP: 240 * 2432, sock_inode_cache: 500 * 704 });
  assert.equal(parseSlabinfo('Permission denied'), undefined);
  const before = { at: 0, slab: { TCP: 1000, filp: 100 } };
  const after = { at: 1, slab: { TCP: 5000, filp: 300, dentry: 50 } };
  assert.equal(slabGrowth(before, after), 4000 + 200 + 50);
  assert.equal(slabGrowth({ at: 0 }, after), undefined, 'no slab figure without slabinfo');
});

test('this test\'s own process: RSS and PSS from /proc, PSS never above RSS', { skip: process.platform !== 'linux' }, async () => {
  const own = await readSetSizes(process.pid);
  assert.ok(own !== undefined, 'smaps_rollup readable');
  assert.ok(own.rssBytes > 10 * 1024 * 1024, `RSS ${own.rssBytes}`);
  assert.ok(own.pssBytes > 0 && own.pssBytes <= own.rssBytes, `PSS ${own.pssBytes} vs RSS ${own.rssBytes}`);
  // Memory this process touches shows in its RSS.
  const block = Buffer.alloc(64 * 1024 * 1024, 1);
  const grown = await readSetSizes(process.pid);
  assert.ok(grown !== undefined && grown.rssBytes - own.rssBytes > 32 * 1024 * 1024, `RSS grew by ${(grown?.rssBytes ?? 0) - own.rssBytes} with a 64 MiB buffer`);
  assert.equal(block[block.length - 1], 1);
  const sum = await readSetSizesOf([process.pid, 999_999_999]);
  assert.equal(sum?.processes, 1, 'a process that is gone is left out');
  assert.ok((await readSockstat())?.socketsUsed !== undefined);
  const snapshot = await memorySnapshot([process.pid]);
  assert.ok(snapshot.proxy !== undefined && snapshot.sockstat !== undefined);
});
