import assert from 'node:assert/strict';
import { proxyCounter } from '../interop/harness.js';
import { registerMany } from './test-phones.js';
import { waitFor } from './wait-for.js';

/**
 * Checks a proxy under `--max-connections cap` (over TCP on `port`): `cap` phones register and
 * are held, `over` more are refused and counted by `counter`, and once ten held ones close a new
 * one gets in. Closes every phone it opened.
 */
export async function checkConnectionCap(port: number, metricsPort: number, counter: string, cap: number, over: number): Promise<void> {
  const first = await registerMany(port, cap, 'cap', ['127.0.0.1'], cap);
  const phones = first.phones;
  try {
    assert.equal(phones.length, cap, `${first.refused} of ${cap} refused under a cap of ${cap}`);
    const refused = await registerMany(port, over, 'over');
    assert.equal(refused.phones.length, 0, 'none past the cap');
    assert.equal(await proxyCounter(metricsPort, counter), over);
    for (const phone of phones.splice(0, 10)) phone.close();
    await waitFor(async () => {
      const room = await registerMany(port, 1, 'room');
      phones.push(...room.phones);
      return room.phones.length === 1;
    }, 'room for a new connection', 10_000);
  } finally {
    for (const phone of phones) phone.close();
  }
}
