import assert from 'node:assert/strict';
import { test } from 'node:test';
import { counterDeltas, sumCounters } from './proxy-counters.js';

const TEXT = `# HELP switchboard_fd_requests_total Switchboard concurrency model: fdRequests
# TYPE switchboard_fd_requests_total counter
switchboard_fd_requests_total{worker="0"} 10
switchboard_fd_requests_total{worker="1"} 5
switchboard_fd_requests_total{worker="supervisor"} 15
switchboard_worker_restarts_total 2
switchboard_transactions{worker="0"} 7
switchboard_ipc_round_trip_seconds_bucket{worker="0",le="0.001"} 3
`;

test('counters are summed over workers, without the supervisor\'s relayed counts, gauges and buckets left out', () => {
  const sums = sumCounters(TEXT);
  assert.equal(sums.get('switchboard_fd_requests_total'), 15);
  assert.equal(sums.get('switchboard_worker_restarts_total'), 2);
  assert.equal(sums.has('switchboard_transactions'), false);
  assert.equal(sums.has('switchboard_ipc_round_trip_seconds_bucket'), false);
});

test('deltas are taken over the window', () => {
  const before = sumCounters(TEXT);
  const after = sumCounters(TEXT.replace('{worker="0"} 10', '{worker="0"} 110'));
  assert.deepEqual(counterDeltas(before, after), { switchboard_fd_requests_total: 100, switchboard_worker_restarts_total: 0 });
});
