import assert from 'node:assert/strict';
import { test } from 'node:test';
import { headerNameAt, headerNameFromWire } from './header-names.js';

test('headerNameAt reads a name in place as headerNameFromWire reads it cut out, first sight or not', () => {
  const names = ['Via', 'v', 'VIA', 'To', 'Tx', 't', 'Call-ID', 'call-id', 'i', 'Record-Route', 'Record-Routf', 'X-A', 'X-B', 'x-a', 'Content-Length', 'l', 'bad name', 'bad:', 'caf\u00e9', `X-${'y'.repeat(80)}`];
  for (let round = 0; round < 2; round++) {
    for (const name of names) {
      const line = `  ${name}: value`;
      assert.deepEqual(headerNameAt(line, 2, 2 + name.length), headerNameFromWire(name), name);
    }
  }
});

test('headerNameAt: a spelling that starts another one of the same length is not taken for it', () => {
  assert.equal(headerNameAt('From: a', 0, 4)?.name, 'from');
  assert.equal(headerNameAt('Frog: a', 0, 4)?.name, 'frog');
  assert.equal(headerNameAt('From: a', 0, 4)?.name, 'from');
  assert.equal(headerNameAt('Fro: a', 0, 3)?.name, 'fro');
});
