import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { treeCpuTimes } from './process-cpu.js';

test('a child that has used 300 ms of CPU shows it, and its parent tree includes it', async () => {
  // The child spins until it has used 300 ms of user CPU (not of wall time), then says so and waits.
  const script = "while (process.cpuUsage().user < 300000); process.stdout.write('spent\\n'); setTimeout(() => {}, 30000)";
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    await once(child.stdout, 'data');
    const own = await treeCpuTimes(child.pid as number);
    const tree = await treeCpuTimes(process.pid);
    assert.ok(own.userMs >= 250, `child user time ${own.userMs} ms after spending 300 ms`);
    assert.ok(tree.userMs >= own.userMs, 'the parent tree includes the child');
    assert.ok(own.systemMs >= 0);
  } finally {
    child.kill('SIGKILL');
  }
});
