import assert from 'node:assert/strict';
import { test } from 'node:test';
import { proxyRunTotals } from './proxy-run-totals.js';

const ready = JSON.stringify({ level: 30, time: 1_000_000, msg: 'ready' });
const stopped = (workers: unknown[]): string => JSON.stringify({ level: 30, time: 1_046_500, workers, msg: 'stopped' });
const core = (received: number, shed: number, rejected: number, dropped: number, ms: number) => ({ core: { requestsReceived: received, overloadShed: shed, overloadRejected: rejected, overloadDropped: dropped, overloadReadsHeld: 3, overloadMilliseconds: ms, overloadEntered: 1 } });

test('sums every worker\'s overload counters between ready and stopped', () => {
  const log = ['not json', ready, '{"msg":"file limit"}', stopped([core(100, 50, 20, 30, 1500), core(10, 5, 5, 0, 250)])].join('\n');
  assert.deepEqual(proxyRunTotals(log), { seconds: 46.5, requestsReceived: 110, overloadShed: 55, overloadRejected: 25, overloadDropped: 30, overloadReadsHeld: 6, overloadSeconds: 1.75, overloadEntered: 2 });
});

test('no totals without both lines; a broken or partial line is skipped', () => {
  assert.equal(proxyRunTotals(ready), undefined, 'killed before it logged "stopped"');
  assert.equal(proxyRunTotals(stopped([core(1, 1, 1, 0, 1)])), undefined);
  const partial = `${ready}\n${stopped([core(1, 0, 0, 0, 0)]).slice(0, 40)}`;
  assert.equal(proxyRunTotals(partial), undefined);
  const oddWorker = proxyRunTotals(`${ready}\n${stopped([{ core: { requestsReceived: 'many' } }, core(2, 0, 0, 0, 0)])}`);
  assert.equal(oddWorker?.requestsReceived, 2);
});
