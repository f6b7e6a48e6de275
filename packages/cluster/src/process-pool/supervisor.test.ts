import assert from 'node:assert/strict';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { testSettings } from '../worker-pool/test-settings.fixture.js';
import { WorkerError } from '../worker-error.js';
import { ProcessPoolSupervisor, restartDelayMs, type SupervisorEvent } from './supervisor.js';

/** The supervisor against scripted workers (scripted-worker.fixture.ts): no proxy runs. */

const settings = testSettings();

async function startScripted(script: string, events: SupervisorEvent[] = [], fdCache = 0): Promise<ProcessPoolSupervisor> {
  process.env.SCRIPTED_WORKER = script;
  return ProcessPoolSupervisor.start({
    settings,
    workers: 2,
    fdCache,
    assign: 'round-robin',
    timeoutMs: 5000,
    workerExec: fileURLToPath(new URL('./scripted-worker.fixture.js', import.meta.url)),
    onEvent: (event) => events.push(event),
  });
}

async function supervisorCounters(supervisor: ProcessPoolSupervisor, until: (model: Record<string, number>) => boolean): Promise<Record<string, number>> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const own = (await supervisor.stats()).find((stats) => stats.worker === 'supervisor');
    const model = own?.model as unknown as Record<string, number>;
    if (until(model) || Date.now() > deadline) return model;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('a worker whose start fails: a plain error becomes ERR_SWITCHBOARD_WORKER_START, a coded one keeps its code', async () => {
  await assert.rejects(startScripted('fail-start-plain'), (error: Error & { code?: string }) => error instanceof WorkerError && error.code === 'ERR_SWITCHBOARD_WORKER_START' && /a bug at start/.test(error.message));
  await assert.rejects(startScripted('fail-start-coded'), (error: Error & { code?: string }) => !(error instanceof WorkerError) && error.code === 'ERR_SWITCHBOARD_STATE_UNAVAILABLE');
});

test('a connection whose peer sent its FIN is no longer handed to other workers by address or alias', async () => {
  const supervisor = await startScripted('ended');
  try {
    const model = await supervisorCounters(supervisor, (counters) => counters.fdRequests >= 2);
    assert.equal(model.fdRequests, 2, 'the second worker asked for the address and the alias');
    assert.equal(model.fdRequestsMissed, 2, 'neither the address nor the alias of an ended connection is found');
  } finally {
    await supervisor.close();
  }
});

test('malformed control messages from a worker are reported, never crash the supervisor', async () => {
  const events: SupervisorEvent[] = [];
  const supervisor = await startScripted('garbage', events, 8);
  try {
    await supervisorCounters(supervisor, () => events.filter((event) => event.kind === 'ipc-error').length >= 9);
    const errors = events.filter((event) => event.kind === 'ipc-error');
    assert.ok(errors.length >= 9, `ipc errors reported: ${JSON.stringify(errors)}`);
    const stats = await supervisor.stats();
    assert.equal(stats.length, 3, 'both workers still answer');
    assert.ok((stats.find((own) => own.worker === 'supervisor')?.model.ipcErrors ?? 0) >= 9, 'counted as ipc errors');
    assert.equal(supervisor.workerPids.length, 2);
  } finally {
    await supervisor.close();
  }
});

test('a worker whose stream announces a frame over the limit is reported with a coded error and replaced; the supervisor lives on', async () => {
  const events: SupervisorEvent[] = [];
  const supervisor = await startScripted('huge-frame', events);
  try {
    const [first] = supervisor.workerPids;
    await supervisor.stats();
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !events.some((event) => event.kind === 'worker-started' && event.worker === 0 && event.pid !== first)) await new Promise((resolve) => setTimeout(resolve, 25));
    const errors = events.filter((event) => event.kind === 'ipc-error').map((event) => JSON.stringify(event));
    assert.ok(errors.some((error) => error.includes('ERR_SWITCHBOARD_WORKER_FRAME_TOO_LARGE')), `reported: ${errors.join(', ')}`);
    assert.ok(events.some((event) => event.kind === 'worker-exited' && event.pid === first && !event.expected), 'the worker out of step was ended');
    assert.notEqual(supervisor.workerPids[0], first, 'and replaced');
    assert.equal((await supervisor.stats()).length, 3, 'every worker answers');
  } finally {
    await supervisor.close();
  }
});

