import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { Command } from 'commander';
import { SwitchboardError } from './errors.js';
import { addSchemaOptions, checkConfigKeys, commandValues, readSchemaValues, renderOptionsReference, type OptionSpec } from './option-schema.js';

const SPECS = [
  { key: 'port-list', kind: 'list', default: ['a'], scope: 'One', doc: 'repeatable' },
  { key: 'timeout', kind: 'number', arg: 'seconds', default: 5, scope: 'One', doc: 'a positive number' },
  { key: 'count', kind: 'number', integer: true, max: 10, scope: 'One', doc: 'a whole number' },
  { key: 'verbose', kind: 'flag', default: false, scope: 'Two', doc: 'a flag' },
  { key: 'reuse', kind: 'toggle', default: true, scope: 'Two', doc: 'on or off' },
  { key: 'mode', kind: 'choice', choices: ['fast', 'slow'], default: 'fast', scope: 'Two', doc: 'a choice' },
  { key: 'cache', kind: 'optional-number', flagDefault: 8, integer: true, scope: 'Two', doc: 'optional size' },
  { key: 'names', kind: 'csv', default: ['x', 'y'], scope: 'Two', doc: 'comma list' },
  { key: 'file', kind: 'path', scope: 'Two', doc: 'a file' },
  { key: 'where', kind: 'host-port', scope: 'Two', doc: 'host and port' },
  { key: 'word', kind: 'text', scope: 'Two', doc: 'text', check: (word: string) => (word === 'bad' ? 'must not be bad' : undefined) },
] as const satisfies readonly OptionSpec[];

function parsed(argv: string[]): { flags: Record<string, unknown>; given: Set<string> } {
  const command = addSchemaOptions(new Command('t').exitOverride(), SPECS);
  command.parse(argv, { from: 'user' });
  return commandValues(command, SPECS);
}

function rejects(code: string, pattern: RegExp): (error: unknown) => boolean {
  return (error) => error instanceof SwitchboardError && error.code === code && pattern.test(error.message);
}

test('flags come from the table: kinds, repeats, optional values; defaults apply when nothing is given', () => {
  const { flags, given } = parsed(['--port-list', 'p', '--port-list', 'q', '--timeout', '2.5', '--verbose', '--reuse', 'off', '--cache', '--names', 'a, b', '--where', '[::1]:80']);
  assert.deepEqual([...given].sort(), ['cache', 'names', 'port-list', 'reuse', 'timeout', 'verbose', 'where']);
  const { values, isSet, source } = readSchemaValues(SPECS, flags, given, {}, undefined);
  assert.deepEqual(values['port-list'], ['p', 'q']);
  assert.equal(values.timeout, 2.5);
  assert.equal(values.verbose, true);
  assert.equal(values.reuse, false);
  assert.equal(values.cache, 8, 'the flag alone means its flagDefault');
  assert.deepEqual(values.names, ['a', 'b']);
  assert.deepEqual(values.where, { host: '::1', port: 80 });
  assert.equal(values.mode, 'fast', 'default');
  assert.equal(values.count, undefined, 'no default, not given');
  assert.equal(isSet('mode'), false);
  assert.equal(isSet('timeout'), true);
  assert.equal(source('timeout'), 'flag');
});

test('a config file fills what the command line did not type; flags typed win; paths are relative to the file', () => {
  const { flags, given } = parsed(['--timeout', '3']);
  const file = { timeout: 9, count: 4, file: 'users.json', reuse: true, mode: 'slow' };
  const { values, source } = readSchemaValues(SPECS, flags, given, file, '/etc/switchboard/proxy.yaml');
  assert.equal(values.timeout, 3);
  assert.equal(source('timeout'), 'flag');
  assert.equal(values.count, 4);
  assert.equal(source('count'), 'config');
  assert.equal(values.file, '/etc/switchboard/users.json');
  assert.equal(values.mode, 'slow');
  const fromFlag = readSchemaValues(SPECS, { file: 'users.json' }, new Set(['file']), {}, '/etc/switchboard/proxy.yaml');
  assert.equal(fromFlag.values.file, resolve('users.json'), 'a flag path is relative to the working directory');
});

test('bad values name the flag or the config key; unknown config keys are refused', () => {
  const read = (flags: Record<string, unknown>, file: Record<string, unknown> = {}) => () => readSchemaValues(SPECS, flags, new Set(Object.keys(flags)), file, undefined);
  assert.throws(read({ timeout: '0' }), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--timeout: must be a positive number/));
  assert.throws(read({ count: '2.5' }), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--count: must be a whole number/));
  assert.throws(read({ count: '11' }), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--count: must be at most 10/));
  assert.throws(read({}, { mode: 'medium' }), rejects('ERR_SWITCHBOARD_INVALID_CONFIG', /^config key "mode": must be one of fast, slow/));
  assert.throws(read({}, { reuse: 'maybe' }), rejects('ERR_SWITCHBOARD_INVALID_CONFIG', /^config key "reuse": must be on or off/));
  assert.throws(read({}, { verbose: 'yes' }), rejects('ERR_SWITCHBOARD_INVALID_CONFIG', /^config key "verbose": must be true or false/));
  assert.throws(read({ where: 'nowhere' }), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--where: "nowhere" is not HOST:PORT/));
  assert.throws(read({ names: 'a,,b' }), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--names:/));
  assert.throws(read({ word: 'bad' }), rejects('ERR_SWITCHBOARD_INVALID_FLAG', /^--word: must not be bad/));
  assert.throws(read({}, { 'port-list': [1, 2] }), rejects('ERR_SWITCHBOARD_INVALID_CONFIG', /^config key "port-list": must be a string or a list/));
  assert.throws(() => checkConfigKeys({ timeout: 1, tiemout: 2 }, SPECS), rejects('ERR_SWITCHBOARD_INVALID_CONFIG', /^config key "tiemout": unknown key/));
});

test('the reference page lists every key under its scope with its default', () => {
  const page = renderOptionsReference('Title', 'Intro.', SPECS);
  for (const spec of SPECS) assert.match(page, new RegExp(`\\| \`--${spec.key}\` \\|`));
  assert.ok(page.indexOf('## One') < page.indexOf('--timeout') && page.indexOf('--timeout') < page.indexOf('## Two'));
  assert.match(page, /\| `--timeout` \| seconds \| `5` \| a positive number \|/);
  assert.match(page, /\| `--reuse` \| `on` \/ `off` \| `on` \|/);
});
