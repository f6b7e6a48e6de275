import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseNodeFlags } from './proxy-node-flags.js';

test('node-flags: split into flags; none, empty or absent is no flag', () => {
  assert.deepEqual(parseNodeFlags('--max-semi-space-size=64  --single-threaded-gc'), { flags: ['--max-semi-space-size=64', '--single-threaded-gc'] });
  assert.deepEqual(parseNodeFlags('none'), { flags: [] });
  assert.deepEqual(parseNodeFlags(''), { flags: [] });
  assert.deepEqual(parseNodeFlags(undefined), { flags: [] });
});

test('node-flags: anything but --flag or --flag=value is a problem, and so is a flag that runs other code', () => {
  assert.match((parseNodeFlags('--max-semi-space-size=64 evil.js') as { problem: string }).problem, /"evil.js" is not a --flag/);
  assert.match((parseNodeFlags('-e') as { problem: string }).problem, /not a --flag/);
  assert.match((parseNodeFlags('--eval=process.exit()') as { problem: string }).problem, /would run other code/);
  assert.match((parseNodeFlags('--require=./x.js') as { problem: string }).problem, /would run other code/);
});
