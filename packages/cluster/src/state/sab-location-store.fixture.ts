/** A thread that puts bindings into a shared SabLocationStore (sab-location-store.test.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { SabLocationStore, type SabLocationStoreShared } from './sab-location-store.js';

const { shared, thread, count } = workerData as { shared: SabLocationStoreShared; thread: number; count: number };
const store = SabLocationStore.attach(shared);
const source = { protocol: 'udp' as const, address: '127.0.0.1', port: 5060 };
for (let i = 0; i < count; i++) {
  await store.put({ aor: `sip:t${thread}-${i}@example.com`, contact: `sip:c${i}@127.0.0.1`, expiresAt: Date.now() + 60_000, q: 1, callId: 'x', cseq: i, source });
  // Every thread also adds contacts to one AOR and reads it back while the others write.
  if (i % 10 === 0) {
    await store.put({ aor: 'sip:shared@example.com', contact: `sip:t${thread}-${i}@127.0.0.1`, expiresAt: Date.now() + 60_000, q: 0.5, callId: 'y', cseq: i, source });
    await store.lookup('sip:shared@example.com', Date.now());
  }
}
parentPort?.postMessage('done');
