import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FdRequestGate } from './fd-request-gate.js';

const counters = (): { fdRequestWaitQueued: number; fdRequestWaitExpired: number } => ({ fdRequestWaitQueued: 0, fdRequestWaitExpired: 0 });

test('open, work runs at once; while a request is outstanding nothing runs, and after its answer all of it runs in arrival order', () => {
  const count = counters();
  const gate = new FdRequestGate({ counters: count });
  const ran: string[] = [];
  gate.run(() => ran.push('before'));
  assert.deepEqual(ran, ['before']);
  gate.hold(1);
  for (const name of ['a', 'b', 'c']) gate.run(() => ran.push(name));
  assert.deepEqual(ran, ['before'], 'blocked while the request is outstanding');
  assert.equal(gate.waiting, 3);
  gate.release(1);
  assert.deepEqual(ran, ['before', 'a', 'b', 'c']);
  assert.equal(count.fdRequestWaitQueued, 3);
  gate.run(() => ran.push('after'));
  assert.deepEqual(ran.at(-1), 'after');
});

test('work that makes a new request while the queue drains stops the rest until that one is answered; order holds throughout', () => {
  const gate = new FdRequestGate({ counters: counters() });
  const ran: string[] = [];
  gate.hold(1);
  gate.run(() => {
    ran.push('a');
    gate.hold(2);
  });
  gate.run(() => ran.push('b'));
  gate.release(1);
  assert.deepEqual(ran, ['a'], "b waits for a's request");
  gate.run(() => ran.push('c'));
  gate.release(2);
  assert.deepEqual(ran, ['a', 'b', 'c']);
});

test('two requests outstanding: the gate opens when both are answered; an unknown or repeated answer changes nothing', () => {
  const gate = new FdRequestGate({ counters: counters() });
  const ran: string[] = [];
  gate.hold(1);
  gate.hold(2);
  gate.run(() => ran.push('x'));
  gate.release(1);
  gate.release(1);
  gate.release(9);
  assert.deepEqual(ran, []);
  assert.ok(gate.closed);
  gate.release(2);
  assert.deepEqual(ran, ['x']);
  assert.ok(!gate.closed);
});

test('work run while the queue drains (a handed-over message entering the core) runs at once, in its place', () => {
  const gate = new FdRequestGate({ counters: counters() });
  const ran: string[] = [];
  gate.hold(1);
  gate.run(() => {
    ran.push('outer');
    gate.run(() => ran.push('inner'));
  });
  gate.run(() => ran.push('next'));
  gate.release(1);
  assert.deepEqual(ran, ['outer', 'inner', 'next']);
});

test('work that throws does not stop the rest of the queue', () => {
  const gate = new FdRequestGate({ counters: counters() });
  const ran: string[] = [];
  gate.hold(1);
  gate.run(() => {
    throw new Error('a handler bug');
  });
  gate.run(() => ran.push('after'));
  gate.release(1);
  assert.deepEqual(ran, ['after']);
});

test('a request never answered is given up after maxWaitMs (counted), and what waited runs', async () => {
  const count = counters();
  const gate = new FdRequestGate({ counters: count, maxWaitMs: 20 });
  const ran: string[] = [];
  gate.hold(1);
  gate.run(() => ran.push('late'));
  const deadline = Date.now() + 5000;
  while (ran.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.deepEqual(ran, ['late']);
  assert.equal(count.fdRequestWaitExpired, 1);
  gate.release(1);
  assert.equal(count.fdRequestWaitExpired, 1, 'a late answer is ignored');
});
