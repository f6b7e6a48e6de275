import { Command, Option } from 'commander';
import { pino } from 'pino';
import type { ListenSpec } from '@switchboard/core';
import { startModel, type RunningModel } from '@switchboard/cluster';
import { SwitchboardError } from './errors.js';
import { modelRegistry, startMetricsServer } from './metrics-server.js';
import { resolveServeSettings, type RawServeOptions } from './serve-options.js';

/** How long a graceful stop waits for transactions to finish. */
const DRAIN_MS = 5000;

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/**
 * The `--listen` a bind error is about: by the port it names (Node's error, or its message when
 * it came from a worker as `{code, message}`) and its syscall (`bind` for UDP, `listen` for TCP and
 * TLS). All of them when that cannot tell.
 */
export function failedListen(error: Error & { syscall?: string; port?: number }, listen: readonly ListenSpec[]): string {
  const port = error.port ?? Number(/:(\d+)\s*$/.exec(error.message)?.[1] ?? Number.NaN);
  const syscall = error.syscall ?? /^(bind|listen)\b/.exec(error.message)?.[1];
  const matches = listen.filter(
    (spec) => (Number.isNaN(port) || spec.port === port) && (syscall === undefined || (syscall === 'bind') === (spec.protocol === 'udp')),
  );
  const named = matches.length === 0 ? listen : matches;
  return named.map((spec) => `--listen ${spec.protocol}:${spec.host}:${spec.port}`).join(', ');
}

/** Whether a start-up error is a listener that could not bind (rather than, say, a worker that failed). */
function isBindError(error: Error & { code?: string }): boolean {
  return /^(EADDRINUSE|EADDRNOTAVAIL|EACCES)$/.test(error.code ?? '') || /^(bind|listen) E(ADDRINUSE|ADDRNOTAVAIL|ACCES)\b/.test(error.message);
}

