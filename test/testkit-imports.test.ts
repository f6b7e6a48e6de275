import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The proxy's packages: their running code never loads a test fixture. (The lab starts the same peers as tests do: it may.) */
const PROXY_PACKAGES = ['sip', 'core', 'cluster', 'cli', 'bench'];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sources(path);
    return entry.endsWith('.ts') && !entry.endsWith('.test.ts') && !entry.endsWith('.fixture.ts') ? [path] : [];
  });
}

test('the proxy\'s packages import @switchboard/testkit from their tests only, and list it as a dev dependency at most', () => {
  for (const name of PROXY_PACKAGES) {
    const importing = sources(join(ROOT, 'packages', name, 'src')).filter((path) => readFileSync(path, 'utf8').includes('@switchboard/testkit'));
    assert.deepEqual(importing, [], `${name} imports testkit outside its tests`);
    const manifest = JSON.parse(readFileSync(join(ROOT, 'packages', name, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    assert.equal(manifest.dependencies?.['@switchboard/testkit'], undefined, `${name} lists testkit as a dependency`);
  }
});
