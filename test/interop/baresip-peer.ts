/**
 * A headless baresip (Debian's 1.0.0) for interop tests: its own config directory, no audio
 * device (ausine as source, which needs opus at 48 kHz, and aufile into /dev/null as player), one account registered through the
 * proxy with digest credentials, and the ctrl_tcp module to dial, answer and hang up and to read
 * its events. Started and killed by the test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { freePort } from './harness.js';

export interface BaresipEvent {
  readonly type: string;
  readonly param?: string;
  readonly peeruri?: string;
}

export interface BaresipOptions {
  /** A fresh directory for the config, accounts and log. */
  readonly directory: string;
  readonly user: string;
  readonly password: string;
  readonly transport: 'udp' | 'tcp';
  readonly proxyPort: number;
}

/** A SIP port whose next one is free too: baresip also listens for TLS on the port after it. */
async function sipPort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freePort();
    const probe = net.createServer();
    const free = await new Promise<boolean>((resolve) => {
      probe.once('error', () => resolve(false));
      probe.listen(port + 1, '127.0.0.1', () => resolve(true));
    });
    if (free) await new Promise<void>((resolve) => probe.close(() => resolve()));
    if (free) return port;
  }
  throw new Error('no free pair of ports for baresip');
}

export class Baresip {
  readonly events: BaresipEvent[] = [];
  readonly #process: ChildProcess;
  readonly #control: net.Socket;
  readonly #responses = new Map<string, { ok: boolean; data: string }>();
  #tokens = 0;
  #buffer = '';
  readonly #log: { text: string };

  private constructor(child: ChildProcess, control: net.Socket, log: { text: string }) {
    this.#process = child;
    this.#log = log;
    this.#control = control;
    control.on('data', (chunk: Buffer) => {
      this.#buffer += chunk.toString('utf8');
      // Netstrings: <length>:<JSON>,
      for (let colon = this.#buffer.indexOf(':'); colon > 0; colon = this.#buffer.indexOf(':')) {
        const length = Number(this.#buffer.slice(0, colon));
        if (this.#buffer.length < colon + 1 + length + 1) break;
        const message = JSON.parse(this.#buffer.slice(colon + 1, colon + 1 + length)) as { event?: boolean; response?: boolean; type?: string; param?: string; peeruri?: string; ok?: boolean; data?: string; token?: string };
        this.#buffer = this.#buffer.slice(colon + 1 + length + 1);
        if (message.event === true) this.events.push({ type: message.type ?? '', param: message.param, peeruri: message.peeruri });
        if (message.response === true && message.token !== undefined) this.#responses.set(message.token, { ok: message.ok === true, data: message.data ?? '' });
      }
    });
    control.on('error', () => undefined);
  }

  static async start(options: BaresipOptions): Promise<Baresip> {
    await mkdir(options.directory, { recursive: true });
    const port = await sipPort();
    const controlPort = await freePort();
    const config = [
      'poll_method\t\tepoll',
      `sip_listen\t\t127.0.0.1:${port}`,
      'call_local_timeout\t20',
      'audio_player\t\taufile,/dev/null',
      'audio_alert\t\taufile,/dev/null',
      'audio_source\t\tausine,440',
      'module_path\t\t/usr/lib/baresip/modules',
      'module\t\t\topus.so',
      'module\t\t\tausine.so',
      'module\t\t\taufile.so',
      'module_tmp\t\taccount.so',
      'module_app\t\tmenu.so',
      'module\t\t\tctrl_tcp.so',
      `ctrl_tcp_listen\t\t127.0.0.1:${controlPort}`,
      '',
    ].join('\n');
    const account = `<sip:${options.user}@example.com;transport=${options.transport}>;auth_pass=${options.password};outbound="sip:127.0.0.1:${options.proxyPort};transport=${options.transport}";answermode=manual;regint=600\n`;
    await writeFile(join(options.directory, 'config'), config);
    await writeFile(join(options.directory, 'accounts'), account);
    await writeFile(join(options.directory, 'contacts'), '');
    const child = spawn('baresip', ['-f', options.directory], { stdio: ['ignore', 'pipe', 'pipe'] });
    const log = { text: '' };
    const keep = (chunk: Buffer): void => {
      log.text = (log.text + chunk.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    // A hard stop, whatever happens to the test.
    const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('exit', () => clearTimeout(killer));
    let control: net.Socket | undefined;
    for (const deadline = Date.now() + 10_000; control === undefined; ) {
      if (child.exitCode !== null) throw new Error(`baresip exited with ${child.exitCode}:\n${log.text}`);
      control = await new Promise<net.Socket | undefined>((resolve) => {
        const socket = net.connect(controlPort, '127.0.0.1');
        socket.once('connect', () => resolve(socket));
        socket.once('error', () => resolve(undefined));
      });
      if (control === undefined) {
        if (Date.now() > deadline) {
          child.kill('SIGKILL');
          throw new Error(`baresip's ctrl_tcp never listened:\n${log.text}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    return new Baresip(child, control, log);
  }

  /** The end of what it printed (for failure messages). */
  get output(): string {
    return this.#log.text;
  }

  /** Runs a menu command (dial, accept, hangup, reginfo ...) and resolves with its answer. */
  async command(command: string, params?: string, timeoutMs = 5000): Promise<{ ok: boolean; data: string }> {
    const token = String(++this.#tokens);
    const json = JSON.stringify({ command, ...(params === undefined ? {} : { params }), token });
    this.#control.write(`${Buffer.byteLength(json)}:${json},`);
    for (const deadline = Date.now() + timeoutMs; ; await new Promise((resolve) => setTimeout(resolve, 20))) {
      const answer = this.#responses.get(token);
      if (answer !== undefined) return answer;
      if (Date.now() > deadline) throw new Error(`baresip did not answer ${command}:\n${this.output.slice(-3000)}`);
    }
  }

  /** Resolves when an event of `type` arrived after the first `after` events (default: any). */
  async event(type: string, timeoutMs = 8000, after = 0): Promise<BaresipEvent> {
    for (const deadline = Date.now() + timeoutMs; ; await new Promise((resolve) => setTimeout(resolve, 20))) {
      const found = this.events.slice(after).find((event) => event.type === type);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no ${type} from baresip in ${timeoutMs} ms; events: ${this.events.map((event) => `${event.type}(${event.param ?? ''})`).join(' ')}\n${this.output.slice(-3000)}`);
    }
  }

  /** Waits until its account is registered (reginfo says OK). */
  async registered(timeoutMs = 20_000): Promise<void> {
    for (const deadline = Date.now() + timeoutMs; ; await new Promise((resolve) => setTimeout(resolve, 100))) {
      const info = await this.command('reginfo');
      // eslint-disable-next-line no-control-regex
      if (/\sOK\s/.test(info.data.replace(/\u001b\[[0-9;]*m/g, ''))) return;
      if (Date.now() > deadline) throw new Error(`baresip not registered in ${timeoutMs} ms: ${JSON.stringify(info.data)}\n${this.output.slice(-3000)}`);
    }
  }

  async stop(): Promise<void> {
    this.#control.destroy();
    if (this.#process.exitCode !== null || this.#process.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.#process.once('exit', () => resolve()));
    this.#process.kill('SIGTERM');
    const timer = setTimeout(() => this.#process.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }
}
