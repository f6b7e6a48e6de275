import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { SIP_ERROR_CODES } from '@switchboard/sip';
import { SWITCHBOARD_ERROR_CODES } from '@switchboard/cli';

const documented = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const raised = [...Object.keys(SIP_ERROR_CODES), ...Object.keys(SWITCHBOARD_ERROR_CODES)];

test('every error code is listed in docs/errors.md', () => {
  const missing = raised.filter((code) => !documented.includes(`\`${code}\``));
  assert.deepEqual(missing, [], `add these codes to docs/errors.md: ${missing.join(', ')}`);
});

test('docs/errors.md lists no code that is not raised', () => {
  const listed = [...documented.matchAll(/`(ERR_[A-Z0-9_]+)`/g)].map((match) => match[1]);
  const stale = listed.filter((code) => code !== undefined && !raised.includes(code));
  assert.deepEqual(stale, [], `remove these codes from docs/errors.md: ${stale.join(', ')}`);
});

test('SIP errors document the status a server answers with', () => {
  for (const [code, spec] of Object.entries(SIP_ERROR_CODES)) {
    assert.ok(documented.includes(`| \`${code}\` | ${spec.status} ${spec.reason} |`), code);
  }
});
