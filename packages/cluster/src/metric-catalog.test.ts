import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { newProxyCounters, newTransportCounters } from '@switchboard/core';
import { COUNTER_METRICS, counterMetric, OTHER_METRICS, renderMetricsDoc } from './metric-catalog.js';
import { newModelCounters } from './worker-stats.js';

test('docs/metrics.md is what the catalog generates (run `npm run docs:metrics` after changing a metric)', async () => {
  const doc = await readFile(fileURLToPath(new URL('../../../docs/metrics.md', import.meta.url)), 'utf8');
  assert.equal(doc, renderMetricsDoc());
});

test('the catalog holds every counter the workers keep, and nothing else', () => {
  const kept = [...Object.keys(newProxyCounters()), ...Object.keys(newTransportCounters()), ...Object.keys(newModelCounters())].sort();
  assert.deepEqual(COUNTER_METRICS.map((metric) => metric.key).sort(), kept);
  const names = [...COUNTER_METRICS.map((metric) => metric.name), ...Object.values(OTHER_METRICS).map((metric) => metric.name)];
  assert.equal(new Set(names).size, names.length, 'metric names are unique');
  for (const name of names) assert.match(name, /^switchboard_[a-z0-9_]+$/);
});

test('counter names are derived once: fdRequests is switchboard_fd_requests_total', () => {
  assert.equal(counterMetric('fdRequests'), 'switchboard_fd_requests_total');
  assert.equal(counterMetric('authStaleNonces'), 'switchboard_auth_stale_nonces_total');
});
