import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeepAliveSweeper, type KeptAliveLink } from './keep-alive.js';

class FakeLink implements KeptAliveLink {
  lastActivityAt = 0;
  pingSentAt: number | undefined;
  closed = false;
  pings = 0;
  destroyed = false;

  ping(): void {
    this.pings++;
  }

  destroy(): void {
    this.destroyed = true;
    this.closed = true;
  }
}

test('an idle link is pinged once per interval of silence, and a pong re-arms it', () => {
  let now = 0;
  const sweeper = new KeepAliveSweeper({ intervalMs: 1000, pongTimeoutMs: 5000, now: () => now });
  try {
    const link = new FakeLink();
    sweeper.watch(link);
    now = 999;
    sweeper.sweep();
    assert.equal(link.pings, 0);
    now = 1000;
    sweeper.sweep();
    sweeper.sweep();
    assert.equal(link.pings, 1, 'one ping while its pong is outstanding');
    sweeper.pong(link);
    link.lastActivityAt = 1010;
    now = 1500;
    sweeper.sweep();
    assert.equal(link.pings, 1, 'traffic resets the idle clock');
    now = 2010;
    sweeper.sweep();
    assert.equal(link.pings, 2);
    assert.deepEqual(sweeper.counts, { pingsSent: 2, pongsReceived: 1, pongsMissing: 0 });
  } finally {
    sweeper.close();
  }
});

test('a link whose pong is late is destroyed and counted; a closed link is forgotten', () => {
  let now = 0;
  const sweeper = new KeepAliveSweeper({ intervalMs: 1000, pongTimeoutMs: 5000, now: () => now });
  try {
    const silent = new FakeLink();
    const gone = new FakeLink();
    sweeper.watch(silent);
    sweeper.watch(gone);
    gone.closed = true;
    now = 1000;
    sweeper.sweep();
    assert.equal(gone.pings, 0);
    assert.equal(sweeper.watched, 1);
    now = 5999;
    sweeper.sweep();
    assert.equal(silent.destroyed, false);
    now = 6000;
    sweeper.sweep();
    assert.equal(silent.destroyed, true);
    assert.equal(sweeper.watched, 0);
    sweeper.pong(silent);
    assert.deepEqual(sweeper.counts, { pingsSent: 1, pongsReceived: 0, pongsMissing: 1 }, 'a pong after giving up is not counted');
  } finally {
    sweeper.close();
  }
});
