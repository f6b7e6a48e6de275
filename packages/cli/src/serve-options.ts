/**
 * `switchboard serve`'s settings: the values of serve-schema.ts (flags over a config file over
 * defaults), then the rules that tie several options together (model and state, TLS files and a
 * `tls:` listener, `--auth` and its credentials), checked at start with errors naming the flag.
 */
import { randomBytes, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import tls from 'node:tls';
import { parse as parseYaml } from 'yaml';
import { DIGEST_ALGORITHMS, digestAlgorithm, type DigestAlgorithm } from '@switchboard/sip';
import { AuthConfigError, loadUsersFile, TLS_VERSIONS, type ListenSpec } from '@switchboard/core';
import { DEFAULT_STATE, STATE_FOR_MODEL, TRANSACTIONS_FOR_MODEL, type AssignStrategy, type SupervisorHandles, type AuthSettings, type Model, type ProxySettings, type TlsFileSettings } from '@switchboard/cluster';
import { SwitchboardError } from './errors.js';
import { checkConfigKeys, optionError, readSchemaValues, type ReadValues, type ValueSource } from './option-schema.js';
import { SERVE_OPTIONS, serveKeysOf, type ServeOptionKey } from './serve-schema.js';

export { DEFAULT_FD_CACHE } from './serve-schema.js';

/**
 * Everything `switchboard serve` runs with, after flags and config file are merged and checked:
 * the settings every worker's proxy gets (ProxySettings, plain data), and what only the command
 * and the model's start need. `proxySettingsOf` takes the former apart, so a flag that reaches the
 * proxy is written here once, in `resolveServeSettings`.
 */
export interface ServeSettings extends ProxySettings {
  readonly listen: ListenSpec[];
  readonly domains: string[];
  readonly auth: AuthSettings | undefined;
  readonly tls: TlsFileSettings | undefined;
  readonly logLevel: string;
  readonly metrics: { host: string; port: number } | undefined;
  readonly model: Model;
  /** Worker processes or threads (1 for event-loop). */
  readonly workers: number;
  /** process-pool: handles each worker caches (0: no cache). */
  readonly fdCache: number;
  readonly assign: AssignStrategy;
  /** process-pool: whether the supervisor keeps a handle of each TCP connection. */
  readonly supervisorHandles: SupervisorHandles;
  /** Accepted connections open at once (undefined: no cap). */
  readonly maxConnections: number | undefined;
}

/** The part of the settings every worker's proxy runs with. */
export function proxySettingsOf(settings: ServeSettings): ProxySettings {
  const { logLevel: _logLevel, metrics: _metrics, model: _model, workers: _workers, fdCache: _fdCache, assign: _assign, supervisorHandles: _handles, maxConnections: _max, ...proxy } = settings;
  return proxy;
}

/** Raw values, as commander gives them or the config file holds them, by key. */
export type RawServeOptions = Partial<Record<ServeOptionKey, unknown>> & { config?: string };

type Read = ReadValues<typeof SERVE_OPTIONS>;

function fail(source: ValueSource, key: string, message: string): never {
  throw optionError(source, key, message);
}

/** `udp:HOST:PORT`, `tcp:HOST:PORT` or `tls:HOST:PORT` (IPv6 hosts in brackets). */
export function parseListen(text: string, source: ValueSource = 'flag'): ListenSpec {
  const match = /^(udp|tcp|tls):(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : -1;
  if (match === null || port > 65535) fail(source, 'listen', `"${text}" is not udp:HOST:PORT, tcp:HOST:PORT or tls:HOST:PORT`);
  const protocol = match[1] as ListenSpec['protocol'];
  return { protocol, host: (match[2] as string).replace(/^\[|\]$/g, ''), port };
}

function credentialsError(source: ValueSource, key: string, message: string): never {
  const where = source === 'flag' ? `--${key}` : `config key "${key}"`;
  throw new SwitchboardError('ERR_SWITCHBOARD_TLS_CREDENTIALS', `${where}: ${message}`);
}

/** Reads a TLS file named by a flag; an unreadable one is an error naming the flag. */
async function readTlsFile(read: Read, key: 'tls-cert' | 'tls-key' | 'tls-ca', path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    return credentialsError(read.source(key), key, `cannot read ${path}: ${(error as Error).message}`);
  }
}

/** Fails naming the first key of `keys` that was set, when `applies` is false. */
function onlyWhen(read: Read, applies: boolean, keys: readonly ServeOptionKey[], message: string): void {
  if (applies) return;
  for (const key of keys) if (read.isSet(key)) fail(read.source(key), key, message);
}

/**
 * The TLS settings of a run with a `tls:` listener: the files are read and checked here (a PEM
 * certificate, its private key, PEM CA certificates), so that workers, which read them again, do
 * not fail one by one; the choices are checked against what OpenSSL accepts.
 */
async function resolveTls(read: Read, hasTlsListener: boolean): Promise<TlsFileSettings | undefined> {
  onlyWhen(read, hasTlsListener, serveKeysOf('TLS'), 'is only used with a TLS listener (--listen tls:HOST:PORT)');
  if (!hasTlsListener) return undefined;
  const v = read.values;
  const listenSource = read.source('listen');
  if (v['tls-cert'] === undefined) fail(listenSource, 'tls-cert', 'a TLS listener needs a certificate: --tls-cert FILE (PEM), and its key: --tls-key FILE');
  if (v['tls-key'] === undefined) fail(listenSource, 'tls-key', 'a TLS listener needs the private key of --tls-cert: --tls-key FILE (PEM)');
  const certFile = v['tls-cert'];
  const keyFile = v['tls-key'];
  const cert = await readTlsFile(read, 'tls-cert', certFile);
  const key = await readTlsFile(read, 'tls-key', keyFile);
  try {
    tls.createSecureContext({ cert });
  } catch (error) {
    credentialsError(read.source('tls-cert'), 'tls-cert', `${certFile} does not hold a PEM certificate (${(error as Error).message})`);
  }
  try {
    tls.createSecureContext({ key });
  } catch (error) {
    credentialsError(read.source('tls-key'), 'tls-key', `${keyFile} does not hold a PEM private key (${(error as Error).message})`);
  }
  try {
    tls.createSecureContext({ cert, key });
  } catch (error) {
    credentialsError(read.source('tls-key'), 'tls-key', `${keyFile} is not the private key of the certificate in ${certFile} (${(error as Error).message})`);
  }

  const caFile = v['tls-ca'];
  if (caFile !== undefined) {
    const ca = await readTlsFile(read, 'tls-ca', caFile);
    const blocks = ca.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0) credentialsError(read.source('tls-ca'), 'tls-ca', `${caFile} holds no PEM certificate`);
    for (const block of blocks) {
      try {
        new X509Certificate(block);
      } catch (error) {
        credentialsError(read.source('tls-ca'), 'tls-ca', `${caFile} holds a certificate that cannot be read (${(error as Error).message})`);
      }
    }
  }
  const verifyClient = v['tls-verify-client'];
  if (verifyClient && caFile === undefined) fail(read.source('tls-verify-client'), 'tls-verify-client', "needs --tls-ca FILE: the CA that issues the clients' certificates");

  const ciphers = v['tls-ciphers'];
  if (ciphers !== undefined) {
    try {
      tls.createSecureContext({ ciphers });
    } catch (error) {
      fail(read.source('tls-ciphers'), 'tls-ciphers', `"${ciphers}" names no cipher OpenSSL has (${(error as Error).message}); see \`openssl ciphers -v\``);
    }
  }
  const minVersion = v['tls-min-version'];
  const maxVersion = v['tls-max-version'];
  if (minVersion !== undefined && maxVersion !== undefined && TLS_VERSIONS.indexOf(minVersion) > TLS_VERSIONS.indexOf(maxVersion)) {
    fail(read.source('tls-max-version'), 'tls-max-version', `${maxVersion} is below --tls-min-version ${minVersion}`);
  }
  return {
    certFile,
    keyFile,
    caFile,
    verifyClient,
    resumption: v['tls-resumption'],
    ciphers,
    minVersion,
    maxVersion,
    handshakeTimeoutMs: v['tls-handshake-timeout'] * 1000,
  };
}

