import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectionCapacity, parseOpenFileLimit, readOpenFileLimit, RESERVED_FILES } from './open-file-limit.js';

const LIMITS = [
  'Limit                     Soft Limit           Hard Limit           Units     ',
  'Max processes             unlimited            unlimited            processes ',
  'Max open files            20000                20000                files     ',
  'Max locked memory         8388608              8388608              bytes     ',
].join('\n');

test('the open-file limit is read from a /proc limits text; unlimited and absent are undefined', () => {
  assert.deepEqual(parseOpenFileLimit(LIMITS), { soft: 20000, hard: 20000 });
  assert.deepEqual(parseOpenFileLimit('Max open files            1024                 unlimited            files'), { soft: 1024, hard: undefined });
  assert.equal(parseOpenFileLimit('Max processes 5 5'), undefined);
  assert.equal(readOpenFileLimit('/nonexistent/limits'), undefined);
  const own = readOpenFileLimit();
  if (own !== undefined) assert.ok((own.soft ?? Infinity) > 0);
});

test('capacity: one process bounds event-loop, thread-pool and the process-pool that keeps handles; with release it grows with the workers', () => {
  const limit = { soft: 20000, hard: 20000 };
  const base = { workers: 4, fdCache: 0, supervisorHandles: 'keep', maxConnections: undefined } as const;
  const per = 20000 - RESERVED_FILES;
  assert.deepEqual([connectionCapacity({ ...base, model: 'event-loop' }, limit).connections, connectionCapacity({ ...base, model: 'event-loop' }, limit).boundBy], [per, 'the process']);
  assert.equal(connectionCapacity({ ...base, model: 'thread-pool' }, limit).connections, per);
  const keep = connectionCapacity({ ...base, model: 'process-pool' }, limit);
  assert.deepEqual([keep.connections, keep.boundBy], [per, 'the supervisor']);
  const release = connectionCapacity({ ...base, model: 'process-pool', supervisorHandles: 'release' }, limit);
  assert.deepEqual([release.connections, release.boundBy], [4 * per, 'each worker']);
  assert.equal(connectionCapacity({ ...base, model: 'event-loop', maxConnections: 30000 }, limit).maxAboveLimit, true);
  assert.equal(connectionCapacity({ ...base, model: 'process-pool', supervisorHandles: 'release', maxConnections: 30000 }, limit).maxAboveLimit, false);
  assert.equal(connectionCapacity({ ...base, model: 'event-loop' }, undefined).connections, undefined);
});
