import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConnectionIndex, remoteKeyOf } from './connection-index.js';

test('remoteKeyOf writes host:port with the host in lower case', () => {
  assert.equal(remoteKeyOf('EXAMPLE.com', 5060), 'example.com:5060');
  assert.equal(remoteKeyOf('::1', 5061), '::1:5061');
});

test('a connection is found by id and by protocol and peer address', () => {
  const index = new ConnectionIndex<string>();
  index.add(7, 'tcp', '10.0.0.1:5060', 'seven');
  assert.equal(index.size, 1);
  assert.equal(index.has(7), true);
  assert.equal(index.get(7)?.value, 'seven');
  assert.equal(index.get(7)?.protocol, 'tcp');
  assert.equal(index.lookup('tcp', '10.0.0.1:5060')?.id, 7);
  assert.equal(index.lookup('tls', '10.0.0.1:5060'), undefined, 'protocols do not share addresses');
  assert.equal(index.lookup('tcp', '10.0.0.1:5061'), undefined);
});

test('a TCP and a TLS connection to the same address are different entries', () => {
  const index = new ConnectionIndex();
  index.add(1, 'tcp', '10.0.0.1:5060', undefined);
  index.add(2, 'tls', '10.0.0.1:5060', undefined);
  assert.equal(index.lookup('tcp', '10.0.0.1:5060')?.id, 1);
  assert.equal(index.lookup('tls', '10.0.0.1:5060')?.id, 2);
  index.remove(1);
  assert.equal(index.lookup('tcp', '10.0.0.1:5060'), undefined);
  assert.equal(index.lookup('tls', '10.0.0.1:5060')?.id, 2);
});

test('aliases route to their connection, with its protocol, and removal cleans every one', () => {
  const index = new ConnectionIndex();
  index.add(1, 'tls', '10.0.0.1:40000', undefined);
  assert.equal(index.alias(1, 'phone.example.com:5061'), true);
  assert.equal(index.alias(1, '10.0.0.1:5061'), true);
  assert.equal(index.alias(1, '10.0.0.1:5061'), false, 'a key it already has');
  assert.equal(index.alias(1, '10.0.0.1:40000'), false, 'its own peer address');
  assert.equal(index.alias(99, 'x:1'), false, 'no such connection');
  assert.deepEqual([...(index.get(1)?.aliases ?? [])], ['phone.example.com:5061', '10.0.0.1:5061']);
  assert.equal(index.lookup('tls', 'phone.example.com:5061')?.id, 1);
  assert.equal(index.lookup('tcp', 'phone.example.com:5061'), undefined);
  const removed = index.remove(1);
  assert.equal(removed?.id, 1);
  assert.equal(index.size, 0);
  for (const key of ['10.0.0.1:40000', 'phone.example.com:5061', '10.0.0.1:5061']) assert.equal(index.lookup('tls', key), undefined, key);
  assert.equal(index.remove(1), undefined, 'removing twice is harmless');
});

test('an address names the connection filed last; removing the older one leaves it alone', () => {
  const index = new ConnectionIndex();
  index.add(1, 'tcp', '10.0.0.1:5060', undefined);
  index.add(2, 'tcp', '10.0.0.2:6000', undefined);
  index.alias(2, '10.0.0.1:5060');
  assert.equal(index.lookup('tcp', '10.0.0.1:5060')?.id, 2);
  index.remove(1);
  assert.equal(index.lookup('tcp', '10.0.0.1:5060')?.id, 2, 'the alias of 2 survives the removal of 1');
  index.add(3, 'tcp', '10.0.0.2:6000', undefined);
  index.remove(2);
  assert.equal(index.lookup('tcp', '10.0.0.2:6000')?.id, 3);
  assert.equal(index.lookup('tcp', '10.0.0.1:5060'), undefined, 'the alias went with 2');
});

test('unroute (the peer sent its FIN) drops every address but keeps the connection by id', () => {
  const index = new ConnectionIndex<string>();
  index.add(5, 'tcp', '10.0.0.1:40000', 'socket');
  index.alias(5, 'phone.example.com:5060');
  assert.equal(index.unroute(5)?.routed, false);
  assert.equal(index.lookup('tcp', '10.0.0.1:40000'), undefined);
  assert.equal(index.lookup('tcp', 'phone.example.com:5060'), undefined);
  assert.equal(index.get(5)?.value, 'socket', 'still there for responses by id');
  assert.equal(index.alias(5, 'other:1'), false, 'an unrouted connection takes no new alias');
  assert.equal(index.lookup('tcp', 'other:1'), undefined);
  assert.equal(index.unroute(6), undefined);
  index.remove(5);
  assert.equal(index.size, 0);
});

test('add with an id already filed replaces it and its addresses', () => {
  const index = new ConnectionIndex<number>();
  index.add(1, 'tcp', 'a:1', 1);
  index.alias(1, 'b:2');
  index.add(1, 'tls', 'c:3', 2);
  assert.equal(index.size, 1);
  assert.equal(index.lookup('tcp', 'a:1'), undefined);
  assert.equal(index.lookup('tcp', 'b:2'), undefined);
  assert.equal(index.lookup('tls', 'c:3')?.value, 2);
});

test('touch moves a connection to the end of the order and leaves its addresses alone', () => {
  const index = new ConnectionIndex();
  index.add(1, 'tcp', 'a:1', undefined);
  index.add(2, 'tcp', 'a:1', undefined);
  index.add(3, 'tcp', 'b:1', undefined);
  index.touch(1);
  index.touch(99);
  assert.deepEqual([...index.values()].map((entry) => entry.id), [2, 3, 1]);
  assert.equal(index.lookup('tcp', 'a:1')?.id, 2, 'the address still names the connection filed under it last');
});

test('values lists connections oldest first; clear empties both maps', () => {
  const index = new ConnectionIndex();
  index.add(3, 'tcp', 'a:1', undefined);
  index.add(1, 'tls', 'b:1', undefined);
  assert.deepEqual([...index.values()].map((entry) => entry.id), [3, 1]);
  index.clear();
  assert.equal(index.size, 0);
  assert.equal(index.lookup('tcp', 'a:1'), undefined);
});

test('many connections with random aliases and removals leave no address pointing at a removed id', () => {
  const index = new ConnectionIndex();
  let seed = 42;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const live = new Set<number>();
  for (let step = 0; step < 5000; step++) {
    const id = random(50) + 1;
    const action = random(4);
    if (action === 0) {
      index.add(id, random(2) === 0 ? 'tcp' : 'tls', `h${random(20)}:${random(3)}`, undefined);
      live.add(id);
    } else if (action === 1) index.alias(id, `h${random(20)}:${random(3)}`);
    else if (action === 2) {
      index.remove(id);
      live.delete(id);
    } else index.unroute(id);
  }
  for (let host = 0; host < 20; host++) {
    for (let port = 0; port < 3; port++) {
      for (const protocol of ['tcp', 'tls'] as const) {
        const found = index.lookup(protocol, `h${host}:${port}`);
        if (found === undefined) continue;
        assert.ok(live.has(found.id), `h${host}:${port} points at removed ${found.id}`);
        assert.equal(found.protocol, protocol);
        assert.equal(found.routed, true);
        assert.ok(found.remoteKey === `h${host}:${port}` || found.aliases.has(`h${host}:${port}`));
      }
    }
  }
  assert.equal(index.size, live.size);
});
