import { constants as cryptoConstants } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import type { TransportAddress } from '../transport-address.js';
import { remoteKeyOf, StreamTransport, type StreamLayer, type StreamTransportEvent, type StreamTransportOptions, type TlsFailureReason } from './stream-transport.js';
import { TlsSessionCache } from './tls-session-cache.js';

/** TLS versions a listener can be limited to (older ones are refused by OpenSSL 3's defaults anyway). */
export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';
export const TLS_VERSIONS: readonly TlsVersion[] = ['TLSv1.2', 'TLSv1.3'];

/** Credentials and choices of the TLS transport, for both its server and its client side. */
export interface TlsSettings {
  /** PEM certificate chain and private key: the server's, and offered as client certificate. */
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  /** PEM CA certificates trusted for clients' and callees' certificates (default: Node's root CAs). */
  readonly ca?: string | Buffer;
  /** Require a client certificate issued by `ca` (mutual authentication). */
  readonly verifyClient?: boolean;
  /** Session resumption on both sides, by tickets and by session ids (default true). */
  readonly resumption?: boolean;
  /** OpenSSL cipher list; TLS 1.3 suite names may be given in it too (Node's `ciphers`). */
  readonly ciphers?: string;
  readonly minVersion?: TlsVersion;
  readonly maxVersion?: TlsVersion;
  /** From TCP accept (or connect) to a finished handshake (default 10 s). */
  readonly handshakeTimeoutMs?: number;
  /**
   * 48 bytes of session ticket keys. Workers given the same keys resume each other's tickets;
   * without them each transport makes its own.
   */
  readonly ticketKeys?: Buffer;
  /** Sessions kept per side: by session id (server) and by destination (client) (default 10,000). */
  readonly sessionCacheSize?: number;
}

export interface TlsTransportOptions extends StreamTransportOptions {
  readonly tls: TlsSettings;
}

const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** How long a refused connection may take to close in order before it is destroyed. */
const CLOSE_GRACE_MS = 1000;
/** OpenSSL's and Node's default session lifetime: 300 s. */
const SESSION_LIFETIME_MS = 300_000;
/** The first byte of every TLS connection: a handshake record (RFC 8446 §5.1). */
const TLS_HANDSHAKE_RECORD = 0x16;

/** Certificate verification results (OpenSSL X509_V_ERR_* names as Node gives them) and alerts about certificates. */
const CERTIFICATE_ERROR = /CERT|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY|SELF_SIGNED|UNKNOWN_CA|ALTNAME|PEER_DID_NOT_RETURN/;

/** Sorts a handshake error into the reasons that are counted. */
export function tlsFailureReason(error: Error & { code?: string }): TlsFailureReason {
  const code = error.code ?? '';
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT') return 'timeout';
  if (CERTIFICATE_ERROR.test(code)) return 'bad-certificate';
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED') return 'aborted';
  return 'protocol';
}

interface Handshake {
  readonly id: number;
  readonly remote: string;
  readonly raw: net.Socket;
  readonly timer: NodeJS.Timeout;
  /** Where the socket goes once it is a verified TLS connection. */
  readonly ready: (socket: net.Socket) => void;
  /** Handed to the TLS server (after the first byte was seen). */
  wrapped: boolean;
  done: boolean;
}

/**
 * What turns sockets into TLS connections. Accepted sockets: the first byte is read before any
 * TLS is involved (plaintext on a TLS port is refused without OpenSSL seeing it), then the socket
 * is handed to a `tls.Server` that never listens itself, so sockets accepted elsewhere (a
 * supervisor, a listener shared by threads) take the same path. Verification of client
 * certificates is done here after the handshake, so a refused client is counted and closed with
 * a close_notify instead of being dropped.
 */
class TlsLayer implements StreamLayer {
  readonly protocol = 'tls' as const;
  readonly #settings: TlsSettings;
  readonly #report: (event: StreamTransportEvent) => void;
  readonly #server: tls.Server;
  readonly #clientContext: tls.SecureContext;
  readonly #timeoutMs: number;
  readonly #resumption: boolean;
  /** Accepted sockets whose handshake has not finished, by remote address:port. */
  readonly #handshakes = new Map<string, Handshake>();
  readonly #clientSessions: TlsSessionCache;
  readonly #connecting = new Set<net.Socket>();

