import { readFile } from 'node:fs/promises';
import { DIGEST_ALGORITHMS, DIGEST_HEX_LENGTH, digestAlgorithm, digestHa1, type DigestAlgorithm } from '@switchboard/sip';
import { CodedError } from '@switchboard/sip';

/** Errors of authentication settings (`ERR_SWITCHBOARD_AUTH_*`), each listed in docs/errors.md. */
export const AUTH_ERROR_CODES = {
  ERR_SWITCHBOARD_AUTH_USERS: 'The users file (--auth-users) or a Redis credential entry cannot be read or is malformed: not JSON, an entry without user or realm, an HA1 that is not hex of its algorithm\'s length, or a plaintext password; the message names the file and the entry.',
} as const;

export type AuthErrorCode = keyof typeof AUTH_ERROR_CODES;

export class AuthConfigError extends CodedError<AuthErrorCode> {
  static override readonly codes = AUTH_ERROR_CODES;
}

/**
 * One user's stored secrets: HA1 = H(user:realm:password) per algorithm (HA1 depends on the
 * algorithm, so a user who may answer SHA-256 and MD5 challenges has both). Never the password.
 */
export interface UserCredentials {
  readonly user: string;
  readonly realm: string;
  readonly ha1: Readonly<Partial<Record<DigestAlgorithm, string>>>;
}

/**
 * Where HA1s come from. `ha1` resolves undefined when the user, or that user's HA1 for the
 * algorithm, is unknown. Failure contract as LocationStore: a rejection means "unavailable now"
 * (the proxy answers 503 with Retry-After).
 */
export interface CredentialStore {
  ha1(user: string, realm: string, algorithm: DigestAlgorithm): Promise<string | undefined>;
  close(): Promise<void>;
}

/** Credentials held in memory (read from a users file at start). */
export class MemoryCredentialStore implements CredentialStore {
  readonly #users = new Map<string, UserCredentials>();

  constructor(entries: Iterable<UserCredentials>) {
    for (const entry of entries) this.#users.set(credentialKey(entry.user, entry.realm), entry);
  }

  get size(): number {
    return this.#users.size;
  }

  /** The realms the users belong to. */
  get realms(): ReadonlySet<string> {
    return new Set([...this.#users.values()].map((entry) => entry.realm));
  }

  async ha1(user: string, realm: string, algorithm: DigestAlgorithm): Promise<string | undefined> {
    return this.#users.get(credentialKey(user, realm))?.ha1[algorithm];
  }

  async close(): Promise<void> {}
}

/**
 * How a user is filed: `user:realm`, as htdigest writes it. The Redis credential store uses it as
 * the hash field.
 */
export function credentialKey(user: string, realm: string): string {
  return `${user}:${realm}`;
}

/** A user's entry with the HA1 of every algorithm, from a password that is then forgotten. */
export function userCredentials(user: string, realm: string, password: string, algorithms: readonly DigestAlgorithm[] = DIGEST_ALGORITHMS): UserCredentials {
  const ha1: Partial<Record<DigestAlgorithm, string>> = {};
  for (const algorithm of algorithms) ha1[algorithm] = digestHa1(algorithm, user, realm, password);
  return { user, realm, ha1 };
}

/**
 * Checks one stored entry (from a users file or a Redis hash): user and realm non-empty strings,
 * `ha1` an object of algorithm name to hex HA1 of that algorithm's length, no password.
 * `where` names the entry in the error.
 */
export function checkUserCredentials(value: unknown, where: string): UserCredentials {
  const fail = (message: string): never => {
    throw new AuthConfigError('ERR_SWITCHBOARD_AUTH_USERS', `${where}: ${message}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('must be an object with user, realm and ha1');
  const record = value as Record<string, unknown>;
  if ('password' in record) fail('holds a plaintext password; store HA1 values only (switchboard users add computes them)');
  for (const key of Object.keys(record)) if (!['user', 'realm', 'ha1'].includes(key)) fail(`unknown key "${key}" (known: user, realm, ha1)`);
  const { user, realm, ha1 } = record;
  if (typeof user !== 'string' || user.length === 0) fail('"user" must be a non-empty string');
  if (typeof realm !== 'string' || realm.length === 0) fail('"realm" must be a non-empty string');
  if (typeof ha1 !== 'object' || ha1 === null || Array.isArray(ha1)) return fail('"ha1" must map algorithms (MD5, SHA-256, SHA-512-256) to hex HA1 values');
  const hashes: Partial<Record<DigestAlgorithm, string>> = {};
  for (const [name, hex] of Object.entries(ha1 as Record<string, unknown>)) {
    const algorithm = digestAlgorithm(name);
    if (algorithm === undefined) fail(`unknown algorithm "${name}" in ha1 (known: ${DIGEST_ALGORITHMS.join(', ')})`);
    const length = DIGEST_HEX_LENGTH[algorithm as DigestAlgorithm];
    if (typeof hex !== 'string' || hex.length !== length || !/^[0-9a-fA-F]+$/.test(hex)) fail(`ha1 ${name} must be ${length} hex digits`);
    hashes[algorithm as DigestAlgorithm] = (hex as string).toLowerCase();
  }
  if (Object.keys(hashes).length === 0) fail('"ha1" holds no HA1');
  return { user: user as string, realm: realm as string, ha1: hashes };
}

/**
 * Parses a users file: `{ "users": [ { "user", "realm", "ha1": { "SHA-256": hex, ... } } ] }`
 * (a top-level "comment" is allowed). Throws ERR_SWITCHBOARD_AUTH_USERS naming `name` and the
 * entry at fault.
 */
export function parseUsersFile(text: string, name: string): UserCredentials[] {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new AuthConfigError('ERR_SWITCHBOARD_AUTH_USERS', `${name} is not JSON: ${(error as Error).message}`);
  }
  if (typeof document !== 'object' || document === null || !Array.isArray((document as { users?: unknown }).users)) {
    throw new AuthConfigError('ERR_SWITCHBOARD_AUTH_USERS', `${name} must hold { "users": [ ... ] }`);
  }
  for (const key of Object.keys(document)) {
    if (key !== 'users' && key !== 'comment') throw new AuthConfigError('ERR_SWITCHBOARD_AUTH_USERS', `${name}: unknown key "${key}" (known: users, comment)`);
  }
  const seen = new Set<string>();
  return ((document as { users: unknown[] }).users).map((entry, index) => {
    const credentials = checkUserCredentials(entry, `${name} users[${index}]`);
    const key = credentialKey(credentials.user, credentials.realm);
    if (seen.has(key)) throw new AuthConfigError('ERR_SWITCHBOARD_AUTH_USERS', `${name} users[${index}]: ${credentials.user} in realm ${credentials.realm} is listed twice`);
    seen.add(key);
    return credentials;
  });
}

/** The text of a users file holding `entries`. */
export function formatUsersFile(entries: readonly UserCredentials[], comment?: string): string {
  return `${JSON.stringify({ ...(comment === undefined ? {} : { comment }), users: entries }, null, 2)}\n`;
}

/** Reads a users file into a MemoryCredentialStore; ERR_SWITCHBOARD_AUTH_USERS when it cannot. */
export async function loadUsersFile(path: string): Promise<MemoryCredentialStore> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new AuthConfigError('ERR_SWITCHBOARD_AUTH_USERS', `cannot read ${path}: ${(error as Error).message}`);
  }
  return new MemoryCredentialStore(parseUsersFile(text, path));
}
