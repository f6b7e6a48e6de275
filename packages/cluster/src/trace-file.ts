import { createWriteStream, type WriteStream } from 'node:fs';
import type { MessageTrace, TraceSink } from '@switchboard/core';

/**
 * The sampled message trace of `--timing-trace FILE`: one JSON line per traced message (see
 * MessageTrace). Writes are buffered by the stream; a write error stops the trace, never the proxy.
 */
export class TraceFile {
  readonly #stream: WriteStream;
  #failed = false;

  constructor(path: string) {
    this.#stream = createWriteStream(path, { flags: 'w' });
    this.#stream.on('error', () => {
      this.#failed = true;
    });
  }

  readonly sink: TraceSink = (trace: MessageTrace) => {
    if (!this.#failed) this.#stream.write(`${JSON.stringify(trace)}\n`);
  };

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#failed) resolve();
      else this.#stream.end(() => resolve());
    });
  }
}
