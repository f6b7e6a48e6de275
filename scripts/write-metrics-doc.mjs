#!/usr/bin/env node
// Writes docs/metrics.md from the metric catalog (packages/cluster/src/metric-catalog.ts).
// Run after `npm run build`; packages/cluster's metric-catalog test fails while the page is stale.
import { writeFileSync } from 'node:fs';
import { renderMetricsDoc } from '@switchboard/cluster';

writeFileSync(new URL('../docs/metrics.md', import.meta.url), renderMetricsDoc());
console.log('docs/metrics.md written');
