/** @switchboard/cluster: the concurrency models and the state stores they share. */
export const PACKAGE_NAME = '@switchboard/cluster';
export { RedisLocationStore } from './state/redis-location-store.js';
