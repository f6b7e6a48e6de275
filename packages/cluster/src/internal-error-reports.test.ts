import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { test } from 'node:test';
import { INTERNAL_ERROR_CHANNEL, InternalErrorReports, internalErrorRecord, type InternalErrorRecord } from './internal-error-reports.js';

test('a bug published on the internal-error channel is reported with its name, code, message and stack, until unsubscribed', () => {
  const reported: InternalErrorRecord[] = [];
  const reports = new InternalErrorReports((record) => reported.push(record)).subscribe();
  const bug = Object.assign(new TypeError('cannot read properties of undefined'), { code: 'ERR_SOMETHING' });
  diagnostics.channel(INTERNAL_ERROR_CHANNEL).publish({ error: bug });
  reports.unsubscribe();
  diagnostics.channel(INTERNAL_ERROR_CHANNEL).publish({ error: bug });
  assert.equal(reported.length, 1);
  assert.deepEqual({ ...reported[0], stack: undefined }, { name: 'TypeError', code: 'ERR_SOMETHING', message: 'cannot read properties of undefined', stack: undefined, suppressed: 0 });
  assert.match(reported[0]?.stack ?? '', /internal-error-reports\.test/);
});

test('at most perSecond reports a second; the ones left out are counted into the next report', () => {
  let now = 10_000;
  const reported: InternalErrorRecord[] = [];
  const reports = new InternalErrorReports((record) => reported.push(record), { perSecond: 2, now: () => now });
  for (let i = 0; i < 5; i++) reports.take(new Error(`bug ${i}`));
  assert.deepEqual(reported.map((record) => [record.message, record.suppressed]), [['bug 0', 0], ['bug 1', 0]]);
  now += 1000;
  reports.take(new Error('bug 5'));
  assert.deepEqual(reported.at(-1) && [reported.at(-1)?.message, reported.at(-1)?.suppressed], ['bug 5', 3]);
});

test('a thrown non-error and a report that throws are taken without throwing', () => {
  const record = internalErrorRecord('a string');
  assert.deepEqual([record.name, record.code, record.message], ['Error', undefined, 'a string']);
  const reports = new InternalErrorReports(() => {
    throw new Error('channel closed');
  });
  assert.doesNotThrow(() => reports.take(new Error('bug')));
});
