/**
 * Waits until `condition` holds, asking every `everyMs`; throws `timed out waiting for <what>`
 * after `ms`. The model tests' one polling loop.
 */
export async function waitFor(condition: () => Promise<boolean> | boolean, what: string, ms: number, everyMs = 50): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
