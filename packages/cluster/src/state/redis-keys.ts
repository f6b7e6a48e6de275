/**
 * The Redis key of every piece of shared state, in one place (docs/architecture.md, "Key layout",
 * lists them). Each key carries a hash tag, `{...}`: Redis Cluster places a key by the text
 * between its first `{` and the next `}`, so every key of one address-of-record, one nonce or one
 * source lands in one slot, and a Lua script or multi-key command over them (each takes one key
 * today) stays on one node. On one server the braces are only characters. A prefix must not hold
 * braces itself, or every key would share its tag, and so one slot.
 */
export const redisKeys = {
  /** The bindings of one address-of-record: a hash, field = contact, value = the binding as JSON. */
  location: (prefix: string, aor: string): string => `${prefix}loc:{${aor}}`,
  /** What SCAN matches to find every location key. */
  locationPattern: (prefix: string): string => `${prefix}loc:*`,
  /** The highest accepted nonce count of one nonce, expiring with the nonce. */
  nonceCount: (prefix: string, nonce: string): string => `${prefix}nc:{${nonce}}`,
  /** Failed attempts from one source (an IPv4 address or an IPv6 /64) in its window. */
  authFailures: (prefix: string, source: string): string => `${prefix}authfail:{${source}}`,
  /** The nonce secret every instance shares (one key; its slot is whatever its name hashes to). */
  nonceSecret: (prefix: string): string => `${prefix}auth:nonce-secret`,
} as const;

/** The default prefix of every key (`ProxySettings.redisPrefix`). */
export const DEFAULT_REDIS_PREFIX = 'switchboard:';