async function readConfig(path: string): Promise<Record<string, unknown>> {
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
  checkConfigKeys(document as Record<string, unknown>, SERVE_OPTIONS);
  return document as Record<string, unknown>;
}

/**
 * Merges the config file (if any) under the flags given on the command line and checks every
 * value. `given` lists the flags the user typed (the others fall back to the file, then to the
 * schema's defaults).
 */
export async function resolveServeSettings(flags: RawServeOptions, given: ReadonlySet<string>): Promise<ServeSettings> {
  const file = flags.config === undefined ? {} : await readConfig(flags.config);
  const read = readSchemaValues(SERVE_OPTIONS, flags, given, file, flags.config);
  const v = read.values;

  const listen = v.listen.map((spec) => parseListen(spec, read.source('listen')));
  if (listen.length === 0) fail(read.source('listen'), 'listen', 'at least one listener is needed');
  if (v.t2 < v.t1) fail(read.source('t2'), 't2', 'must not be shorter than t1');

  const model = v.model;
  let workers = 1;
  if (model !== 'event-loop') workers = v.workers ?? cpus().length;
  else if (v.workers !== undefined && v.workers !== 1) {
    fail(read.source('workers'), 'workers', '--model event-loop runs one worker; choose --model process-pool or thread-pool for more');
  }
  const fdCache = v['fd-cache'] ?? 0;
  if (fdCache > 0 && model !== 'process-pool') fail(read.source('fd-cache'), 'fd-cache', `only the process-pool passes connection handles; --model ${model} has none to cache`);
  const supervisorHandles = v['supervisor-handles'];
  if (supervisorHandles === 'release' && model !== 'process-pool') fail(read.source('supervisor-handles'), 'supervisor-handles', `only the process-pool has a supervisor; --model ${model} holds each connection once`);
  if (supervisorHandles === 'release' && fdCache > 0) fail(read.source('fd-cache'), 'fd-cache', 'with --supervisor-handles release there are no handles to ask for or cache (writes are relayed to the owner)');
  const fdRequestWait = v['fd-request-wait'];
  if (fdRequestWait && model !== 'process-pool') fail(read.source('fd-request-wait'), 'fd-request-wait', `only the process-pool makes fd requests; --model ${model} has none to wait for`);
  if (fdRequestWait && supervisorHandles === 'release') fail(read.source('fd-request-wait'), 'fd-request-wait', 'with --supervisor-handles release there are no fd requests (writes are relayed to the owner)');

  const state = v.state ?? DEFAULT_STATE[model];
  if (!STATE_FOR_MODEL[model].includes(state)) {
    const why = model === 'process-pool' || model === 'io-dispatch' ? 'worker processes share no memory, so registrations must live in Redis' : state === 'local' ? 'threads would each keep their own registrations' : 'a SharedArrayBuffer is shared by threads only';
    fail(read.source('state'), 'state', `--model ${model} cannot run with --state ${state}: ${why} (use --state ${STATE_FOR_MODEL[model].join(' or ')})`);
  }
  const redisUrl = v['redis-url'];
  if (state === 'redis' && redisUrl === undefined) fail(read.source('state'), 'state', `--state redis${model === 'process-pool' || model === 'io-dispatch' ? ` (which --model ${model} needs)` : ''} needs --redis-url redis://HOST:PORT (or redis+cluster://HOST:PORT,...)`);
  const auth = await resolveAuth(read, v.domain, redisUrl);
  if (state !== 'redis' && redisUrl !== undefined && auth?.redisHash === undefined) fail(read.source('redis-url'), 'redis-url', `is only used with --state redis or --auth-redis-hash (state is ${state})`);

  const transactions = v.transactions;
  if (transactions === 'shared' && v.stateless) fail(read.source('transactions'), 'transactions', '--transactions shared keeps transactions in the store; --stateless keeps none');
  // io-dispatch sends every message to the least-loaded worker: any worker must be able to handle it.
  if (!TRANSACTIONS_FOR_MODEL[model].includes(transactions)) fail(read.source('transactions'), 'transactions', `--model ${model} needs --transactions ${TRANSACTIONS_FOR_MODEL[model].join(' or ')}: every message goes to the least-loaded worker, so every worker must find every transaction (in Redis); not --transactions ${transactions}`);
  onlyWhen(read, transactions === 'shared', ['transaction-lease-ms', 'transaction-lease-tick-ms', 'transaction-adoption-sweep-ms'], 'is only used with --transactions shared');
  if (v['transaction-lease-tick-ms'] >= v['transaction-lease-ms']) fail(read.source('transaction-lease-tick-ms'), 'transaction-lease-tick-ms', 'must be shorter than --transaction-lease-ms (a lease must be renewed before it lapses)');
  const sharedResponses = v['shared-responses'];
  onlyWhen(read, transactions === 'shared' && (model === 'process-pool' || model === 'thread-pool'), ['shared-responses'], 'is only used with --transactions shared in the process-pool and the thread-pool (the event-loop has one worker; io-dispatch sends each response to a worker from its I/O process)');
  const sweepMs = v['transaction-adoption-sweep-ms'];
  const transactionLease = transactions === 'shared' ? { leaseMs: v['transaction-lease-ms'], tickMs: v['transaction-lease-tick-ms'], ...(sweepMs === undefined ? {} : { sweepMs }) } : undefined;

  const tlsSettings = await resolveTls(read, listen.some((spec) => spec.protocol === 'tls'));
  onlyWhen(read, v.timing, ['timing-trace', 'timing-sample'], 'is only used with --timing');
  if (v.timing && model !== 'event-loop') fail(read.source('timing'), 'timing', `is measured in the event-loop model only (a pool hands messages between workers); not with --model ${model}`);
  const timing = v.timing ? { traceFile: v['timing-trace'], sampleRatio: v['timing-sample'] } : undefined;
  onlyWhen(read, v.overload, serveKeysOf('Overload control').filter((key) => key !== 'overload'), 'is only used with --overload on');
  const overload = v.overload
    ? {
        utilization: v['overload-utilization'],
        lagMs: v['overload-lag'],
        intervalMs: v['overload-interval'],
        queueDelayMs: v['overload-queue-delay'],
        // One token for every worker: the process-pool's read one shared UDP socket.
        queueProbeToken: randomBytes(8).toString('hex'),
        retryAfterSeconds: v['overload-retry-after'],
        rejectRate: v['overload-reject-rate'],
        ocValidityMs: v['overload-oc-validity'],
        kernelFilter: v['overload-kernel-filter'],
      }
    : undefined;

  return {
    model,
    workers,
    fdCache,
    assign: v.assign,
    supervisorHandles,
    maxConnections: v['max-connections'],
    state,
    ...(state === 'sab' ? { sabBindings: v['sab-bindings'] } : {}),
    transactions,
    ...(fdRequestWait ? { fdRequestWait: true } : {}),
    ...(transactionLease === undefined ? {} : { transactionLease }),
    ...(sharedResponses === 'where-read' ? { sharedResponses } : {}),
    redisUrl,
    idleStrategy: v['idle-strategy'],
    auth,
    listen,
    domains: v.domain,
    defaultRoute: v['default-route'],
    advertise: v.advertise,
    stateless: v.stateless,
    idleTimeoutMs: v['idle-timeout'] * 1000,
    headerTimeoutMs: v['header-timeout'] * 1000,
    timers: { t1: v.t1, t2: v.t2, t4: v.t4 },
    logLevel: v['log-level'],
    metrics: v.metrics,
    tls: tlsSettings,
    timing,
    overload,
  };
}