  constructor(settings: TlsSettings, report: (event: StreamTransportEvent) => void) {
    this.#settings = settings;
    this.#report = report;
    this.#timeoutMs = settings.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    this.#resumption = settings.resumption ?? true;
    const cacheSize = settings.sessionCacheSize ?? 10_000;
    this.#clientSessions = new TlsSessionCache(cacheSize, SESSION_LIFETIME_MS);
    const common = {
      ca: settings.ca,
      cert: settings.cert,
      key: settings.key,
      ciphers: settings.ciphers,
      minVersion: settings.minVersion,
      maxVersion: settings.maxVersion,
      // Off: no tickets (TLS 1.3 then issues stateful ones, which nothing here stores) and no
      // session-id cache below, so every handshake is a full one.
      secureOptions: this.#resumption ? undefined : cryptoConstants.SSL_OP_NO_TICKET,
    };
    this.#server = tls.createServer({
      ...common,
      requestCert: settings.verifyClient === true,
      rejectUnauthorized: false,
      // The same in every worker, so tickets and session ids made by one are valid in the others.
      sessionIdContext: 'switchboard',
      ticketKeys: this.#resumption ? settings.ticketKeys : undefined,
      // A backstop: the timer of each handshake below fires first.
      handshakeTimeout: this.#timeoutMs + 1000,
    });
    if (this.#resumption) {
      const sessions = new TlsSessionCache(cacheSize, SESSION_LIFETIME_MS);
      this.#server.on('newSession', (id: Buffer, data: Buffer, done: () => void) => {
        sessions.set(id.toString('hex'), data);
        done();
      });
      this.#server.on('resumeSession', (id: Buffer, done: (error: Error | null, data: Buffer | null) => void) => {
        done(null, sessions.get(id.toString('hex')) ?? null);
      });
    }
    this.#server.on('secureConnection', (socket: tls.TLSSocket) => this.#secured(socket));
    this.#server.on('tlsClientError', (error: Error, socket: tls.TLSSocket) => {
      const handshake = this.#handshakes.get(remoteOf(socket));
      if (handshake !== undefined) this.#fail(handshake, tlsFailureReason(error), error.message, socket);
    });
    this.#clientContext = tls.createSecureContext(common);
  }

  accept(raw: net.Socket, connectionId: number, ready: (socket: net.Socket) => void): void {
    const remote = remoteOf(raw);
    const handshake: Handshake = {
      id: connectionId,
      remote,
      raw,
      timer: setTimeout(() => this.#fail(handshake, 'timeout', `no TLS handshake within ${this.#timeoutMs} ms`, undefined), this.#timeoutMs),
      ready,
      wrapped: false,
      done: false,
    };
    handshake.timer.unref();
    this.#handshakes.set(remote, handshake);
    raw.on('error', () => {
      // Reported as 'aborted' when the socket closes before the handshake finished.
    });
    raw.once('close', () => {
      if (!handshake.done) this.#fail(handshake, 'aborted', 'closed before the handshake finished', undefined);
    });
    raw.once('data', (chunk: Buffer) => {
      if (handshake.done) return;
      raw.pause();
      if (chunk[0] !== TLS_HANDSHAKE_RECORD) {
        this.#fail(handshake, 'plaintext', `first byte 0x${(chunk[0] ?? 0).toString(16).padStart(2, '0')} is not a TLS handshake record`, undefined);
        return;
      }
      raw.unshift(chunk);
      handshake.wrapped = true;
      this.#server.emit('connection', raw);
    });
    raw.resume();
  }

  #secured(socket: tls.TLSSocket): void {
    const handshake = this.#handshakes.get(remoteOf(socket));
    if (handshake === undefined || handshake.done) {
      socket.destroy();
      return;
    }
    if (this.#settings.verifyClient === true && !socket.authorized) {
      const presented = Object.keys(socket.getPeerCertificate()).length > 0;
      const why = presented ? `client certificate refused: ${String(socket.authorizationError)}` : 'no client certificate';
      this.#fail(handshake, 'bad-certificate', why, socket);
      return;
    }
    this.#finish(handshake);
    this.#report({ kind: 'tls-handshake', connectionId: handshake.id, remote: handshake.remote, side: 'server', resumed: socket.isSessionReused(), version: socket.getProtocol() ?? '' });
    handshake.ready(socket);
  }

  #finish(handshake: Handshake): void {
    handshake.done = true;
    clearTimeout(handshake.timer);
    if (this.#handshakes.get(handshake.remote) === handshake) this.#handshakes.delete(handshake.remote);
  }

  /**
   * Counts a failed handshake and closes its connection in order: a TLS close_notify when the
   * handshake got that far, a FIN, and a forced close if the peer has not closed in a second.
   */
  #fail(handshake: Handshake, reason: TlsFailureReason, detail: string, socket: net.Socket | undefined): void {
    if (handshake.done) return;
    this.#finish(handshake);
    this.#report({ kind: 'tls-handshake-failed', connectionId: handshake.id, remote: handshake.remote, side: 'server', reason, detail });
    if (socket !== undefined) this.#closeFailed(socket, handshake.id, handshake.remote, 'end');
    // Not handed to TLS yet: read and drop what the peer still sends, so the close is a FIN.
    else if (!handshake.wrapped) this.#closeFailed(handshake.raw, handshake.id, handshake.remote, 'drain');
    // In OpenSSL's hands (a handshake that timed out): only the raw socket can be closed.
    else this.#closeFailed(handshake.raw, handshake.id, handshake.remote, 'destroy');
  }

  /**
   * Closes a connection whose handshake failed, and reports it closed: `clean` unless the socket
   * was reset or broke on the way.
   */
  #closeFailed(socket: net.Socket, connectionId: number, remote: string, how: 'end' | 'drain' | 'destroy'): void {
    let clean = true;
    socket.on('error', (error: Error & { code?: string }) => {
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') clean = false;
    });
    const closed = (): void => this.#report({ kind: 'tls-failed-closed', connectionId, remote, clean });
    if (socket.closed) {
      closed();
      return;
    }
    socket.once('close', closed);
    if (socket.destroyed) return;
    if (how === 'destroy') {
      socket.destroy();
      return;
    }
    if (how === 'drain') {
      socket.on('data', () => undefined);
      socket.resume();
    }
    socket.end();
    setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  connect(target: TransportAddress, connectionId: number): net.Socket {
    const sessionKey = remoteKeyOf(target.address, target.port);
    const remote = `${target.address}:${target.port}`;
    const socket = tls.connect({
      host: target.address,
      port: target.port,
      // Server Name Indication and the name checked against the callee's certificate: the URI host
      // (an IP address is checked against the certificate's IP addresses, and not sent as SNI).
      servername: net.isIP(target.address) === 0 ? target.address : undefined,
      secureContext: this.#clientContext,
      session: this.#resumption ? this.#clientSessions.get(sessionKey) : undefined,
      rejectUnauthorized: true,
    });
    socket.setNoDelay(true);
    this.#connecting.add(socket);
    let done = false;
    const failed = (reason: TlsFailureReason, detail: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.#connecting.delete(socket);
      this.#clientSessions.delete(sessionKey);
      this.#report({ kind: 'tls-handshake-failed', connectionId, remote, side: 'client', reason, detail });
      this.#closeFailed(socket, connectionId, remote, 'end');
    };
    const timer = setTimeout(() => failed('timeout', `no TLS handshake within ${this.#timeoutMs} ms`), this.#timeoutMs);
    timer.unref();
    if (this.#resumption) socket.on('session', (session: Buffer) => this.#clientSessions.set(sessionKey, session));
    socket.once('secureConnect', () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.#connecting.delete(socket);
      this.#report({ kind: 'tls-handshake', connectionId, remote, side: 'client', resumed: socket.isSessionReused(), version: socket.getProtocol() ?? '' });
    });
    socket.on('error', (error: Error & { code?: string }) => {
      // Refused connections are no handshake failures: nobody listened.
      if (error.code === 'ECONNREFUSED') {
        done = true;
        clearTimeout(timer);
        this.#connecting.delete(socket);
        return;
      }
      failed(tlsFailureReason(error), error.message);
    });
    socket.once('close', () => failed('aborted', 'closed before the handshake finished'));
    return socket;
  }

  close(): void {
    for (const handshake of [...this.#handshakes.values()]) {
      this.#finish(handshake);
      handshake.raw.destroy();
    }
    for (const socket of this.#connecting) socket.destroy();
    this.#connecting.clear();
  }
}

function remoteOf(socket: net.Socket): string {
  return `${socket.remoteAddress ?? ''}:${socket.remotePort ?? 0}`;
}

/**
 * SIP over TLS (RFC 3261 §26.2, RFC 5630): the stream transport of TCP with a TLS layer. The
 * proxy is the TLS server on its listener and the TLS client toward `sips:` and `transport=tls`
 * targets, verifying their certificates against `ca` and offering the last session to a
 * destination again when resumption is on. Handshakes are counted, and failures by reason.
 */
export class TlsTransport extends StreamTransport {
  constructor(options: TlsTransportOptions) {
    const report = (event: StreamTransportEvent): void => options.onEvent?.(event);
    super(options, new TlsLayer(options.tls, report));
  }
}
