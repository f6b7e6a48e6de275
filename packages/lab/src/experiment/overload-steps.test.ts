import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BenchResult } from '@switchboard/bench';
import { runOverloadSteps } from './overload-steps.js';

const result = (offered: number, completed: number, failures: Record<string, number> = {}): BenchResult =>
  ({ calls: { attempted: offered * 10, completed, successRatio: completed / (offered * 10) }, windowSeconds: 10, failures, latencyMs: {}, proxy: { cpuPercentTotal: 99 } }) as unknown as BenchResult;

test('each factor is offered on its own measurement; goodput is what completed per second, over the capacity', async () => {
  const offered: number[] = [];
  const steps = await runOverloadSteps([1, 2, 4], 1000, async (rate) => {
    offered.push(rate);
    return { result: result(rate, Math.min(rate, 900) * 10, rate > 1000 ? { '503': 5 } : {}), invalid: [] };
  });
  assert.deepEqual(offered, [1000, 2000, 4000]);
  assert.deepEqual(steps.map((step) => [step.factor, step.goodputPerSecond, step.goodputRatio, step.invalid]), [[1, 900, 0.9, undefined], [2, 900, 0.9, undefined], [4, 900, 0.9, undefined]]);
  assert.deepEqual(steps[1]?.failures, { '503': 5 });
});

test('a step whose generator could not offer the load keeps its figures and says why; one that threw is an error; a stop ends the steps', async () => {
  const controller = new AbortController();
  const steps = await runOverloadSteps([2, 4, 8], 100, async (rate) => {
    if (rate === 400) {
      controller.abort();
      throw new Error('proxy did not start');
    }
    return { result: result(rate, 1500), invalid: ['generator: out of CPU'] };
  }, controller.signal);
  assert.equal(steps.length, 2);
  assert.deepEqual(steps[0]?.invalid, ['generator: out of CPU']);
  assert.equal(steps[0]?.goodputRatio, 1.5);
  assert.equal(steps[1]?.error, 'proxy did not start');
});

test('what overload control did over the step\'s proxy run goes into the step when the proxy logged it', async () => {
  const proxyTotals = { seconds: 80, requestsReceived: 90_000, overloadShed: 40_000, overloadRejected: 30_000, overloadDropped: 10_000, overloadReadsHeld: 0, overloadSeconds: 60, overloadEntered: 2 };
  const steps = await runOverloadSteps([2, 4], 1000, async (rate) => ({ result: result(rate, 9000), invalid: [], ...(rate === 2000 ? { proxyTotals } : {}) }));
  assert.deepEqual(steps[0]?.proxyRun, proxyTotals);
  assert.equal(steps[1]?.proxyRun, undefined, 'killed before its stop line: none');
});
