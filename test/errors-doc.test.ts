import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as bench from '@switchboard/bench';
import * as cli from '@switchboard/cli';
import * as cluster from '@switchboard/cluster';
import * as core from '@switchboard/core';
import * as lab from '@switchboard/lab';
import * as sip from '@switchboard/sip';
import { CodedError, SIP_ERROR_CODES } from '@switchboard/sip';

const documented = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

/** Every error class the packages export (as fastify's errors test walks its constructors), with its registry. */
const errorClasses = [...new Set([sip, core, cluster, bench, lab, cli].flatMap((module) => Object.values(module)))].filter(
  (value): value is typeof CodedError => typeof value === 'function' && value.prototype instanceof CodedError,
);
const raised = [...new Set(errorClasses.flatMap((errorClass) => Object.keys(errorClass.codes)))];

test('every exported error class is a CodedError with a registry of its own', () => {
  const names = errorClasses.map((errorClass) => errorClass.name).sort();
  for (const expected of ['AuthConfigError', 'BenchError', 'ExperimentError', 'ReportError', 'SipError', 'StateStoreError', 'SwitchboardError']) assert.ok(names.includes(expected), `${expected} is exported and extends CodedError`);
  for (const errorClass of errorClasses) assert.ok(Object.keys(errorClass.codes).length > 0, `${errorClass.name} has no codes`);
});

test('every code of every registry is listed in docs/errors.md', () => {
  const missing = raised.filter((code) => !documented.includes(`\`${code}\``));
  assert.deepEqual(missing, [], `add these codes to docs/errors.md: ${missing.join(', ')}`);
});

test('docs/errors.md lists no code that no registry holds', () => {
  const listed = [...documented.matchAll(/`(ERR_[A-Z0-9_]+)`/g)].map((match) => match[1]);
  const stale = listed.filter((code) => code !== undefined && !raised.includes(code));
  assert.deepEqual(stale, [], `remove these codes from docs/errors.md: ${stale.join(', ')}`);
});

test('a coded error keeps its code, class name and plain form', () => {
  for (const errorClass of errorClasses) {
    const code = Object.keys(errorClass.codes)[0] as string;
    const error = new (errorClass as unknown as new (code: string, message: string) => CodedError)(code, 'what went wrong');
    assert.equal(error.code, code);
    assert.equal(error.name, errorClass.name);
    assert.equal(JSON.parse(JSON.stringify(error)).code, code);
  }
});

test('SIP errors document the status a server answers with', () => {
  for (const [code, spec] of Object.entries(SIP_ERROR_CODES)) {
    assert.ok(documented.includes(`| \`${code}\` | ${spec.status} ${spec.reason} |`), code);
  }
});
