/**
 * OpenSSL peers for the TLS interop tests. Debian's SIPp is built without TLS, so stunnel (an
 * OpenSSL TLS endpoint) stands between SIPp and the proxy: in client mode it takes SIPp's TCP
 * connections and opens TLS ones to the proxy; in server mode it takes the proxy's TLS connections
 * and passes them to SIPp over TCP. `openssl s_client` probes resumption and certificates. Every
 * process is bounded in time and killed on cleanup.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One stunnel service. */
export interface StunnelService {
  readonly name: string;
  /** Client mode (TCP in, TLS out) or server mode (TLS in, TCP out). */
  readonly client: boolean;
  readonly accept: number;
  readonly connect: number;
  /** Certificate and key: the server's, or the client certificate it presents. */
  readonly certFile?: string;
  readonly keyFile?: string;
  /** Verify the peer's certificate chain against this CA (client: the proxy's; server: demands one). */
  readonly caFile?: string;
}

export interface RunningStunnel {
  readonly process: ChildProcess;
  /** What stunnel logged (its last 20,000 characters). */
  log(): string;
  stop(): Promise<void>;
}

const STUNNEL = process.env.STUNNEL ?? 'stunnel4';

/** Starts one stunnel process with these services; resolves once every service is bound. */
export async function startStunnel(services: readonly StunnelService[]): Promise<RunningStunnel> {
  const dir = await mkdtemp(join(tmpdir(), 'switchboard-stunnel-'));
  const lines = ['foreground = yes', 'pid =', 'syslog = no', 'debug = info', ''];
  for (const service of services) {
    lines.push(`[${service.name}]`, `accept = 127.0.0.1:${service.accept}`, `connect = 127.0.0.1:${service.connect}`);
    if (service.client) lines.push('client = yes');
    if (service.certFile !== undefined) lines.push(`cert = ${service.certFile}`);
    if (service.keyFile !== undefined) lines.push(`key = ${service.keyFile}`);
    if (service.caFile !== undefined) {
      lines.push(`CAfile = ${service.caFile}`, 'verifyChain = yes');
      // A client checks the proxy's certificate is for the address it connects to; a server
      // with a CA demands a client certificate (the proxy's, as TLS client).
      lines.push(service.client ? 'checkIP = 127.0.0.1' : 'requireCert = yes');
    }
    lines.push('');
  }
  const config = join(dir, 'stunnel.conf');
  await writeFile(config, lines.join('\n'));
  const child = spawn(STUNNEL, [config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    clearTimeout(killer);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 10_000;
    while (!services.every((service) => output.includes(`Service [${service.name}]`) && output.includes(`bound to 127.0.0.1:${service.accept}`))) {
      if (child.exitCode !== null) throw new Error(`stunnel exited with ${child.exitCode}:\n${output}`);
      if (Date.now() > deadline) throw new Error(`stunnel did not bind in 10 s:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { process: child, log: () => output, stop };
}

export interface SClientResult {
  readonly code: number | null;
  readonly output: string;
}

/**
 * Runs `openssl s_client` against 127.0.0.1:`port` with `args`, writes `input` once the handshake
 * is done, and ends its input once `doneWhen` matches what it printed (or after `timeoutMs`): a
 * SIP response, say. Killed if it has not exited 2 s later.
 */
export async function sClient(port: number, args: readonly string[], options: { input?: string; doneWhen?: RegExp; timeoutMs?: number } = {}): Promise<SClientResult> {
  const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  let sent = false;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const finish = (): void => {
    if (!child.stdin.writableEnded) child.stdin.end();
  };
  const timer = setTimeout(finish, options.timeoutMs ?? 3000);
  const killer = setTimeout(() => child.kill('SIGKILL'), (options.timeoutMs ?? 3000) + 2000);
  const onData = (chunk: Buffer): void => {
    output += chunk.toString();
    if (!sent && /^(New|Reused), /m.test(output)) {
      sent = true;
      if (options.input !== undefined) child.stdin.write(options.input);
      if (options.doneWhen === undefined) finish();
    }
    if (options.doneWhen?.test(output) === true) finish();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stdin.on('error', () => undefined);
  const code = await exited;
  clearTimeout(timer);
  clearTimeout(killer);
  return { code, output };
}
