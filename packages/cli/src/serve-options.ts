import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import tls from 'node:tls';
import { parse as parseYaml } from 'yaml';
import { DIGEST_ALGORITHMS, digestAlgorithm, parseUri, isSipUri, type DigestAlgorithm } from '@switchboard/sip';
import { AUTH_MODES, AuthConfigError, DEFAULT_AUTH_ALGORITHMS, loadUsersFile, TLS_VERSIONS, type AuthMode, type IdleStrategy, type ListenSpec, type TimerSettings, type TlsVersion } from '@switchboard/core';
import { DEFAULT_STATE, MODELS, STATE_FOR_MODEL, STATE_KINDS, type AssignStrategy, type AuthSettings, type Model, type StateKind, type TlsFileSettings } from '@switchboard/cluster';
import { SwitchboardError } from './errors.js';

/** Everything `switchboard serve` runs with, after flags and config file are merged and checked. */
export interface ServeSettings {
  readonly listen: ListenSpec[];
  readonly domains: string[];
  readonly defaultRoute: string | undefined;
  readonly advertise: string | undefined;
  readonly stateless: boolean;
  readonly idleTimeoutSeconds: number;
  readonly headerTimeoutSeconds: number;
  /** RFC 3261 T1, T2, T4 in milliseconds. */
  readonly timers: TimerSettings;
  readonly logLevel: string;
  readonly metrics: { host: string; port: number } | undefined;
  readonly model: Model;
  /** Worker processes or threads (1 for event-loop). */
  readonly workers: number;
  /** process-pool: handles each worker caches (0: no cache). */
  readonly fdCache: number;
  readonly assign: AssignStrategy;
  readonly state: StateKind;
  readonly redisUrl: string | undefined;
  readonly idleStrategy: IdleStrategy;
  /** Digest authentication; undefined with `--auth off`. The nonce secret is settled at start. */
  readonly auth: AuthSettings | undefined;
  /** TLS files and choices, when there is a `tls:` listener. */
  readonly tls: TlsFileSettings | undefined;
}

/** The fd cache size `--fd-cache` alone means (Kamailio keeps 8 handles per process). */
export const DEFAULT_FD_CACHE = 8;

/** Keys of the config file: the flags' names. */
const CONFIG_KEYS = [
  'listen', 'domain', 'default-route', 'advertise', 'stateless', 'idle-timeout', 'idle-strategy', 'header-timeout', 't1', 't2', 't4', 'log-level', 'metrics',
  'model', 'workers', 'fd-cache', 'assign', 'state', 'redis-url',
  'auth', 'auth-realm', 'auth-users', 'auth-redis-hash', 'auth-nonce-ttl', 'auth-algorithms', 'auth-max-failures', 'auth-failure-window',
  'tls-cert', 'tls-key', 'tls-ca', 'tls-verify-client', 'tls-resumption', 'tls-ciphers', 'tls-min-version', 'tls-max-version', 'tls-handshake-timeout',
] as const;
const TLS_KEYS = CONFIG_KEYS.filter((key) => key.startsWith('tls-'));
type ConfigKey = (typeof CONFIG_KEYS)[number];
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Raw values, as commander gives them or the config file holds them. */
export type RawServeOptions = Partial<Record<ConfigKey, unknown>> & { config?: string };

function fail(source: 'flag' | 'config', key: string, message: string): never {
  if (source === 'flag') throw new SwitchboardError('ERR_SWITCHBOARD_INVALID_FLAG', `--${key}: ${message}`);
  throw new SwitchboardError('ERR_SWITCHBOARD_INVALID_CONFIG', `config key "${key}": ${message}`);
}