test('a worker that dies once the supervisor is stopping is not replaced, and its exit is reported as expected', async () => {
  const events: SupervisorEvent[] = [];
  const supervisor = await startScripted('', events);
  try {
    const [victim] = supervisor.workerPids;
    assert.ok(victim !== undefined && victim > 0);
    supervisor.stopAccepting();
    process.kill(victim, 'SIGKILL');
    const deadline = Date.now() + 3000;
    while (!events.some((event) => event.kind === 'worker-exited') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const exited = events.filter((event) => event.kind === 'worker-exited');
    assert.equal(exited.length, 1);
    assert.equal(exited[0]?.kind === 'worker-exited' && exited[0].expected, true);
    assert.equal(events.filter((event) => event.kind === 'worker-started').length, 2, 'no replacement started');
    assert.equal((await supervisor.stats()).find((own) => own.worker === 'supervisor')?.workerRestarts, 0);
  } finally {
    await supervisor.close();
  }
  const exits = events.filter((event) => event.kind === 'worker-exited');
  assert.equal(exits.length, 2);
  assert.ok(exits.every((event) => event.kind === 'worker-exited' && event.expected), 'stopping workers is expected');
});

test('a worker that dies while running is replaced, and its exit is not expected', async () => {
  const events: SupervisorEvent[] = [];
  const supervisor = await startScripted('', events);
  try {
    const [victim] = supervisor.workerPids;
    process.kill(victim as number, 'SIGKILL');
    const deadline = Date.now() + 5000;
    while (events.filter((event) => event.kind === 'worker-started').length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(events.filter((event) => event.kind === 'worker-started').length, 3, 'a replacement started');
    const exited = events.find((event) => event.kind === 'worker-exited');
    assert.equal(exited?.kind === 'worker-exited' && exited.expected, false);
  } finally {
    await supervisor.close();
  }
});

test('replacements that fail to start are tried again later and later, not in a tight loop', async () => {
  const events: SupervisorEvent[] = [];
  const supervisor = await startScripted('fail-replacements', events);
  try {
    process.kill(supervisor.workerPids[0] as number, 'SIGKILL');
    const exits = (): Array<Extract<SupervisorEvent, { kind: 'worker-exited' }>> =>
      events.filter((event): event is Extract<SupervisorEvent, { kind: 'worker-exited' }> => event.kind === 'worker-exited');
    const deadline = Date.now() + 8000;
    while (exits().length < 4 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(exits().slice(0, 4).map((event) => event.restartInMs), [0, 250, 500, 1000], JSON.stringify(exits()));
  } finally {
    await supervisor.close();
  }
  assert.equal(restartDelayMs(0), 0);
  assert.equal(restartDelayMs(20), 10_000, 'at most 10 s');
});

test('a dead worker: its TCP connection with a supervisor handle goes to the survivor (which reads and writes it), TLS and handle-less ones are closed and counted, a hand-off to it comes back', async () => {
  const received: string[] = [];
  const closed: number[] = [];
  const server = net.createServer((socket) => {
    socket.on('data', (chunk: Buffer) => received.push(chunk.toString()));
    socket.on('close', () => closed.push(socket.remotePort ?? 0));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.env.SCRIPTED_PORT = String((server.address() as net.AddressInfo).port);
  const events: SupervisorEvent[] = [];
  const supervisor = await startScripted('die-with-connections', events);
  try {
    await supervisor.stats();
    const model = await supervisorCounters(supervisor, (counters) => counters.handOffsReturned >= 1);
    assert.equal(model.connectionsHandedOver, 1, 'the TCP connection whose handle the supervisor held');
    assert.equal(model.connectionsLostWithWorker, 2, 'the TLS one, and the TCP one whose handle never came');
    assert.equal(model.handOffsReturned, 1, "the survivor's hand-off to the dead worker came back to it");
    const exited = events.find((event) => event.kind === 'worker-exited');
    assert.ok(exited?.kind === 'worker-exited' && exited.worker === 0 && exited.connectionsHandedOver === 1 && exited.connectionsClosed === 2, JSON.stringify(exited));
    const deadline = Date.now() + 5000;
    while (received.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(received, ['adopted by 1 as phone.example.com:5060'], 'the survivor holds the connection, knows its alias, and writes on it');
    assert.equal(closed.length, 2, 'the two it could not hand over are closed');
    const table = (await supervisor.stats()).find((own) => own.worker === 'supervisor');
    assert.equal(table?.tcpConnections, 1, 'the handed-over connection stays in the table');
  } finally {
    delete process.env.SCRIPTED_PORT;
    await supervisor.close();
    server.close();
  }
});

test('writes asked of the supervisor on a connection another worker owns are all written there, in order, without a handle per write', async () => {
  // A worker with an fd cache asks 400 writes at once. Node passes handles one at a time, each
  // after the receiver's acknowledgement: answering each with its handle queued them for seconds
  // under load. The supervisor writes them itself on the handle it keeps.
  const writes = 400;
  const received: Buffer[] = [];
  const target = net.createServer((socket) => socket.on('data', (chunk: Buffer) => received.push(chunk)));
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  process.env.SCRIPTED_TARGET_PORT = String((target.address() as net.AddressInfo).port);
  process.env.SCRIPTED_WRITES = String(writes);
  const expected = Array.from({ length: writes }, (_, index) => `w${index};`).join('');
  const supervisor = await startScripted('write-through', [], 8);
  try {
    const model = await supervisorCounters(supervisor, (counters) => counters.fdRequestsWritten >= writes);
    const deadline = Date.now() + 20_000;
    while (Buffer.concat(received).length < expected.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(Buffer.concat(received).toString(), expected, 'every write arrived, in the order asked');
    assert.equal(model.fdRequests, writes);
    assert.equal(model.fdRequestsWritten, writes, 'each written by the supervisor');
    assert.equal(model.fdRequestsMissed, 0);
  } finally {
    await supervisor.close();
    target.close();
    delete process.env.SCRIPTED_TARGET_PORT;
    delete process.env.SCRIPTED_WRITES;
  }
});
