import { MemoryLocationStore, type LocationStore } from '@switchboard/core';
import type { ProxySettings } from '../proxy-settings.js';
import { RedisLocationStore } from './redis-location-store.js';
import { SabLocationStore, type SabLocationStoreShared } from './sab-location-store.js';

/**
 * The location store a worker uses: its own Map (`local`), the SharedArrayBuffer table its
 * parent allocated (`sab`, `shared` given), or Redis.
 */
export async function openLocationStore(settings: ProxySettings, shared?: SabLocationStoreShared): Promise<LocationStore> {
  switch (settings.state) {
    case 'local':
      return new MemoryLocationStore();
    case 'sab':
      return shared === undefined ? SabLocationStore.create(settings.sabBindings === undefined ? {} : { capacity: settings.sabBindings }) : SabLocationStore.attach(shared);
    case 'redis':
      if (settings.redisUrl === undefined) throw new Error('--state redis needs --redis-url');
      return RedisLocationStore.connect(settings.redisUrl, { prefix: settings.redisPrefix });
  }
}
