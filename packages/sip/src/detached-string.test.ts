import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { detachedString } from './detached-string.js';

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

test('detachedString: same characters, whatever they are', () => {
  for (const text of ['', 'z9hG4bK-1|127.0.0.1:5060|INVITE', 'caf\u00e9 \u{1f600}', 'lone \ud800 surrogate', '\u00ff\u0080 latin1']) {
    assert.equal(detachedString(text), text);
  }
});

test('detachedString: a key cut from a large string does not keep that string alive', () => {
  const keep = (detach: boolean): number => {
    collect();
    const before = process.memoryUsage().heapUsed;
    const keys: string[] = [];
    for (let i = 0; i < 20; i++) {
      // One megabyte-long "header section" per key, of which the key keeps 40 characters.
      const section = `${i};branch=z9hG4bK-${'b'.repeat(30)}${'x'.repeat(1 << 20)}`;
      const key = `${section.slice(section.indexOf('z9'), section.indexOf('z9') + 40)}|INVITE`;
      keys.push(detach ? detachedString(key) : key);
    }
    collect();
    const held = process.memoryUsage().heapUsed - before;
    assert.equal(keys.length, 20);
    return held;
  };
  // 20 sections of 1 MiB: held in full by the plain keys (the test's premise), not by the detached ones.
  assert.ok(keep(false) > 10 * (1 << 20), 'plain keys hold their sections (V8 slices)');
  assert.ok(keep(true) < 2 * (1 << 20), 'detached keys hold only themselves');
});
