#!/usr/bin/env node
// Writes docs/configuration.md from the serve option schema (packages/cli/src/serve-schema.ts).
// Run after `npm run build`; packages/cli's serve-schema test fails while the page is stale.
import { writeFileSync } from 'node:fs';
import { renderConfigurationDoc } from '@switchboard/cli';

writeFileSync(new URL('../docs/configuration.md', import.meta.url), renderConfigurationDoc());
console.log('docs/configuration.md written');
