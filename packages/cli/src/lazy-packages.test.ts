import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';

test('only lazy-packages loads the lab and the bench: no other module of the command imports them (serve would carry them)', () => {
  const here = new URL('.', import.meta.url);
  const importers = readdirSync(here)
    .filter((name) => name.endsWith('.js') && !name.endsWith('.test.js'))
    .filter((name) => /['"]@switchboard\/(lab|bench)['"]/.test(readFileSync(new URL(name, here), 'utf8')));
  assert.deepEqual(importers, ['lazy-packages.js'], 'type-only imports compile away; a value import from another module loads the package with the command table');
});
