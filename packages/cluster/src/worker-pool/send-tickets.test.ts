import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SendTickets } from './send-tickets.js';

test('a failure reaches its send once; tickets are forgotten after two rotations', () => {
  const tickets = new SendTickets(60_000);
  const heard: string[] = [];
  const a = tickets.open((error) => heard.push(`a: ${error.message}`));
  const b = tickets.open((error) => heard.push(`b: ${error.message}`));
  assert.notEqual(a, 0);
  assert.notEqual(a, b);
  tickets.fail(a, new Error('refused'));
  tickets.fail(a, new Error('again'));
  assert.deepEqual(heard, ['a: refused']);
  tickets.rotate();
  tickets.fail(b, new Error('late'));
  assert.deepEqual(heard, ['a: refused', 'b: late'], 'one rotation old: still heard');
  const c = tickets.open(() => heard.push('c'));
  tickets.rotate();
  tickets.rotate();
  tickets.fail(c, new Error('too late'));
  assert.equal(heard.length, 2, 'two rotations old: forgotten');
  assert.equal(tickets.size, 0);
  tickets.fail(12345, new Error('unknown'));
  tickets.close();
});
