import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { addressOf, generatorSourcePorts, heldSourcePort, localPortsPerAddress, processShareOfPorts, sourceAddress, spreadConnections } from './source-addresses.js';

test('source addresses start at 127.0.0.2, skip .0 and .255 and never repeat', () => {
  assert.equal(sourceAddress(0), '127.0.0.2');
  assert.equal(sourceAddress(1), '127.0.0.3');
  assert.equal(sourceAddress(252), '127.0.0.254');
  assert.equal(sourceAddress(253), '127.0.1.1');
  const many = Array.from({ length: 1000 }, (_, index) => sourceAddress(index));
  assert.equal(new Set(many).size, 1000);
  for (const address of many) {
    const last = Number(address.split('.')[3]);
    assert.ok(last >= 1 && last <= 254 && address !== '127.0.0.1', address);
  }
});

test('connections past one address\'s ports take more addresses, past one process\'s files more processes', () => {
  const small = spreadConnections(2000, { fileLimit: 20_000, portsPerAddress: 28_232, minAddresses: 2 });
  assert.deepEqual(small.addresses, ['127.0.0.2', '127.0.0.3']);
  assert.deepEqual(small.perProcess, [2000]);

  const large = spreadConnections(100_000, { fileLimit: 20_000, portsPerAddress: 28_232 });
  assert.equal(large.perProcess.length, 6, '100,000 over processes of at most 19,744 files');
  assert.equal(large.perProcess.reduce((sum, count) => sum + count, 0), 100_000);
  assert.ok(Math.max(...large.perProcess) - Math.min(...large.perProcess) <= 1, 'shares differ by one at most');
  assert.equal(large.addresses.length, Math.ceil(100_000 / Math.floor(28_232 * 0.85)));

  const churn = spreadConnections(1000, { fileLimit: 20_000, portsPerAddress: 28_232, socketsOverRun: 300_000 });
  assert.equal(churn.addresses.length, 13, 'connect-per-REGISTER sockets linger in TIME_WAIT: their ports count');
});

test('round robin: neighbouring connections use different addresses, each address an equal share', () => {
  const addresses = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
  const counts = new Map<string, number>();
  for (let index = 0; index < 3000; index++) counts.set(addressOf(index, addresses), (counts.get(addressOf(index, addresses)) ?? 0) + 1);
  assert.deepEqual([...counts.values()], [1000, 1000, 1000]);
  assert.notEqual(addressOf(0, addresses), addressOf(1, addresses));
});

test('the local port range is read from the kernel', () => {
  const ports = localPortsPerAddress();
  assert.ok(ports > 1000 && ports < 65536, String(ports));
});

test('explicit source ports: below the ephemeral range; one address and port per held connection over every process, wherever the indices start; a share per process', () => {
  const ports = generatorSourcePorts();
  if (ports !== undefined) {
    assert.equal(ports.first, 10_000);
    const ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    assert.ok(ports.count >= 1000, String(ports.count));
    assert.equal(ports.first + ports.count, ephemeralLow, 'the block ends where the ephemeral range begins');
  }
  const block = { first: 10_000, count: 22_768 };
  const addresses = ['127.0.0.2', '127.0.0.3'];
  for (const start of [0, 30_000]) {
    const pairs = new Set<string>();
    for (let index = start; index < start + 38_000; index++) {
      const port = heldSourcePort(index, addresses.length, block) as number;
      assert.ok(port >= 10_000 && port < 32_768, String(port));
      pairs.add(`${addressOf(index, addresses)}:${port}`);
    }
    assert.equal(pairs.size, 38_000, `no two connections share an address and port (indices from ${start})`);
  }
  assert.equal(heldSourcePort(0, 2, block), 10_000);
  assert.equal(heldSourcePort(1, 2, block), 10_000);
  assert.equal(heldSourcePort(2, 2, block), 10_001);
  assert.equal(heldSourcePort(2 * 22_768, 2, block), 10_000, 'the block is taken in turn');
  assert.equal(heldSourcePort(5, 2, undefined), undefined);
  const shares = [0, 1, 2].map((index) => processShareOfPorts(block, index, 3));
  assert.deepEqual(shares, [{ first: 10_000, count: 7589 }, { first: 17_589, count: 7589 }, { first: 25_178, count: 7589 }]);
  assert.ok((shares[2] as { first: number; count: number }).first + 7589 <= 32_768, 'the shares do not overlap and stay in the block');
});
