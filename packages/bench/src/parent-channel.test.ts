import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

test('a child that keeps sending after its parent disconnected exits quietly, never on an EPIPE error event', async () => {
  // Each round: the parent closes the channel while the child's timer is writing, so some write
  // meets the closed channel before the child has read the disconnect.
  for (let round = 0; round < 3; round++) {
    const child = fork(fileURLToPath(new URL('./parent-channel.fixture.js', import.meta.url)), { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await new Promise<void>((resolve) => child.once('message', () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, 20));
    child.disconnect();
    const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
    assert.equal(code, 0, `the child exited with ${code}: ${stderr.slice(0, 400)}`);
    assert.doesNotMatch(stderr, /EPIPE|Unhandled/);
  }
});