export function serveCommand(): Command {
  const command = new Command('serve')
    .description('run the SIP proxy and registrar')
    .option('--config <file>', 'YAML file with the same keys as these flags (flags win)')
    .option('--listen <spec>', 'udp:HOST:PORT, tcp:HOST:PORT or tls:HOST:PORT (repeatable)', collect)
    .option('--domain <name>', 'a domain whose users register here (repeatable)', collect)
    .option('--default-route <uri>', 'where requests go that are not for a local domain or registered user, e.g. sip:10.0.0.2:5060;transport=tcp')
    .option('--t1 <ms>', 'RFC 3261 timer T1, the RTT estimate', '500')
    .option('--t2 <ms>', 'RFC 3261 timer T2, the longest retransmit interval', '4000')
    .option('--t4 <ms>', 'RFC 3261 timer T4, how long a message stays in the network', '5000')
    .option('--advertise <host>', 'host to write into Via and Record-Route (default: the listen host)')
    .option('--stateless', 'forward without transaction state (RFC 3261 §16.11)')
    .option('--idle-timeout <seconds>', 'close TCP connections idle this long', '120')
    .addOption(new Option('--idle-strategy <strategy>', 'find idle connections by walking them all (OpenSER) or with an expiry heap').choices(['scan', 'heap']).default('heap'))
    .addOption(new Option('--model <model>', 'concurrency architecture').choices(['event-loop', 'process-pool', 'thread-pool']).default('event-loop'))
    .option('--workers <n>', 'worker processes or threads (process-pool, thread-pool; default: the number of cores)')
    .option('--fd-cache [size]', 'process-pool: keep up to SIZE handles of other workers\' connections per worker (default 8)')
    .addOption(new Option('--assign <strategy>', 'process-pool: how accepted connections are given to workers').choices(['round-robin', 'least-loaded']).default('round-robin'))
    .addOption(new Option('--state <store>', 'where registrations live (default: local, sab for thread-pool, redis for process-pool)').choices(['local', 'sab', 'redis']))
    .option('--redis-url <url>', 'Redis for --state redis, e.g. redis://127.0.0.1:6379')
    .option('--header-timeout <seconds>', 'close a TCP connection whose message takes longer than this to arrive', '10')
    .addOption(new Option('--log-level <level>', 'pino log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'))
    .option('--metrics <host:port>', 'serve Prometheus metrics at http://HOST:PORT/metrics')
    .addOption(new Option('--auth <mode>', 'digest authentication: REGISTER (401), INVITE (407), all requests, or off').choices(['off', 'register', 'invite', 'all']).default('off'))
    .option('--auth-realm <realm>', 'realm of the challenges (default: the first --domain)')
    .option('--auth-users <file>', 'users file with HA1 per algorithm (switchboard users add writes it)')
    .option('--auth-redis-hash <key>', 'Redis hash of users (field user:realm, value HA1 per algorithm as JSON), at --redis-url')
    .option('--auth-nonce-ttl <seconds>', 'nonce lifetime; older nonces get a new challenge with stale=true (default 300)')
    .option('--auth-algorithms <list>', 'algorithms offered, one challenge each, in order (default SHA-256,SHA-512-256,MD5)')
    .option('--auth-max-failures <n>', 'failed authentications per source address before it is refused for the window (default 10)')
    .option('--auth-failure-window <seconds>', 'window of the failure count (default 60)')
    .option('--tls-cert <file>', 'TLS: PEM certificate (chain) of the proxy, as server and as client')
    .option('--tls-key <file>', 'TLS: PEM private key of --tls-cert')
    .option('--tls-ca <file>', 'TLS: PEM CA certificates trusted for clients and callees (default: Node\'s root CAs)')
    .option('--tls-verify-client', 'TLS: require a client certificate issued by --tls-ca (mutual authentication)')
    .addOption(new Option('--tls-resumption <on|off>', 'TLS: session resumption by tickets and session ids, server and client side (default on)').choices(['on', 'off']))
    .option('--tls-ciphers <list>', 'TLS: OpenSSL cipher list (TLS 1.3 suites may be named in it)')
    .addOption(new Option('--tls-min-version <version>', 'TLS: lowest version accepted (default TLSv1.2)').choices(['TLSv1.2', 'TLSv1.3']))
    .addOption(new Option('--tls-max-version <version>', 'TLS: highest version offered (default TLSv1.3)').choices(['TLSv1.2', 'TLSv1.3']))
    .option('--tls-handshake-timeout <seconds>', 'TLS: close a connection whose handshake takes longer (default 10)');
  command.action(async (flags: RawServeOptions, self: Command) => {
    const given = new Set(
      self.options
        .map((option) => option.attributeName())
        .filter((name) => self.getOptionValueSource(name) === 'cli')
        .map((name) => name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)),
    );
    const raw: RawServeOptions = {
      ...flags,
      'default-route': (flags as Record<string, unknown>).defaultRoute,
      'idle-timeout': (flags as Record<string, unknown>).idleTimeout,
      'header-timeout': (flags as Record<string, unknown>).headerTimeout,
      'log-level': (flags as Record<string, unknown>).logLevel,
      'idle-strategy': (flags as Record<string, unknown>).idleStrategy,
      'fd-cache': (flags as Record<string, unknown>).fdCache,
      'redis-url': (flags as Record<string, unknown>).redisUrl,
      'auth-realm': (flags as Record<string, unknown>).authRealm,
      'auth-users': (flags as Record<string, unknown>).authUsers,
      'auth-redis-hash': (flags as Record<string, unknown>).authRedisHash,
      'auth-nonce-ttl': (flags as Record<string, unknown>).authNonceTtl,
      'auth-algorithms': (flags as Record<string, unknown>).authAlgorithms,
      'auth-max-failures': (flags as Record<string, unknown>).authMaxFailures,
      'auth-failure-window': (flags as Record<string, unknown>).authFailureWindow,
      'tls-cert': (flags as Record<string, unknown>).tlsCert,
      'tls-key': (flags as Record<string, unknown>).tlsKey,
      'tls-ca': (flags as Record<string, unknown>).tlsCa,
      'tls-verify-client': (flags as Record<string, unknown>).tlsVerifyClient,
      'tls-resumption': (flags as Record<string, unknown>).tlsResumption,
      'tls-ciphers': (flags as Record<string, unknown>).tlsCiphers,
      'tls-min-version': (flags as Record<string, unknown>).tlsMinVersion,
      'tls-max-version': (flags as Record<string, unknown>).tlsMaxVersion,
      'tls-handshake-timeout': (flags as Record<string, unknown>).tlsHandshakeTimeout,
      listen: (flags as Record<string, unknown>).listen ?? (given.has('listen') ? undefined : ['udp:0.0.0.0:5060', 'tcp:0.0.0.0:5060']),
    };
    const settings = await resolveServeSettings(raw, given);
    const log = pino({ level: settings.logLevel, base: { pid: process.pid } });

    let running: RunningModel;
    try {
      running = await startModel({
        model: settings.model,
        workers: settings.workers,
        fdCache: settings.fdCache,
        assign: settings.assign,
        settings: {
          listen: settings.listen,
          advertise: settings.advertise,
          domains: settings.domains,
          defaultRoute: settings.defaultRoute,
          stateless: settings.stateless,
          idleTimeoutMs: settings.idleTimeoutSeconds * 1000,
          idleStrategy: settings.idleStrategy,
          headerTimeoutMs: settings.headerTimeoutSeconds * 1000,
          timers: settings.timers,
          state: settings.state,
          redisUrl: settings.redisUrl,
          auth: settings.auth,
          tls: settings.tls,
        },
        onEvent: (event) => {
          if (event.kind === 'worker-started') log.debug(event, 'worker started');
          // Workers the supervisor (or the pool) is stopping exit as told: no cause for alarm.
          else if ((event.kind === 'worker-exited' || event.kind === 'thread-exited') && event.expected) log.info(event, event.kind);
          else log.warn(event, event.kind);
        },
      });
    } catch (error) {
      // The model has already closed whatever of it had started.
      const failure = error as Error & { code?: string };
      const { message, code } = failure;
      if (code === 'ERR_SWITCHBOARD_STATE_UNAVAILABLE') throw new SwitchboardError('ERR_SWITCHBOARD_STATE_UNAVAILABLE', `--redis-url: ${message}`, 1);
      if (code === 'ERR_SWITCHBOARD_AUTH_USERS') throw new SwitchboardError('ERR_SWITCHBOARD_AUTH_USERS', `--auth-users: ${message}`, 2);
      const flag = isBindError(failure) ? failedListen(failure, settings.listen) : `--model ${settings.model}`;
      throw new SwitchboardError('ERR_SWITCHBOARD_LISTEN_FAILED', `${flag}: ${message}`, 1);
    }
    // Every listener is bound before `ready`: a metrics port that cannot be had stops the proxy.
    let metrics: Awaited<ReturnType<typeof startMetricsServer>> | undefined;
    if (settings.metrics !== undefined) {
      try {
        metrics = await startMetricsServer(modelRegistry(running), settings.metrics.host, settings.metrics.port);
      } catch (error) {
        await running.close().catch(() => undefined);
        throw new SwitchboardError('ERR_SWITCHBOARD_LISTEN_FAILED', `--metrics ${settings.metrics.host}:${settings.metrics.port}: ${(error as Error).message}`, 1);
      }
    }
    let stopping = false;
    const transactions = async (): Promise<number> => (await running.stats()).reduce((sum, worker) => sum + worker.transactions, 0);
    const stop = async (signal: string): Promise<void> => {
      if (stopping) return;
      stopping = true;
      // At once, before anything is awaited: from here no worker that dies is replaced.
      running.stopAccepting();
      log.info({ signal, transactions: await transactions() }, 'stopping');
      const deadline = Date.now() + DRAIN_MS;
      while (Date.now() < deadline && (await transactions()) > 0) await new Promise((resolve) => setTimeout(resolve, 50));
      const stats = await running.stats();
      metrics?.close();
      await running.close();
      log.info({ workers: stats.map((worker) => ({ worker: worker.worker, core: worker.core, transport: worker.transport, model: worker.model })) }, 'stopped');
      process.exit(0);
    };
    const stopOn = (signal: string): void => {
      stop(signal).catch((error: Error) => {
        log.error({ err: error }, 'stop failed');
        process.exit(1);
      });
    };
    process.on('SIGTERM', () => stopOn('SIGTERM'));
    process.on('SIGINT', () => stopOn('SIGINT'));
    // Handlers first: a SIGTERM sent as soon as `ready` is read must find them (until then it
    // would kill the process outright).
    log.info(
      {
        listeners: running.listeners.map((listener) => `${listener.protocol}:${listener.host}:${listener.port}`),
        model: settings.model,
        workers: settings.workers,
        fdCache: settings.fdCache,
        state: settings.state,
        metrics: metrics === undefined ? undefined : `http://${settings.metrics?.host}:${settings.metrics?.port}/metrics`,
        domains: settings.domains,
        defaultRoute: settings.defaultRoute,
        stateless: settings.stateless,
        auth: settings.auth === undefined ? 'off' : { mode: settings.auth.mode, realm: settings.auth.realm, algorithms: settings.auth.algorithms, credentials: settings.auth.usersFile ?? `redis hash ${settings.auth.redisHash}` },
        tls: settings.tls === undefined ? undefined : { verifyClient: settings.tls.verifyClient, resumption: settings.tls.resumption, ciphers: settings.tls.ciphers, minVersion: settings.tls.minVersion, maxVersion: settings.tls.maxVersion },
      },
      'ready',
    );
  });
  return command;
}