/** `udp:HOST:PORT`, `tcp:HOST:PORT` or `tls:HOST:PORT` (IPv6 hosts in brackets). */
export function parseListen(text: string, source: 'flag' | 'config' = 'flag'): ListenSpec {
  const match = /^(udp|tcp|tls):(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : -1;
  if (match === null || port > 65535) fail(source, 'listen', `"${text}" is not udp:HOST:PORT, tcp:HOST:PORT or tls:HOST:PORT`);
  const protocol = match[1] as ListenSpec['protocol'];
  return { protocol, host: (match[2] as string).replace(/^\[|\]$/g, ''), port };
}

type Picked = { value: unknown; source: 'flag' | 'config' };

function credentialsError(picked: Picked, key: string, message: string): never {
  const where = picked.source === 'flag' ? `--${key}` : `config key "${key}"`;
  throw new SwitchboardError('ERR_SWITCHBOARD_TLS_CREDENTIALS', `${where}: ${message}`);
}

/** Reads a TLS file named by a flag; an unreadable one is an error naming the flag. */
async function readTlsFile(picked: Picked, key: string): Promise<{ path: string; text: string }> {
  if (typeof picked.value !== 'string' || picked.value.length === 0) fail(picked.source, key, 'must be a file name');
  try {
    return { path: picked.value, text: await readFile(picked.value, 'utf8') };
  } catch (error) {
    return credentialsError(picked, key, `cannot read ${picked.value}: ${(error as Error).message}`);
  }
}

/**
 * The TLS settings of a run with a `tls:` listener: the files are read and checked here (a PEM
 * certificate, its private key, PEM CA certificates), so that workers, which read them again, do
 * not fail one by one; the choices are checked against what OpenSSL accepts.
 */
async function resolveTls(pick: (key: ConfigKey) => Picked, hasTlsListener: boolean, listenSource: 'flag' | 'config'): Promise<TlsFileSettings | undefined> {
  if (!hasTlsListener) {
    for (const key of TLS_KEYS) {
      const picked = pick(key);
      if (picked.value !== undefined) fail(picked.source, key, 'is only used with a TLS listener (--listen tls:HOST:PORT)');
    }
    return undefined;
  }
  const certValue = pick('tls-cert');
  const keyValue = pick('tls-key');
  if (certValue.value === undefined) fail(listenSource, 'tls-cert', 'a TLS listener needs a certificate: --tls-cert FILE (PEM), and its key: --tls-key FILE');
  if (keyValue.value === undefined) fail(listenSource, 'tls-key', 'a TLS listener needs the private key of --tls-cert: --tls-key FILE (PEM)');
  const cert = await readTlsFile(certValue, 'tls-cert');
  const key = await readTlsFile(keyValue, 'tls-key');
  try {
    tls.createSecureContext({ cert: cert.text });
  } catch (error) {
    credentialsError(certValue, 'tls-cert', `${cert.path} does not hold a PEM certificate (${(error as Error).message})`);
  }
  try {
    tls.createSecureContext({ key: key.text });
  } catch (error) {
    credentialsError(keyValue, 'tls-key', `${key.path} does not hold a PEM private key (${(error as Error).message})`);
  }
  try {
    tls.createSecureContext({ cert: cert.text, key: key.text });
  } catch (error) {
    credentialsError(keyValue, 'tls-key', `${key.path} is not the private key of the certificate in ${cert.path} (${(error as Error).message})`);
  }

  const caValue = pick('tls-ca');
  let caFile: string | undefined;
  if (caValue.value !== undefined) {
    const ca = await readTlsFile(caValue, 'tls-ca');
    const blocks = ca.text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0) credentialsError(caValue, 'tls-ca', `${ca.path} holds no PEM certificate`);
    for (const block of blocks) {
      try {
        new X509Certificate(block);
      } catch (error) {
        credentialsError(caValue, 'tls-ca', `${ca.path} holds a certificate that cannot be read (${(error as Error).message})`);
      }
    }
    caFile = ca.path;
  }

  const verifyValue = pick('tls-verify-client');
  if (verifyValue.value !== undefined && typeof verifyValue.value !== 'boolean') fail(verifyValue.source, 'tls-verify-client', 'must be true or false');
  const verifyClient = verifyValue.value === true;
  if (verifyClient && caFile === undefined) fail(verifyValue.source, 'tls-verify-client', 'needs --tls-ca FILE: the CA that issues the clients\' certificates');

  const resumptionValue = pick('tls-resumption');
  const resumptionText = resumptionValue.value === true ? 'on' : resumptionValue.value === false ? 'off' : (resumptionValue.value ?? 'on');
  if (resumptionText !== 'on' && resumptionText !== 'off') fail(resumptionValue.source, 'tls-resumption', 'must be on or off');

  const ciphersValue = pick('tls-ciphers');
  let ciphers: string | undefined;
  if (ciphersValue.value !== undefined) {
    if (typeof ciphersValue.value !== 'string' || ciphersValue.value.length === 0) fail(ciphersValue.source, 'tls-ciphers', 'must be an OpenSSL cipher list');
    try {
      tls.createSecureContext({ ciphers: ciphersValue.value });
    } catch (error) {
      fail(ciphersValue.source, 'tls-ciphers', `"${ciphersValue.value}" names no cipher OpenSSL has (${(error as Error).message}); see \`openssl ciphers -v\``);
    }
    ciphers = ciphersValue.value;
  }

  const version = (versionKey: 'tls-min-version' | 'tls-max-version'): TlsVersion | undefined => {
    const picked = pick(versionKey);
    if (picked.value === undefined) return undefined;
    if (!TLS_VERSIONS.includes(picked.value as TlsVersion)) fail(picked.source, versionKey, `must be one of ${TLS_VERSIONS.join(', ')}`);
    return picked.value as TlsVersion;
  };
  const minVersion = version('tls-min-version');
  const maxVersion = version('tls-max-version');
  if (minVersion !== undefined && maxVersion !== undefined && TLS_VERSIONS.indexOf(minVersion) > TLS_VERSIONS.indexOf(maxVersion)) {
    fail(pick('tls-max-version').source, 'tls-max-version', `${maxVersion} is below --tls-min-version ${minVersion}`);
  }

  const handshakeTimeoutSeconds = positiveNumber(pick('tls-handshake-timeout'), 'tls-handshake-timeout', 10);
  return {
    certFile: cert.path,
    keyFile: key.path,
    caFile,
    verifyClient,
    resumption: resumptionText === 'on',
    ciphers,
    minVersion,
    maxVersion,
    handshakeTimeoutMs: handshakeTimeoutSeconds * 1000,
  };
}

