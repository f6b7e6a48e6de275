import { DEFAULT_TIMERS } from '@switchboard/core';
import type { ProxySettings } from '../proxy-settings.js';

/**
 * Proxy settings for the pools' unit tests (tests of this package only): no listener, no domain,
 * default timers and idle limits, local state; `overrides` sets what a test is about.
 */
export function testSettings(overrides: Partial<ProxySettings> = {}): ProxySettings {
  return { listen: [], domains: [], stateless: false, idleTimeoutMs: 120_000, idleStrategy: 'heap', headerTimeoutMs: 10_000, timers: DEFAULT_TIMERS, state: 'local', ...overrides };
}
