/**
 * A UDP phone that registers with digest authentication by hand, so a test can send the
 * credentials answering one instance's challenge to another instance, replay them, or refresh a
 * registration through a third. Raw bytes, parsed with @switchboard/sip; no proxy code is used.
 */
import dgram from 'node:dgram';
import { answerDigestChallenge, formatDigestCredentials, parseDigestChallenges, parseMessage, type DigestChallenge, type SipMessage } from '@switchboard/sip';

export interface Answer {
  readonly status: number;
  readonly message: SipMessage;
}

export class DigestPhone {
  readonly #socket = dgram.createSocket('udp4');
  readonly #waiting = new Map<string, (message: SipMessage) => void>();
  readonly #user: string;
  readonly #password: string;
  readonly #callId: string;
  #cseq = 0;
  #port = 0;

  constructor(user: string, password: string) {
    this.#user = user;
    this.#password = password;
    this.#callId = `digest-${user}-${process.pid}-${Math.random().toString(36).slice(2)}`;
    this.#socket.on('message', (bytes) => {
      let message: SipMessage;
      try {
        message = parseMessage(bytes);
      } catch {
        return;
      }
      const branch = message.topVia?.branch;
      if ((message.status ?? 0) >= 200 && branch !== undefined) this.#waiting.get(branch)?.(message);
    });
  }

  async open(): Promise<void> {
    await new Promise<void>((resolve) => this.#socket.bind(0, '127.0.0.1', () => resolve()));
    this.#port = this.#socket.address().port;
  }

  /** The Authorization value answering `challenge` with nonce count `nc`. */
  credentials(challenge: DigestChallenge, nc: number): string {
    return formatDigestCredentials(answerDigestChallenge(challenge, { username: this.#user, password: this.#password, method: 'REGISTER', uri: 'sip:example.com', nc, cnonce: `cn-${nc}` }));
  }

  /**
   * Sends a REGISTER of `user@example.com` (same Call-ID every time, CSeq rising) to `host:port`
   * and resolves with its final response (status 0 after `timeoutMs` without one).
   */
  async register(host: string, port: number, options: { authorization?: string; contact?: string | null; expires?: number; timeoutMs?: number } = {}): Promise<Answer> {
    const cseq = ++this.#cseq;
    const branch = `z9hG4bK-dp-${cseq}-${Math.random().toString(36).slice(2)}`;
    const contact = options.contact === undefined ? `<sip:${this.#user}@127.0.0.1:${this.#port}>` : options.contact;
    const text = [
      'REGISTER sip:example.com SIP/2.0',
      `Via: SIP/2.0/UDP 127.0.0.1:${this.#port};branch=${branch};rport`,
      'Max-Forwards: 70',
      `From: <sip:${this.#user}@example.com>;tag=dp-${this.#user}`,
      `To: <sip:${this.#user}@example.com>`,
      `Call-ID: ${this.#callId}`,
      `CSeq: ${cseq} REGISTER`,
      ...(contact === null ? [] : [`Contact: ${contact}`, `Expires: ${options.expires ?? 300}`]),
      ...(options.authorization === undefined ? [] : [`Authorization: ${options.authorization}`]),
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    const answered = new Promise<SipMessage | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(branch);
        resolve(undefined);
      }, options.timeoutMs ?? 5000);
      this.#waiting.set(branch, (message) => {
        clearTimeout(timer);
        this.#waiting.delete(branch);
        resolve(message);
      });
    });
    this.#socket.send(Buffer.from(text), port, host);
    const message = await answered;
    return message === undefined ? { status: 0, message: parseMessage(Buffer.from('SIP/2.0 408 No Answer\r\nContent-Length: 0\r\n\r\n')) } : { status: message.status ?? 0, message };
  }

  /** The first Digest challenge of a 401. */
  static challenge(answer: Answer): DigestChallenge {
    const offered = parseDigestChallenges(answer.message.header('www-authenticate') ?? '')[0];
    if (offered === undefined) throw new Error(`no challenge in the ${answer.status}`);
    return offered;
  }

  /**
   * Registers in full at `host:port`: REGISTER, 401, REGISTER with credentials; resolves with the
   * final answer (or the 401/503 that came instead of a challenge to answer).
   */
  async registerWithAuth(host: string, port: number, options: { contact?: string | null; timeoutMs?: number } = {}): Promise<Answer> {
    const first = await this.register(host, port, options);
    if (first.status !== 401) return first;
    return this.register(host, port, { ...options, authorization: this.credentials(DigestPhone.challenge(first), 1) });
  }

  close(): void {
    this.#socket.close();
  }
}