function parseHostPort(text: string, source: 'flag' | 'config', key: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(text);
  if (match === null || Number(match[2]) > 65535) fail(source, key, `"${text}" is not HOST:PORT`);
  return { host: (match[1] as string).replace(/^\[|\]$/g, ''), port: Number(match[2]) };
}

function stringList(value: unknown, source: 'flag' | 'config', key: string): string[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  if (!list.every((item) => typeof item === 'string' && item.length > 0)) fail(source, key, 'must be a string or a list of strings');
  return list as string[];
}

/** A positive number (seconds or milliseconds, as the key says). */
function positiveNumber(picked: { value: unknown; source: 'flag' | 'config' }, key: string, fallback: number): number {
  const value = Number(picked.value ?? fallback);
  if (typeof picked.value === 'boolean' || !Number.isFinite(value) || value <= 0) fail(picked.source, key, 'must be a positive number');
  return value;
}

async function readConfig(path: string): Promise<RawServeOptions> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new SwitchboardError('ERR_SWITCHBOARD_INVALID_CONFIG', `--config: cannot read ${path}: ${(error as Error).message}`);
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new SwitchboardError('ERR_SWITCHBOARD_INVALID_CONFIG', `--config: ${path} is not valid YAML: ${(error as Error).message}`);
  }
  if (document === null || document === undefined) return {};
  if (typeof document !== 'object' || Array.isArray(document)) {
    throw new SwitchboardError('ERR_SWITCHBOARD_INVALID_CONFIG', `--config: ${path} must hold a mapping of keys to values`);
  }
  for (const key of Object.keys(document)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(key)) {
      fail('config', key, `unknown key (known keys: ${CONFIG_KEYS.join(', ')})`);
    }
  }
  return document as RawServeOptions;
}

