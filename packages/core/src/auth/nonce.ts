import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Bytes of a nonce: issue time (ms, 8), random (12), truncated HMAC-SHA-256 (16). */
const TIME_BYTES = 8;
const RANDOM_BYTES = 12;
const MAC_BYTES = 16;
const NONCE_BYTES = TIME_BYTES + RANDOM_BYTES + MAC_BYTES;

/** What a nonce presented in credentials turns out to be. */
export type NonceState =
  /** Issued by a holder of the secret for this realm, not yet expired. */
  | { readonly kind: 'fresh'; readonly issuedAt: number; readonly expiresAt: number }
  /** Ours, but older than the nonce lifetime: answer with a new challenge marked stale. */
  | { readonly kind: 'expired'; readonly issuedAt: number; readonly expiresAt: number }
  /** Not ours: another realm, another secret (a restart without a shared secret), or tampered. */
  | { readonly kind: 'forged' };

/**
 * Stateless nonces: base64url(issuedAt | random | HMAC(secret, issuedAt | random | realm)).
 * Any worker, thread or instance that holds the same secret verifies a nonce another one issued,
 * with no shared state; only the nonce counts seen (replay protection) need a store. 36 bytes,
 * 48 characters.
 */
export class NonceMint {
  readonly #secret: Buffer;
  readonly #realm: Buffer;
  readonly #ttlMs: number;

  /** `secret`: at least 16 bytes, shared by every worker (see `newNonceSecret`). */
  constructor(secret: Buffer, realm: string, ttlMs: number) {
    if (secret.length < 16) throw new RangeError('the nonce secret must hold at least 16 bytes');
    if (!(ttlMs > 0)) throw new RangeError(`the nonce lifetime must be positive, not ${ttlMs}`);
    this.#secret = secret;
    this.#realm = Buffer.from(realm, 'utf8');
    this.#ttlMs = ttlMs;
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }

  issue(now = Date.now()): string {
    const bytes = Buffer.allocUnsafe(NONCE_BYTES);
    bytes.writeBigUInt64BE(BigInt(Math.floor(now)), 0);
    randomBytes(RANDOM_BYTES).copy(bytes, TIME_BYTES);
    this.#mac(bytes.subarray(0, TIME_BYTES + RANDOM_BYTES)).copy(bytes, TIME_BYTES + RANDOM_BYTES);
    return bytes.toString('base64url');
  }

  check(nonce: string, now = Date.now()): NonceState {
    if (nonce.length !== Math.ceil((NONCE_BYTES * 4) / 3) || !/^[A-Za-z0-9_-]+$/.test(nonce)) return { kind: 'forged' };
    const bytes = Buffer.from(nonce, 'base64url');
    if (bytes.length !== NONCE_BYTES) return { kind: 'forged' };
    const expected = this.#mac(bytes.subarray(0, TIME_BYTES + RANDOM_BYTES));
    if (!timingSafeEqual(expected, bytes.subarray(TIME_BYTES + RANDOM_BYTES))) return { kind: 'forged' };
    const issuedAt = Number(bytes.readBigUInt64BE(0));
    const expiresAt = issuedAt + this.#ttlMs;
    return { kind: now < expiresAt ? 'fresh' : 'expired', issuedAt, expiresAt };
  }

  #mac(data: Buffer): Buffer {
    return createHmac('sha256', this.#secret).update(data).update(this.#realm).digest().subarray(0, MAC_BYTES);
  }
}

/** A fresh random secret for NonceMint, as hex (plain data: it crosses IPC and thread boundaries). */
export function newNonceSecret(): string {
  return randomBytes(32).toString('hex');
}
