import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const bin = fileURLToPath(new URL('../../packages/cli/bin/switchboard.js', import.meta.url));

function run(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [bin, ...args], { input, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('switchboard --help lists the commands', () => {
  const result = run(['--help']);
  assert.equal(result.status, 0);
  assert.match(result.stdout, /Usage: switchboard/);
  assert.match(result.stdout, /parse <file>/);
});

test('switchboard parse prints the fields of a message read from stdin', () => {
  const message = ['OPTIONS sip:bob@example.com SIP/2.0', 'Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1', 'From: <sip:a@b>;tag=1', 'To: <sip:bob@example.com>', 'Call-ID: c1', 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', ''].join('\r\n');
  const result = run(['parse', '-'], message);
  assert.equal(result.status, 0, result.stderr);
  const parsed = JSON.parse(result.stdout) as { ok: boolean; method: string; callId: string };
  assert.equal(parsed.ok, true);
  assert.equal(parsed.method, 'OPTIONS');
  assert.equal(parsed.callId, 'c1');
});

test('switchboard parse reports the coded error and exits 2', () => {
  const result = run(['parse', '-'], 'OPTIONS sip:a@b SIP/3.0\r\n\r\n');
  assert.equal(result.status, 2);
  const parsed = JSON.parse(result.stdout) as { ok: boolean; error: { code: string; status: number } };
  assert.equal(parsed.error.code, 'ERR_SIP_UNSUPPORTED_VERSION');
  assert.equal(parsed.error.status, 505);
});

test('an unknown option is named in the error', () => {
  const result = run(['parse', '--bogus', 'x']);
  assert.notEqual(result.status, 0);
  assert.match(result.stderr, /--bogus/);
});

test('switchboard serve logs ready, serves metrics on the port it logs (port 0: a free one), and exits 0 on SIGTERM', async () => {
  const { startProxy } = await import('./interop/harness.js');
  const proxy = await startProxy(['--metrics', '127.0.0.1:0']);
  try {
    const ready = JSON.parse(proxy.lines.find((line) => line.includes('"ready"')) ?? '{}') as { listeners?: string[]; metrics?: string };
    assert.equal(ready.listeners?.length, 2);
    assert.match(ready.metrics ?? '', /^http:\/\/127\.0\.0\.1:[1-9]\d*\/metrics$/, 'the bound port, not 0');
    const response = await fetch(ready.metrics as string);
    const text = await response.text();
    assert.match(text, /^switchboard_requests_received_total{worker="0"} 0$/m);
    assert.match(text, /^switchboard_tcp_connections{worker="0"} 0$/m);
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});

test('switchboard serve names the flag at fault', () => {
  const result = run(['serve', '--listen', 'udp:127.0.0.1:99999']);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /ERR_SWITCHBOARD_INVALID_FLAG: --listen:/);
});

/** Runs `serve` until it exits (or 15 s pass, then kills it): exit status, stdout and stderr. */
async function serveUntilExit(args: string[]): Promise<{ status: number | null; signal: string | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const [status, signal] = (await once(child, 'exit')) as [number | null, string | null];
  clearTimeout(timer);
  return { status, signal, stdout, stderr };
}

async function takenPort(): Promise<net.Server> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

test('a busy --metrics port: no ready, the workers stopped, exit 1 with a coded error naming --metrics', async () => {
  const taken = await takenPort();
  const port = (taken.address() as net.AddressInfo).port;
  try {
    const result = await serveUntilExit(['--listen', 'udp:127.0.0.1:0', '--listen', 'tcp:127.0.0.1:0', '--model', 'thread-pool', '--workers', '2', '--metrics', `127.0.0.1:${port}`]);
    assert.equal(result.signal, null, `killed after 15 s: it did not stop by itself\n${result.stdout}${result.stderr}`);
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, new RegExp(`ERR_SWITCHBOARD_LISTEN_FAILED: --metrics 127\\.0\\.0\\.1:${port}: `));
    assert.doesNotMatch(result.stdout, /"ready"/);
  } finally {
    taken.close();
  }
});

test('a busy --listen port: exit 1 with a coded error naming that --listen', async () => {
  const taken = await takenPort();
  const port = (taken.address() as net.AddressInfo).port;
  try {
    const result = await serveUntilExit(['--listen', 'udp:127.0.0.1:0', '--listen', `tcp:127.0.0.1:${port}`]);
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, new RegExp(`ERR_SWITCHBOARD_LISTEN_FAILED: --listen tcp:127\\.0\\.0\\.1:${port}: `));
    assert.doesNotMatch(result.stdout, /"ready"/);
  } finally {
    taken.close();
  }
});

test('a clean stop logs the workers\' exits at info, nothing at warn or above', async () => {
  const { startProxy } = await import('./interop/harness.js');
  const proxy = await startProxy(['--model', 'thread-pool', '--workers', '2']);
  assert.equal(await proxy.stop(), 0, `ended by ${proxy.process.signalCode ?? 'no signal'}\n${proxy.lines.join('\n')}`);
  await new Promise((resolve) => setImmediate(resolve));
  const entries = proxy.lines.map((line) => JSON.parse(line) as { level: number; msg: string });
  assert.equal(entries.filter((entry) => entry.msg === 'thread-exited').length, 2, proxy.lines.join('\n'));
  assert.deepEqual(entries.filter((entry) => entry.level >= 40), [], 'nothing at warn or above');
});

test('switchboard users add: HA1 entries from a password on stdin, into a file (never the password)', async () => {
  const { mkdtemp, readFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { createHash } = await import('node:crypto');
  const dir = await mkdtemp(join(tmpdir(), 'switchboard-users-'));
  try {
    const file = join(dir, 'users.json');
    assert.equal(run(['users', 'add', '--user', 'alice', '--realm', 'example.com', '--file', file], 'wonderland\n').status, 0);
    assert.equal(run(['users', 'add', '--user', 'bob', '--realm', 'example.com', '--file', file, '--algorithms', 'MD5'], 'builder').status, 0);
    assert.equal(run(['users', 'add', '--user', 'alice', '--realm', 'example.com', '--file', file], 'changed').status, 0, 'replaces alice');
    const text = await readFile(file, 'utf8');
    assert.ok(!text.includes('changed') && !text.includes('builder'), 'no password is written');
    const users = (JSON.parse(text) as { users: Array<{ user: string; ha1: Record<string, string> }> }).users;
    assert.deepEqual(users.map((user) => [user.user, Object.keys(user.ha1)]), [['bob', ['MD5']], ['alice', ['SHA-256', 'SHA-512-256', 'MD5']]]);
    assert.equal(users[1]?.ha1.MD5, createHash('md5').update('alice:example.com:changed').digest('hex'));
    const printed = run(['users', 'add', '--user', 'carol', '--realm', 'example.com', '--algorithms', 'SHA-256'], 'pw');
    assert.deepEqual(JSON.parse(printed.stdout), { user: 'carol', realm: 'example.com', ha1: { 'SHA-256': createHash('sha256').update('carol:example.com:pw').digest('hex') } });
    const empty = run(['users', 'add', '--user', 'dave', '--realm', 'example.com'], '');
    assert.equal(empty.status, 2);
    assert.match(empty.stderr, /ERR_SWITCHBOARD_INVALID_FLAG: --user: no password on stdin/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