/** The `--auth*` flags: checked together, the users file read once here so its errors come at start. */
async function resolveAuth(read: Read, domains: readonly string[], redisUrl: string | undefined): Promise<AuthSettings | undefined> {
  const v = read.values;
  const mode = v.auth;
  onlyWhen(read, mode !== 'off', serveKeysOf('Digest authentication').filter((key) => key !== 'auth'), 'is only used with --auth register, invite or all');
  if (mode === 'off') return undefined;

  const realm = v['auth-realm'] ?? domains[0];
  if (realm === undefined) fail(read.source('auth-realm'), 'auth-realm', 'is needed when no --domain is given (the realm defaults to the first domain)');

  const algorithms: DigestAlgorithm[] = v['auth-algorithms'].map((name) => digestAlgorithm(name) ?? fail(read.source('auth-algorithms'), 'auth-algorithms', `"${name}" is not one of ${DIGEST_ALGORITHMS.join(', ')}`));
  if (algorithms.length === 0 || new Set(algorithms).size !== algorithms.length) fail(read.source('auth-algorithms'), 'auth-algorithms', 'must list each algorithm at most once, at least one');

  const usersFile = v['auth-users'];
  const redisHash = v['auth-redis-hash'];
  if ((usersFile === undefined) === (redisHash === undefined)) {
    const key = usersFile === undefined ? 'auth' : 'auth-users';
    fail(read.source(key), key, `--auth ${mode} needs credentials: give exactly one of --auth-users FILE and --auth-redis-hash KEY`);
  }
  if (usersFile !== undefined) {
    let users;
    try {
      users = await loadUsersFile(usersFile);
    } catch (error) {
      if (error instanceof AuthConfigError) throw new SwitchboardError(error.code, `--auth-users: ${error.message}`);
      throw error;
    }
    if (!users.realms.has(realm)) throw new SwitchboardError('ERR_SWITCHBOARD_AUTH_USERS', `--auth-users: ${usersFile} has no user in realm "${realm}" (--auth-realm), so nobody could authenticate`);
  }
  if (redisHash !== undefined && redisUrl === undefined) fail(read.source('auth-redis-hash'), 'auth-redis-hash', 'needs --redis-url redis://HOST:PORT');
  return {
    mode,
    realm,
    algorithms,
    nonceTtlSeconds: v['auth-nonce-ttl'],
    maxFailures: v['auth-max-failures'],
    failureWindowSeconds: v['auth-failure-window'],
    ...(usersFile === undefined ? {} : { usersFile }),
    ...(redisHash === undefined ? {} : { redisHash }),
  };
}
