import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { internalErrorRecord } from '@switchboard/cluster';
import { logModelEvent } from './model-event-log.js';

function capture(): { log: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, lines };
}

test('a worker\'s internal error is logged at error level with its code, stack and the reports left out before it', () => {
  const { log, lines } = capture();
  const bug = Object.assign(new TypeError('a bug'), { code: 'ERR_X' });
  logModelEvent(log, { kind: 'internal-error', worker: 1, error: internalErrorRecord(bug, 3) });
  assert.equal(lines.length, 1);
  const line = lines[0] as { level: number; msg: string; worker: number; code: string; error: { name: string; message: string; stack: string }; suppressedSinceLast: number };
  assert.equal(line.level, 50);
  assert.equal(line.msg, 'internal error');
  assert.deepEqual([line.worker, line.code, line.error.name, line.error.message, line.suppressedSinceLast], [1, 'ERR_X', 'TypeError', 'a bug', 3]);
  assert.match(line.error.stack, /model-event-log\.test/);
});

test('other events keep their levels: a start at debug, an expected exit at info, an unexpected one at warn', () => {
  const { log, lines } = capture();
  logModelEvent(log, { kind: 'worker-started', worker: 0, pid: 5 });
  logModelEvent(log, { kind: 'thread-exited', worker: 0, code: 0, expected: true });
  logModelEvent(log, { kind: 'thread-exited', worker: 0, code: 1, expected: false });
  assert.deepEqual(lines.map((line) => line.level), [20, 30, 40]);
});
