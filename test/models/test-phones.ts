/**
 * Minimal SIP endpoints for model tests: a TCP phone that registers and answers every request with
 * 200, and a UDP client that sends requests and collects final responses. Raw bytes, parsed with
 * @switchboard/sip; no proxy code is used.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { buildResponse, parseMessage, StreamFramer, type SipMessage } from '@switchboard/sip';

let sequence = 0;

export function sipRequest(method: string, uri: string, options: { via: string; callId?: string; from?: string; to?: string; extra?: string[] }): Buffer {
  const n = ++sequence;
  return Buffer.from(
    [
      `${method} ${uri} SIP/2.0`,
      `Via: ${options.via};branch=z9hG4bK-test-${process.pid}-${n}`,
      'Max-Forwards: 70',
      `From: <${options.from ?? 'sip:tester@example.com'}>;tag=t${n}`,
      `To: <${options.to ?? uri}>`,
      `Call-ID: ${options.callId ?? `call-${process.pid}-${n}`}`,
      `CSeq: 1 ${method}`,
      ...(options.extra ?? []),
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

/** A phone on one TCP connection to the proxy: registers, then answers whatever arrives with 200. */
export class TcpPhone {
  readonly socket: net.Socket;
  readonly requests: SipMessage[] = [];
  readonly responses: SipMessage[] = [];
  readonly #framer = new StreamFramer();
  #waiters: Array<() => void> = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      for (const event of this.#framer.push(chunk)) {
        if (event.kind !== 'message') continue;
        const message = parseMessage(event.bytes);
        if (message.isRequest) {
          this.requests.push(message);
          if (message.method !== 'ACK') socket.write(buildResponse(message, 200));
        } else if ((message.status ?? 0) >= 200) {
          this.responses.push(message);
        }
        for (const wake of this.#waiters.splice(0)) wake();
      }
    });
    socket.on('error', () => {});
  }

  /** `localAddress`: the source address (any of 127.0.0.0/8 is loopback), past one address's ports. */
  static async connect(port: number, localAddress?: string): Promise<TcpPhone> {
    const socket = net.connect({ port, host: '127.0.0.1', ...(localAddress === undefined ? {} : { localAddress }) });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    return new TcpPhone(socket);
  }

  async until(condition: () => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!condition()) {
      if (Date.now() > deadline || this.socket.destroyed) throw new Error('phone: timed out');
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** Registers `user@domain` with this connection as contact; resolves with the status. */
  async register(user: string, domain: string, ms = 5000): Promise<number> {
    const local = `127.0.0.1:${this.socket.localPort}`;
    const before = this.responses.length;
    this.socket.write(
      sipRequest('REGISTER', `sip:${domain}`, {
        via: `SIP/2.0/TCP ${local}`,
        from: `sip:${user}@${domain}`,
        to: `sip:${user}@${domain}`,
        extra: [`Contact: <sip:${user}@${local};transport=tcp>`, 'Expires: 300'],
      }),
    );
    await this.until(() => this.responses.length > before, ms);
    return this.responses[this.responses.length - 1]?.status ?? 0;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Sends UDP requests from one socket and counts the final responses by Call-ID. */
export class UdpClient {
  readonly socket = dgram.createSocket('udp4');
  readonly finals = new Map<string, number>();

  async open(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', () => resolve()));
    this.socket.on('message', (bytes) => {
      const message = parseMessage(bytes);
      if (message.isResponse && (message.status ?? 0) >= 200 && message.callId !== undefined) this.finals.set(message.callId, message.status ?? 0);
    });
  }

  get via(): string {
    return `SIP/2.0/UDP 127.0.0.1:${this.socket.address().port}`;
  }

  send(port: number, bytes: Buffer): void {
    this.socket.send(bytes, port, '127.0.0.1');
  }

  close(): void {
    this.socket.close();
  }
}

/** Open file descriptors of a process (Linux /proc). */
export async function fdCount(pid: number): Promise<number> {
  const { readdir } = await import('node:fs/promises');
  return (await readdir(`/proc/${pid}/fd`)).length;
}

/** Child process ids of `pid` (the process-pool's workers). */
export async function childPids(pid: number): Promise<number[]> {
  const { readFile, readdir } = await import('node:fs/promises');
  const tasks = await readdir(`/proc/${pid}/task`);
  const children = await Promise.all(tasks.map((task) => readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '')));
  return children.join(' ').split(/\s+/).filter(Boolean).map(Number);
}

/**
 * The process-pool's worker pids by slot (index = slot), from the SWITCHBOARD_WORKER config each
 * worker was forked with. Not by sorting pids: they wrap (pid_max is 32768 here), so a worker
 * forked later can have the lower pid.
 */
export async function workerPidsBySlot(pid: number): Promise<number[]> {
  const { readFile } = await import('node:fs/promises');
  const bySlot: number[] = [];
  for (const child of await childPids(pid)) {
    const environ = await readFile(`/proc/${child}/environ`, 'utf8').catch(() => '');
    const config = environ.split('\0').find((entry) => entry.startsWith('SWITCHBOARD_WORKER='));
    if (config === undefined) continue;
    const { slot } = JSON.parse(config.slice('SWITCHBOARD_WORKER='.length)) as { slot: number };
    bySlot[slot] = child;
  }
  return bySlot;
}

/** Opens `count` phones in batches, each registering; resolves with those that got 200 and how many did not. */
export async function registerMany(port: number, count: number, prefix: string, sources: readonly string[] = ['127.0.0.1'], batch = 200, ms = 30_000): Promise<{ phones: TcpPhone[]; refused: number }> {
  const phones: TcpPhone[] = [];
  let refused = 0;
  for (let start = 0; start < count; start += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, count - start) }, async (_, offset) => {
        const index = start + offset;
        let phone: TcpPhone | undefined;
        try {
          phone = await TcpPhone.connect(port, sources[index % sources.length]);
          if ((await phone.register(`${prefix}${index}`, 'example.com', ms)) === 200) {
            phones.push(phone);
            return;
          }
        } catch {
          // Reset or closed by the proxy (refused), or no answer: counted below.
        }
        phone?.close();
        refused++;
      }),
    );
  }
  return { phones, refused };
}
