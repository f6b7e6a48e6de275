/**
 * The Node/V8 flags a point gives the proxy's `node` (extra key `node-flags`, e.g.
 * `"--max-semi-space-size=64 --single-threaded-gc"`; `none` or empty for none): a lab knob to
 * measure the runtime's own settings (the young generation's size, GC helper threads on a
 * one-CPU budget) side by side. The pools' workers inherit them: `cluster.fork` passes the
 * supervisor's execArgv on, and V8's flags are the whole process's, worker threads included.
 * The config parser rejects bad ones (experiment-config.ts), the launcher applies them
 * (proxy-under-test.ts).
 */

/** Flags that would run other code in the proxy's process than the proxy's own. */
const RUNS_CODE = /^--(eval|print|require|import|loader|experimental-loader|input-type)(=|$)/;

export function parseNodeFlags(text: string | undefined): { readonly flags: readonly string[] } | { readonly problem: string } {
  const trimmed = text?.trim() ?? '';
  if (trimmed === '' || trimmed === 'none') return { flags: [] };
  const flags = trimmed.split(/\s+/);
  const bad = flags.find((flag) => !/^--[a-z0-9][a-z0-9_-]*(=\S+)?$/i.test(flag));
  if (bad !== undefined) return { problem: `"${bad}" is not a --flag or --flag=value` };
  const code = flags.find((flag) => RUNS_CODE.test(flag));
  if (code !== undefined) return { problem: `"${code}" would run other code than the proxy; give runtime settings only` };
  return { flags };
}
