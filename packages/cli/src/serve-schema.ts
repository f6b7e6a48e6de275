/**
 * Every option of `switchboard serve`, once: flag, config key, kind, default, doc and check. The
 * flags, the config-file check, the values' type and docs/configuration.md all come from here;
 * rules that tie several options together live in serve-options.ts.
 */
import { isSipUri, parseUri } from '@switchboard/sip';
import { AUTH_MODES, DEFAULT_AUTH_ALGORITHMS, TLS_VERSIONS } from '@switchboard/core';
import { MODELS, SHARED_RESPONSES, STATE_KINDS, TRANSACTIONS_MODES, parseRedisTarget } from '@switchboard/cluster';
import { BENCH_OPTIONS } from './bench-schema.js';
import { renderOptionsReference, type OptionSpec } from './option-schema.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The fd cache size `--fd-cache` alone means (Kamailio keeps 8 handles per process). */
export const DEFAULT_FD_CACHE = 8;

function sipUriProblem(text: string): string | undefined {
  try {
    return isSipUri(parseUri(text)) ? undefined : 'must be a sip: or sips: URI';
  } catch (error) {
    return `"${text}" is not a SIP URI (${(error as Error).message})`;
  }
}

function redisUrlProblem(url: string): string | undefined {
  try {
    parseRedisTarget(url);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

export const SERVE_OPTIONS = [
  // ---- listeners and routing
  { key: 'listen', kind: 'list', arg: 'spec', default: ['udp:0.0.0.0:5060', 'tcp:0.0.0.0:5060'], scope: 'Listeners and routing', doc: 'a listener: udp:HOST:PORT, tcp:HOST:PORT or tls:HOST:PORT (IPv6 hosts in brackets); without a tcp listener the proxy still opens TCP connections to transport=tcp next hops (TLS likewise, given --tls-cert and --tls-key)' },
  { key: 'domain', kind: 'list', arg: 'name', default: [], scope: 'Listeners and routing', doc: 'a domain whose users register here; requests for them go to their registered contacts' },
  { key: 'default-route', kind: 'text', arg: 'uri', scope: 'Listeners and routing', doc: 'where requests go that are not for a local domain or a registered user, e.g. sip:10.0.0.2:5060;transport=tcp', check: (uri: string) => sipUriProblem(uri) },
  { key: 'advertise', kind: 'text', arg: 'host', defaultText: 'the listen host', scope: 'Listeners and routing', doc: 'host written into Via and Record-Route' },
  { key: 'stateless', kind: 'flag', default: false, scope: 'Listeners and routing', doc: 'forward without transaction state (RFC 3261 §16.11)' },
  // ---- transactions and connections
  { key: 't1', kind: 'number', arg: 'ms', default: 500, scope: 'Transactions and connections', doc: 'RFC 3261 timer T1, the round-trip estimate' },
  { key: 't2', kind: 'number', arg: 'ms', default: 4000, scope: 'Transactions and connections', doc: 'RFC 3261 timer T2, the longest retransmission interval (not shorter than t1)' },
  { key: 't4', kind: 'number', arg: 'ms', default: 5000, scope: 'Transactions and connections', doc: 'RFC 3261 timer T4, how long a message stays in the network' },
  { key: 'idle-timeout', kind: 'number', arg: 'seconds', default: 120, scope: 'Transactions and connections', doc: 'close TCP and TLS connections idle this long' },
  { key: 'header-timeout', kind: 'number', arg: 'seconds', default: 10, scope: 'Transactions and connections', doc: 'close a connection whose message takes longer than this to arrive' },
  { key: 'idle-strategy', kind: 'choice', choices: ['scan', 'heap'], default: 'heap', scope: 'Transactions and connections', doc: 'find idle connections by walking them all (OpenSER) or with an expiry heap' },
  // ---- concurrency model and state
  { key: 'model', kind: 'choice', choices: MODELS, default: 'event-loop', scope: 'Concurrency model and state', doc: 'concurrency architecture: event-loop, process-pool and thread-pool spread connections over workers; io-dispatch reads every socket in one process and sends each message to the least-loaded worker process (needs --transactions shared and --state redis; see docs/architecture.md)' },
  { key: 'workers', kind: 'number', arg: 'n', integer: true, max: 64, defaultText: 'the number of cores (1 for event-loop)', scope: 'Concurrency model and state', doc: 'worker processes or threads of the pools' },
  { key: 'fd-cache', kind: 'optional-number', arg: 'size', integer: true, flagDefault: DEFAULT_FD_CACHE, scope: 'Concurrency model and state', doc: "process-pool: keep up to SIZE handles of other workers' connections per worker" },
  { key: 'fd-request-wait', kind: 'flag', default: false, scope: 'Concurrency model and state', doc: "process-pool, lab knob: while a worker's fd request is outstanding it handles no other message (SIP or control; they wait, then run in order), as OpenSER's blocking fd request did; for reproducing study 002, not for service (see docs/architecture.md)" },
  { key: 'assign', kind: 'choice', choices: ['round-robin', 'least-loaded'], default: 'round-robin', scope: 'Concurrency model and state', doc: 'process-pool: how accepted connections are given to workers' },
  { key: 'supervisor-handles', kind: 'choice', choices: ['keep', 'release'], default: 'keep', scope: 'Concurrency model and state', doc: "process-pool: keep the supervisor's own handle of each TCP connection it hands over (workers that ask get copies and write themselves; when a worker dies its connections are handed to another worker; the supervisor holds one file per connection), or release it once handed over (other workers' writes are relayed through the owner, as TLS writes are; connections are then bounded by the workers' files, not the supervisor's, and die with their worker); see docs/architecture.md" },
  { key: 'max-connections', kind: 'number', arg: 'n', integer: true, defaultText: 'what the open-file limit allows the model (logged at start)', scope: 'Concurrency model and state', doc: 'accepted TCP and TLS connections open at once (all workers together); beyond it a new one is reset at once and counted (connections_refused, tcp_connections_refused)' },
  { key: 'state', kind: 'choice', choices: STATE_KINDS, defaultText: 'local; sab for thread-pool; redis for process-pool and io-dispatch', scope: 'Concurrency model and state', doc: 'where registrations and authentication state live' },
  { key: 'sab-bindings', kind: 'number', arg: 'n', integer: true, default: 65536, max: 1048576, scope: 'Concurrency model and state', doc: "--state sab: registrations (contacts) the thread-pool's SharedArrayBuffer location table holds, one 512-byte record each, allocated at start; a REGISTER that finds it full gets 503 with Retry-After (16,384 before this option: E5's thread-pool held no more)" },
  { key: 'transactions', kind: 'choice', choices: TRANSACTIONS_MODES, default: 'owned', scope: 'Concurrency model and state', doc: 'owned: each transaction lives in the worker that made it, and messages read by another worker are handed to it; shared: transactions are also kept in the --state store, so a retransmitted request is answered from it by whichever worker reads it, and the transactions of a dead worker are adopted by the others (work in progress, see docs/architecture.md; not with --stateless; --model io-dispatch needs shared)' },
  { key: 'shared-responses', kind: 'choice', choices: SHARED_RESPONSES, default: 'by-holder', scope: 'Concurrency model and state', doc: "--transactions shared, process-pool and thread-pool: who handles a response read by a worker that does not run its transaction: by-holder, the worker holding the transaction's lease, to which it is handed (one store lookup, one IPC message); where-read, the reader itself for provisional and 2xx responses, as any OpenSER process did (two store round trips, no hand-off; failures and CANCELs still go to the holder; see docs/architecture.md)" },
  { key: 'transaction-lease-ms', kind: 'number', arg: 'ms', integer: true, default: 3000, max: 600000, scope: 'Concurrency model and state', doc: "--transactions shared: how long a worker's lease on a transaction lasts unless renewed; when a worker of this proxy dies, its pool tells the others, which take its transactions over at once (and run their timers); a lease of any other owner (another instance's worker, a worker stalled past it) is adopted once it lapses, by the sweep (--transaction-adoption-sweep-ms)" },
  { key: 'transaction-lease-tick-ms', kind: 'number', arg: 'ms', integer: true, default: 1000, max: 600000, scope: 'Concurrency model and state', doc: '--transactions shared: how often each worker renews the leases it holds (one store call per transaction); shorter than --transaction-lease-ms' },
  { key: 'transaction-adoption-sweep-ms', kind: 'number', arg: 'ms', integer: true, max: 3600000, defaultText: 'ten lease ticks (10000 with the default tick)', scope: 'Concurrency model and state', doc: "--transactions shared: how often each worker searches the store for lapsed leases of any owner to adopt (in Redis, one script per bucket: 256); a dead worker of this proxy is taken over at its death notice without waiting for it, so the sweep is for other instances' workers on the same store and for workers stalled past their lease: they are adopted within about --transaction-lease-ms plus this" },
  { key: 'redis-url', kind: 'text', arg: 'url', scope: 'Concurrency model and state', doc: 'Redis for --state redis and --auth-redis-hash: one server, redis://127.0.0.1:6379 (rediss:// for TLS), or a Redis Cluster, redis+cluster://10.0.0.1:7000,10.0.0.2:7000 (seed nodes, comma-separated; rediss+cluster:// for TLS; user:password@ before the first applies to every node)', check: (url: string) => redisUrlProblem(url) },
  // ---- overload control
  { key: 'overload', kind: 'toggle', default: false, scope: 'Overload control', doc: 'shed new work (out-of-dialog INVITE, REGISTER, SUBSCRIBE ...) with 503 and Retry-After, before the parse, while a worker is overloaded; ACK, BYE, CANCEL, in-dialog requests and responses always go on; RFC 7339 oc toward clients and next hops that support it (see docs/architecture.md)' },
  { key: 'overload-utilization', kind: 'number', arg: 'fraction', zero: true, max: 1, default: 0.9, scope: 'Overload control', doc: 'event-loop utilization (0 to 1) over one sample at or above which a worker is busy; three busy samples in a row are an overload' },
  { key: 'overload-lag', kind: 'number', arg: 'ms', default: 100, scope: 'Overload control', doc: 'event-loop lag at or above which a worker is busy (as --overload-utilization)' },
  { key: 'overload-queue-delay', kind: 'number', arg: 'ms', zero: true, default: 200, max: 10000, scope: 'Overload control', doc: 'time a datagram waits in the UDP socket\'s receive queue (measured by a probe each worker sends itself once a sample), or work handed to a thread-pool thread waits in its inbox (a probe from each other thread), at or above which a worker is busy; it replaces --overload-utilization for datagrams and trunk connections, which under a CPU quota reads a worker that keeps up as overloaded; 0: utilization decides for them too' },
  { key: 'overload-interval', kind: 'number', arg: 'ms', integer: true, default: 100, max: 10000, scope: 'Overload control', doc: 'how often each worker samples its event loop; while overloaded the admitted rate of new requests falls to 0.8 of what was admitted per sample, and climbs by x1.1 + 2/s per calm one' },
  { key: 'overload-retry-after', kind: 'number', arg: 'seconds', integer: true, default: 2, max: 3600, scope: 'Overload control', doc: 'Retry-After of the 503s' },
  { key: 'overload-reject-rate', kind: 'number', arg: 'per-second', default: 10000, scope: 'Overload control', doc: '503s a worker sends per second at most; below it, one 503 per new request it admits (at least 20 a second: a 503 costs about a third of an admitted REGISTER, and phones that ignore Retry-After ask again at once); requests shed beyond are dropped (and counted); a UDP retransmission of a refused request is answered within this cap alone' },
  { key: 'overload-kernel-filter', kind: 'toggle', default: true, scope: 'Overload control', doc: 'while a worker limits, the kernel drops a share of the REGISTER datagrams on its UDP socket before it reads them (a socket filter, steered so that it reads about twice what it admits; REGISTER alone, never sent inside a dialog): a dropped one costs the worker nothing and its client retransmits it; Linux on x64 or arm64, on the UDP socket of the event-loop\'s worker and of the thread-pool\'s parent, and on the process-pool\'s one shared socket, whose filter its workers set together; see docs/architecture.md' },
  { key: 'overload-oc-validity', kind: 'number', arg: 'ms', integer: true, zero: true, default: 500, max: 60000, scope: 'Overload control', doc: 'RFC 7339 oc-validity announced to clients whose Via carries oc' },
  // ---- observability
  { key: 'log-level', kind: 'choice', choices: LOG_LEVELS, default: 'info', scope: 'Observability', doc: 'pino log level' },
  { key: 'timing', kind: 'flag', default: false, scope: 'Observability', doc: 'event-loop: time each message from its read to the end of its sends (parse and each routing step stamped between), exported per message type as switchboard_message_service_seconds on --metrics (experiment E9)' },
  { key: 'timing-trace', kind: 'path', arg: 'file', scope: 'Observability', doc: 'with --timing: write a JSON line per sampled message (Call-ID, CSeq, type, wall-clock read time, parse, step and send times, service time) to FILE, for the lab' },
  { key: 'timing-sample', kind: 'number', arg: 'ratio', default: 0.1, max: 1, scope: 'Observability', doc: 'with --timing-trace: the share of calls traced (chosen by a hash of the Call-ID, so a call is traced whole)' },
  { key: 'metrics', kind: 'host-port', arg: 'host:port', scope: 'Observability', doc: 'serve Prometheus metrics at http://HOST:PORT/metrics' },
  // ---- digest authentication
  { key: 'auth', kind: 'choice', choices: AUTH_MODES, default: 'off', scope: 'Digest authentication', doc: 'REGISTER gets 401, INVITE (or, with all, every other request) 407; ACK, CANCEL and requests in dialogs we record-routed never' },
  { key: 'auth-realm', kind: 'text', arg: 'realm', defaultText: 'the first --domain', scope: 'Digest authentication', doc: 'realm of the challenges', check: (realm: string) => (/["\\\r\n]/.test(realm) ? 'must be a non-empty realm without quotes, backslashes or line breaks' : undefined) },
  { key: 'auth-users', kind: 'path', arg: 'file', scope: 'Digest authentication', doc: 'users file with HA1 per algorithm (switchboard users add writes it)' },
  { key: 'auth-redis-hash', kind: 'text', arg: 'key', scope: 'Digest authentication', doc: 'Redis hash of users (field user:realm, value HA1 per algorithm as JSON), at --redis-url' },
  { key: 'auth-nonce-ttl', kind: 'number', arg: 'seconds', default: 300, scope: 'Digest authentication', doc: 'nonce lifetime; an older nonce gets a new challenge with stale=true' },
  { key: 'auth-algorithms', kind: 'csv', arg: 'list', default: DEFAULT_AUTH_ALGORITHMS, scope: 'Digest authentication', doc: 'algorithms offered, one challenge each, in this order; MD5 is what common phones answer, SHA-256 and SHA-512-256 (RFC 8760) are opt-in (see docs/architecture.md)' },
  { key: 'auth-max-failures', kind: 'number', arg: 'n', integer: true, default: 10, scope: 'Digest authentication', doc: 'failed attempts per source address before its credentials are refused (403, Retry-After: the seconds left) for the rest of the window; attempts in flight at once count too' },
  { key: 'auth-failure-window', kind: 'number', arg: 'seconds', default: 60, scope: 'Digest authentication', doc: 'window of the failure count' },
  // ---- TLS
  { key: 'tls-cert', kind: 'path', arg: 'file', scope: 'TLS', doc: "PEM certificate (chain) of the proxy; needed by a tls: listener, and offered as client certificate to callees that ask" },
  { key: 'tls-key', kind: 'path', arg: 'file', scope: 'TLS', doc: 'PEM private key of --tls-cert' },
  { key: 'tls-ca', kind: 'path', arg: 'file', defaultText: "Node's root CAs", scope: 'TLS', doc: "PEM CA certificates that clients' and callees' certificates must chain to" },
  { key: 'tls-verify-client', kind: 'flag', default: false, scope: 'TLS', doc: 'mutual authentication: a client certificate issued by --tls-ca is required' },
  { key: 'tls-resumption', kind: 'toggle', default: true, scope: 'TLS', doc: 'session resumption by tickets and session ids, as server and as client' },
  { key: 'tls-ciphers', kind: 'text', arg: 'list', defaultText: "OpenSSL's", scope: 'TLS', doc: 'OpenSSL cipher list (TLS 1.3 suites may be named in it)' },
  { key: 'tls-min-version', kind: 'choice', choices: TLS_VERSIONS, defaultText: 'TLSv1.2', scope: 'TLS', doc: 'lowest version accepted' },
  { key: 'tls-max-version', kind: 'choice', choices: TLS_VERSIONS, defaultText: 'TLSv1.3', scope: 'TLS', doc: 'highest version offered' },
  { key: 'tls-handshake-timeout', kind: 'number', arg: 'seconds', default: 10, scope: 'TLS', doc: 'close a connection whose handshake is not done by then' },
] as const satisfies readonly OptionSpec[];

export type ServeOptionKey = (typeof SERVE_OPTIONS)[number]['key'];

/** The keys of one scope (rules such as "only with a TLS listener" apply to them together). */
export function serveKeysOf(scope: (typeof SERVE_OPTIONS)[number]['scope']): ServeOptionKey[] {
  return SERVE_OPTIONS.filter((spec) => spec.scope === scope).map((spec) => spec.key);
}

const SERVE_DOC_INTRO = [
  'Every flag is also a key of the YAML file given with `--config FILE` (see `configs/proxy.yaml`); a flag typed on the',
  'command line wins over the file, and file names in the file are relative to its folder. Options that depend on each',
  'other (model and state, TLS files and a `tls:` listener, `--auth` and its credentials) are checked together at start;',
  'an error names the flag or key at fault (`ERR_SWITCHBOARD_INVALID_FLAG`, `ERR_SWITCHBOARD_INVALID_CONFIG`).',
].join('\n');

const BENCH_DOC_INTRO = [
  'The load generator\'s flags (see [lab.md](lab.md) for what it measures and how to read its result). Ranges and',
  'combinations the table cannot say (closed or open loop, connection lifetimes, TLS files) are checked when it starts',
  '(`ERR_SWITCHBOARD_BENCH_OPTION`).',
].join('\n');

/** docs/configuration.md as `npm run docs:configuration` writes it: serve's options, then bench's. */
export function renderConfigurationDoc(): string {
  const section = (title: string, intro: string, specs: readonly OptionSpec[]): string => renderOptionsReference(title, intro, specs).replace(/^#/gm, '##');
  return [
    '# Configuration reference',
    '',
    'Generated from the option schemas (`packages/cli/src/serve-schema.ts`, `bench-schema.ts`) by `npm run docs:configuration`;',
    'a test fails when this page is stale. The same tables make the commands\' flags and check their values.',
    '',
    section('`switchboard serve`', SERVE_DOC_INTRO, SERVE_OPTIONS),
    section('`switchboard bench`', BENCH_DOC_INTRO, BENCH_OPTIONS),
  ].join('\n');
}
