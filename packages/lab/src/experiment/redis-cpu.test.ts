import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BenchResult } from '@switchboard/bench';
import { redisCpuPercent } from './redis-cpu.js';

const usage = (role: string, cpuPercent: number) => ({ pid: 1, role, cpuPercent, cpuPercentMax: cpuPercent, rssBytesMax: 1 });

test("Redis' CPU is summed over its processes (a cluster's nodes), other watched processes left out", () => {
  assert.equal(redisCpuPercent({ observed: [usage('redis', 12), usage('other', 40), usage('redis', 3.5)] } as unknown as BenchResult), 15.5);
  assert.equal(redisCpuPercent({ observed: [usage('other', 40)] } as unknown as BenchResult), undefined);
  assert.equal(redisCpuPercent({} as BenchResult), undefined);
});
