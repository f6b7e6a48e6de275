import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { test } from 'node:test';
import { addedWindows, counterDeltas, countersOfWindow, lateCountersReason, scrapeCountersOrReason, sumCounters } from './proxy-counters.js';

const TEXT = `# HELP switchboard_fd_requests_total Switchboard concurrency model: fdRequests
# TYPE switchboard_fd_requests_total counter
switchboard_fd_requests_total{worker="0"} 10
switchboard_fd_requests_total{worker="1"} 5
switchboard_fd_requests_total{worker="supervisor"} 15
switchboard_worker_restarts_total 2
switchboard_fd_requests_written_total{worker="supervisor"} 4
switchboard_hand_offs_sent_total{worker="0"} 6
switchboard_hand_offs_sent_total{worker="parent"} 6
switchboard_event_loop_stall_milliseconds_total{worker="0"} 120.5
switchboard_event_loop_stall_milliseconds_total{worker="supervisor"} 400
switchboard_gc_pauses_total{worker="parent"} 3
switchboard_transactions{worker="0"} 7
switchboard_ipc_round_trip_seconds_bucket{worker="0",le="0.001"} 3
`;

test('counters are summed over workers, without the supervisor\'s relayed counts, gauges and buckets left out', () => {
  const sums = sumCounters(TEXT);
  assert.equal(sums.get('switchboard_fd_requests_total'), 15, 'the fd requests the supervisor answered are the workers\' again');
  assert.equal(sums.get('switchboard_hand_offs_sent_total'), 6);
  assert.equal(sums.get('switchboard_fd_requests_written_total'), 4, 'what the supervisor alone counts is kept');
  assert.equal(sums.get('switchboard_worker_restarts_total'), 2);
  assert.equal(sums.has('switchboard_transactions'), false);
  assert.equal(sums.has('switchboard_ipc_round_trip_seconds_bucket'), false);
  assert.equal(sums.get('switchboard_event_loop_stall_milliseconds_total'), 520.5, "every process's own event loop counts, the supervisor's too");
  assert.equal(sums.get('switchboard_gc_pauses_total'), 3);
  assert.equal(sums.get('switchboard_event_loop_stall_milliseconds_total{worker="supervisor"}'), 400, 'and kept per process');
  assert.equal(sums.get('switchboard_event_loop_stall_milliseconds_total{worker="0"}'), 120.5);
  assert.equal(sums.get('switchboard_gc_pauses_total{worker="parent"}'), 3);
  assert.equal(sums.has('switchboard_fd_requests_total{worker="0"}'), false, 'counters of the work are summed only');
});

test('deltas are taken over the window', () => {
  const before = sumCounters(TEXT);
  const after = sumCounters(TEXT.replace('{worker="0"} 10', '{worker="0"} 110'));
  const after2 = sumCounters(TEXT.replace('{worker="0"} 10', '{worker="0"} 110').replace('{worker="supervisor"} 400', '{worker="supervisor"} 455'));
  assert.deepEqual(counterDeltas(before, after), {
    switchboard_fd_requests_total: 100,
    switchboard_worker_restarts_total: 0,
    switchboard_fd_requests_written_total: 0,
    switchboard_hand_offs_sent_total: 0,
    switchboard_event_loop_stall_milliseconds_total: 0,
    'switchboard_event_loop_stall_milliseconds_total{worker="0"}': 0,
    'switchboard_event_loop_stall_milliseconds_total{worker="supervisor"}': 0,
    switchboard_gc_pauses_total: 0,
    'switchboard_gc_pauses_total{worker="parent"}': 0,
  });
  assert.equal(counterDeltas(before, after2)['switchboard_event_loop_stall_milliseconds_total{worker="supervisor"}'], 55);
});

test('a proxy that does not answer a scrape in time costs the run its counters and says why, never the run', async () => {
  // A metrics endpoint that accepts and never answers (a proxy whose event loop holds a backlog).
  const server = http.createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/metrics`;
  try {
    const before = await scrapeCountersOrReason(url, 200);
    assert.equal(typeof before, 'string');
    assert.match(before as string, /metrics/);
    const fields = countersOfWindow(before, new Map([['switchboard_fd_requests_total', 1]]));
    assert.equal(fields.proxyCounters, undefined);
    assert.match(fields.proxyCountersError ?? '', /127\.0\.0\.1/);
    assert.deepEqual(countersOfWindow(undefined, undefined), {}, 'no metrics URL: nothing to say');
    assert.deepEqual(countersOfWindow(sumCounters(TEXT), sumCounters(TEXT)).proxyCounters?.switchboard_fd_requests_total, 0);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('windows are added up counter by counter; one window without counters leaves the run without them, with its reason', () => {
  const first = { proxyCounters: { a_total: 2, b_total: 1.5 } };
  const second = { proxyCounters: { a_total: 3 } };
  assert.deepEqual(addedWindows([first, second]), { proxyCounters: { a_total: 5, b_total: 1.5 } });
  assert.deepEqual(addedWindows([first, { proxyCountersError: 'http://127.0.0.1:1/metrics: timed out' }]), { proxyCountersError: 'http://127.0.0.1:1/metrics: timed out' });
  assert.deepEqual(addedWindows([first, {}]), {});
  assert.deepEqual(addedWindows([]), {});
});

test('counters whose first reading was answered more than a tenth into the window do not stand for it', () => {
  assert.equal(lateCountersReason(40, 10_000), undefined, 'a scrape answered 40 ms in');
  assert.equal(lateCountersReason(1000, 10_000), undefined, 'exactly a tenth');
  assert.match(lateCountersReason(10_969, 10_000) ?? '', /^the proxy answered the scrape before the window 10969 ms into the 10000 ms window/, 'answered after the window: all deltas would be 0');
  assert.deepEqual(countersOfWindow(lateCountersReason(2585, 5000) ?? new Map([['a', 1]]), new Map([['a', 2]])), { proxyCountersError: lateCountersReason(2585, 5000) });
});
