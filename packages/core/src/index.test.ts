import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { PACKAGE_NAME } from './index.js';

test('the package names itself as its package.json does', () => {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name: string };
  assert.equal(PACKAGE_NAME, manifest.name);
});