/**
 * Merges the config file (if any) under the flags given on the command line and checks every
 * value. `given` lists the flags the user typed (commander fills defaults for the others).
 */
export async function resolveServeSettings(flags: RawServeOptions, given: ReadonlySet<string>): Promise<ServeSettings> {
  const file = flags.config === undefined ? {} : await readConfig(flags.config);
  const pick = (key: ConfigKey): { value: unknown; source: 'flag' | 'config' } =>
    given.has(key) || file[key] === undefined ? { value: flags[key], source: 'flag' } : { value: file[key], source: 'config' };

  const listenValue = pick('listen');
  const listen = stringList(listenValue.value, listenValue.source, 'listen').map((spec) => parseListen(spec, listenValue.source));
  if (listen.length === 0) fail(listenValue.source, 'listen', 'at least one listener is needed');

  const domainValue = pick('domain');
  const domains = stringList(domainValue.value, domainValue.source, 'domain');

  const routeValue = pick('default-route');
  let defaultRoute: string | undefined;
  if (routeValue.value !== undefined) {
    if (typeof routeValue.value !== 'string') fail(routeValue.source, 'default-route', 'must be a SIP URI');
    try {
      if (!isSipUri(parseUri(routeValue.value))) fail(routeValue.source, 'default-route', 'must be a sip: or sips: URI');
    } catch (error) {
      if (error instanceof SwitchboardError) throw error;
      fail(routeValue.source, 'default-route', `"${routeValue.value}" is not a SIP URI (${(error as Error).message})`);
    }
    defaultRoute = routeValue.value;
  }

  const advertiseValue = pick('advertise');
  if (advertiseValue.value !== undefined && typeof advertiseValue.value !== 'string') fail(advertiseValue.source, 'advertise', 'must be a host');

  const statelessValue = pick('stateless');
  if (statelessValue.value !== undefined && typeof statelessValue.value !== 'boolean') fail(statelessValue.source, 'stateless', 'must be true or false');

  const idleTimeoutSeconds = positiveNumber(pick('idle-timeout'), 'idle-timeout', 120);
  const headerTimeoutSeconds = positiveNumber(pick('header-timeout'), 'header-timeout', 10);

  const timers = {
    t1: positiveNumber(pick('t1'), 't1', 500),
    t2: positiveNumber(pick('t2'), 't2', 4000),
    t4: positiveNumber(pick('t4'), 't4', 5000),
  };
  if (timers.t2 < timers.t1) fail(pick('t2').source, 't2', 'must not be shorter than t1');

  const levelValue = pick('log-level');
  const logLevel = String(levelValue.value ?? 'info');
  if (!LOG_LEVELS.includes(logLevel)) fail(levelValue.source, 'log-level', `must be one of ${LOG_LEVELS.join(', ')}`);

  const metricsValue = pick('metrics');
  let metrics: ServeSettings['metrics'];
  if (metricsValue.value !== undefined) {
    if (typeof metricsValue.value !== 'string') fail(metricsValue.source, 'metrics', 'must be HOST:PORT');
    metrics = parseHostPort(metricsValue.value, metricsValue.source, 'metrics');
  }

  const modelValue = pick('model');
  const model = (modelValue.value ?? 'event-loop') as Model;
  if (!MODELS.includes(model)) fail(modelValue.source, 'model', `must be one of ${MODELS.join(', ')}`);

  const workersValue = pick('workers');
  let workers = 1;
  if (model !== 'event-loop') {
    workers = positiveNumber(workersValue, 'workers', cpus().length);
    if (!Number.isInteger(workers) || workers > 64) fail(workersValue.source, 'workers', 'must be a whole number from 1 to 64');
  } else if (workersValue.value !== undefined && Number(workersValue.value) !== 1) {
    fail(workersValue.source, 'workers', '--model event-loop runs one worker; choose --model process-pool or thread-pool for more');
  }

  const cacheValue = pick('fd-cache');
  let fdCache = 0;
  if (cacheValue.value !== undefined && cacheValue.value !== false) {
    fdCache = cacheValue.value === true ? DEFAULT_FD_CACHE : positiveNumber(cacheValue, 'fd-cache', DEFAULT_FD_CACHE);
    if (!Number.isInteger(fdCache)) fail(cacheValue.source, 'fd-cache', 'must be a whole number of handles');
    if (model !== 'process-pool') fail(cacheValue.source, 'fd-cache', `only the process-pool passes connection handles; --model ${model} has none to cache`);
  }

  const assignValue = pick('assign');
  const assign = (assignValue.value ?? 'round-robin') as AssignStrategy;
  if (assign !== 'round-robin' && assign !== 'least-loaded') fail(assignValue.source, 'assign', 'must be round-robin or least-loaded');

  const stateValue = pick('state');
  const state = (stateValue.value ?? DEFAULT_STATE[model]) as StateKind;
  if (!STATE_KINDS.includes(state)) fail(stateValue.source, 'state', `must be one of ${STATE_KINDS.join(', ')}`);
  if (!STATE_FOR_MODEL[model].includes(state)) {
    const why = model === 'process-pool' ? 'worker processes share no memory, so registrations must live in Redis' : state === 'local' ? 'threads would each keep their own registrations' : 'a SharedArrayBuffer is shared by threads only';
    fail(stateValue.source, 'state', `--model ${model} cannot run with --state ${state}: ${why} (use --state ${STATE_FOR_MODEL[model].join(' or ')})`);
  }
  const redisValue = pick('redis-url');
  if (redisValue.value !== undefined && (typeof redisValue.value !== 'string' || !/^rediss?:\/\//.test(redisValue.value))) fail(redisValue.source, 'redis-url', 'must be a redis:// or rediss:// URL');
  const redisUrl = redisValue.value as string | undefined;
  if (state === 'redis' && redisUrl === undefined) fail(stateValue.source, 'state', `--state redis${model === 'process-pool' ? ' (which --model process-pool needs)' : ''} needs --redis-url redis://HOST:PORT`);
  const auth = await resolveAuth(pick, domains, redisUrl, flags.config);
  if (state !== 'redis' && redisUrl !== undefined && auth?.redisHash === undefined) fail(redisValue.source, 'redis-url', `is only used with --state redis or --auth-redis-hash (state is ${state})`);

  const idleValue = pick('idle-strategy');
  const idleStrategy = (idleValue.value ?? 'heap') as IdleStrategy;
  if (idleStrategy !== 'scan' && idleStrategy !== 'heap') fail(idleValue.source, 'idle-strategy', 'must be scan or heap');

  const tlsSettings = await resolveTls(pick, listen.some((spec) => spec.protocol === 'tls'), listenValue.source);

  return {
    model,
    workers,
    fdCache,
    assign,
    state,
    redisUrl,
    idleStrategy,
    auth,
    listen,
    domains,
    defaultRoute,
    advertise: advertiseValue.value as string | undefined,
    stateless: statelessValue.value === true,
    idleTimeoutSeconds,
    headerTimeoutSeconds,
    timers,
    logLevel,
    metrics,
    tls: tlsSettings,
  };
}

type Pick = (key: ConfigKey) => { value: unknown; source: 'flag' | 'config' };

/** The `--auth*` flags: checked together, the users file read once here so its errors come at start. */
async function resolveAuth(pick: Pick, domains: readonly string[], redisUrl: string | undefined, configPath: string | undefined): Promise<AuthSettings | undefined> {
  const modeValue = pick('auth');
  const mode = String(modeValue.value ?? 'off');
  if (!(AUTH_MODES as readonly string[]).includes(mode)) fail(modeValue.source, 'auth', `must be one of ${AUTH_MODES.join(', ')}`);
  const keys = ['auth-realm', 'auth-users', 'auth-redis-hash', 'auth-nonce-ttl', 'auth-algorithms', 'auth-max-failures', 'auth-failure-window'] as const;
  if (mode === 'off') {
    for (const key of keys) {
      const given = pick(key);
      if (given.value !== undefined) fail(given.source, key, 'is only used with --auth register, invite or all');
    }
    return undefined;
  }

  const realmValue = pick('auth-realm');
  if (realmValue.value !== undefined && (typeof realmValue.value !== 'string' || realmValue.value.length === 0 || /["\\\r\n]/.test(realmValue.value))) fail(realmValue.source, 'auth-realm', 'must be a non-empty realm without quotes, backslashes or line breaks');
  const realm = (realmValue.value as string | undefined) ?? domains[0];
  if (realm === undefined) fail(realmValue.source, 'auth-realm', 'is needed when no --domain is given (the realm defaults to the first domain)');

  const algorithmsValue = pick('auth-algorithms');
  let algorithms: DigestAlgorithm[] = [...DEFAULT_AUTH_ALGORITHMS];
  if (algorithmsValue.value !== undefined) {
    const names = Array.isArray(algorithmsValue.value) ? algorithmsValue.value : String(algorithmsValue.value).split(',');
    algorithms = names.map((name) => {
      const algorithm = typeof name === 'string' ? digestAlgorithm(name.trim()) : undefined;
      if (algorithm === undefined) return fail(algorithmsValue.source, 'auth-algorithms', `"${String(name)}" is not one of ${DIGEST_ALGORITHMS.join(', ')}`);
      return algorithm;
    });
    if (algorithms.length === 0 || new Set(algorithms).size !== algorithms.length) fail(algorithmsValue.source, 'auth-algorithms', 'must list each algorithm at most once, at least one');
  }

  const nonceTtlSeconds = positiveNumber(pick('auth-nonce-ttl'), 'auth-nonce-ttl', 300);
  const maxFailuresValue = pick('auth-max-failures');
  const maxFailures = positiveNumber(maxFailuresValue, 'auth-max-failures', 10);
  if (!Number.isInteger(maxFailures)) fail(maxFailuresValue.source, 'auth-max-failures', 'must be a whole number of failures');
  const failureWindowSeconds = positiveNumber(pick('auth-failure-window'), 'auth-failure-window', 60);

  const usersValue = pick('auth-users');
  const hashValue = pick('auth-redis-hash');
  if ((usersValue.value === undefined) === (hashValue.value === undefined)) fail(usersValue.value === undefined ? modeValue.source : usersValue.source, usersValue.value === undefined ? 'auth' : 'auth-users', `--auth ${mode} needs credentials: give exactly one of --auth-users FILE and --auth-redis-hash KEY`);
  let usersFile: string | undefined;
  if (usersValue.value !== undefined) {
    if (typeof usersValue.value !== 'string' || usersValue.value.length === 0) fail(usersValue.source, 'auth-users', 'must be a file name');
    // Workers read it themselves: an absolute path (a config file's paths are relative to it).
    usersFile = resolve(usersValue.source === 'config' && configPath !== undefined ? dirname(configPath) : '.', usersValue.value);
    let users;
    try {
      users = await loadUsersFile(usersFile);
    } catch (error) {
      if (error instanceof AuthConfigError) throw new SwitchboardError(error.code, `--auth-users: ${error.message}`);
      throw error;
    }
    if (!users.realms.has(realm)) throw new SwitchboardError('ERR_SWITCHBOARD_AUTH_USERS', `--auth-users: ${usersFile} has no user in realm "${realm}" (--auth-realm), so nobody could authenticate`);
  }
  let redisHash: string | undefined;
  if (hashValue.value !== undefined) {
    if (typeof hashValue.value !== 'string' || hashValue.value.length === 0) fail(hashValue.source, 'auth-redis-hash', 'must be a Redis key');
    if (redisUrl === undefined) fail(hashValue.source, 'auth-redis-hash', 'needs --redis-url redis://HOST:PORT');
    redisHash = hashValue.value;
  }
  return { mode: mode as AuthMode, realm, algorithms, nonceTtlSeconds, maxFailures, failureWindowSeconds, ...(usersFile === undefined ? {} : { usersFile }), ...(redisHash === undefined ? {} : { redisHash }) };
}
