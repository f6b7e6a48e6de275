import { performance } from 'node:perf_hooks';
import type { Binding, LocationStore } from '@switchboard/core';
import type { LatencyHistogram } from '../worker-stats.js';

/** A LocationStore that records how long each call takes (the metrics' state-store latency). */
export class TimedLocationStore implements LocationStore {
  readonly #inner: LocationStore;
  readonly #latency: LatencyHistogram;

  constructor(inner: LocationStore, latency: LatencyHistogram) {
    this.#inner = inner;
    this.#latency = latency;
  }

  async #timed<T>(call: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await call();
    } finally {
      this.#latency.observe(performance.now() - started);
    }
  }

  lookup(aor: string, now: number): Promise<Binding[]> {
    return this.#timed(() => this.#inner.lookup(aor, now));
  }

  put(binding: Binding): Promise<void> {
    return this.#timed(() => this.#inner.put(binding));
  }

  remove(aor: string, contact: string): Promise<void> {
    return this.#timed(() => this.#inner.remove(aor, contact));
  }

  removeAll(aor: string): Promise<void> {
    return this.#timed(() => this.#inner.removeAll(aor));
  }

  size(now: number): Promise<number> {
    return this.#inner.size(now);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
