import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRedisTarget, redactRedisUrl } from './redis-url.js';

test('redis:// and rediss:// are one server, passed on as written', () => {
  assert.deepEqual(parseRedisTarget('redis://127.0.0.1:6379'), { kind: 'single', url: 'redis://127.0.0.1:6379' });
  assert.deepEqual(parseRedisTarget('rediss://user:pw@redis.example.com:6380/2'), { kind: 'single', url: 'rediss://user:pw@redis.example.com:6380/2' });
});

test('redis+cluster:// lists seed nodes; credentials and TLS apply to every node', () => {
  assert.deepEqual(parseRedisTarget('redis+cluster://10.0.0.1:7000,10.0.0.2:7001'), {
    kind: 'cluster', nodes: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7001 }], username: undefined, password: undefined, tls: false,
  });
  assert.deepEqual(parseRedisTarget('rediss+cluster://app:p%40ss@redis-a.example.com:7000,[::1]:7001/'), {
    kind: 'cluster', nodes: [{ host: 'redis-a.example.com', port: 7000 }, { host: '::1', port: 7001 }], username: 'app', password: 'p@ss', tls: true,
  });
  assert.deepEqual(parseRedisTarget('redis+cluster://:secret@127.0.0.1:7000'), { kind: 'cluster', nodes: [{ host: '127.0.0.1', port: 7000 }], username: undefined, password: 'secret', tls: false });
});

test('anything else is refused with a reason', () => {
  assert.throws(() => parseRedisTarget('http://127.0.0.1:6379'), /must be a redis:\/\/, rediss:\/\/, redis\+cluster:\/\/ or rediss\+cluster:\/\/ URL/);
  assert.throws(() => parseRedisTarget('redis+cluster://127.0.0.1'), /"127\.0\.0\.1" is not HOST:PORT/);
  assert.throws(() => parseRedisTarget('redis+cluster://127.0.0.1:7000,'), /"" is not HOST:PORT/);
  assert.throws(() => parseRedisTarget('redis+cluster://127.0.0.1:70000'), /is not HOST:PORT/);
});

test('passwords are hidden in messages', () => {
  assert.equal(redactRedisUrl('redis+cluster://app:secret@10.0.0.1:7000,10.0.0.2:7001'), 'redis+cluster://app:***@10.0.0.1:7000,10.0.0.2:7001');
  assert.equal(redactRedisUrl('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379');
});
