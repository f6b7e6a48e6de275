import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { serveCommand } from './serve-command.js';
import { renderConfigurationDoc, SERVE_OPTIONS } from './serve-schema.js';

test('docs/configuration.md is what the serve schema generates (run `npm run docs:configuration` after changing an option)', async () => {
  const doc = await readFile(fileURLToPath(new URL('../../../docs/configuration.md', import.meta.url)), 'utf8');
  assert.equal(doc, renderConfigurationDoc());
});

test('every schema key is a serve flag, once, and every serve flag but --config is in the schema', () => {
  const flags = serveCommand().options.map((option) => option.long?.slice(2));
  const keys = SERVE_OPTIONS.map((spec) => spec.key);
  assert.equal(new Set(keys).size, keys.length, 'keys are unique');
  assert.deepEqual(flags.filter((flag) => flag !== 'config').sort(), [...keys].sort());
});
