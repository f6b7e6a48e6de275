import { Command } from 'commander';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import type { ListenSpec } from '@switchboard/core';
import { connectionCapacity, readOpenFileLimit, startModel, type RunningModel } from '@switchboard/cluster';
import { SwitchboardError } from './errors.js';
import { modelRegistry, startMetricsServer } from './metrics-server.js';
import { logModelEvent } from './model-event-log.js';
import { addSchemaOptions, commandValues } from './option-schema.js';
import { proxySettingsOf, resolveServeSettings, type RawServeOptions } from './serve-options.js';
import { SERVE_OPTIONS } from './serve-schema.js';

/** How long a graceful stop waits for transactions to finish. */
const DRAIN_MS = 5000;

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
    .description('run the SIP proxy and registrar (every flag: docs/configuration.md)')
    .option('--config <file>', 'YAML file with the same keys as these flags (flags win)');
  addSchemaOptions(command, SERVE_OPTIONS);
  command.action(async (_flags: unknown, self: Command) => {
    const { flags, given } = commandValues(self, SERVE_OPTIONS);
    const raw: RawServeOptions = { ...flags, config: self.getOptionValue('config') as string | undefined };
    const settings = await resolveServeSettings(raw, given);
    const log = pino({ level: settings.logLevel, base: { pid: process.pid } });

    // What the open-file limit allows this model, said before anything is accepted.
    const capacity = connectionCapacity({ model: settings.model, workers: settings.workers, fdCache: settings.fdCache, supervisorHandles: settings.supervisorHandles, maxConnections: settings.maxConnections }, readOpenFileLimit());
    // Without --max-connections the cap is what the files allow: past it a connection is reset and
    // counted, where at the limit itself libuv would close it unseen (EMFILE) and nothing would say so.
    const maxConnections = settings.maxConnections ?? capacity.connections;
    const fileFacts = { openFiles: capacity.limit ?? 'unknown', connectionsAllowed: capacity.connections ?? 'no known bound', boundBy: capacity.boundBy, maxConnections: maxConnections ?? 'none', maxConnectionsFrom: settings.maxConnections === undefined ? 'the file limit' : '--max-connections' };
    if (capacity.maxAboveLimit) log.warn(fileFacts, '--max-connections is above what the open-file limit allows: connections past the limit may be closed on accept (EMFILE) without being counted');
    else log.info(fileFacts, 'file limit');

    let running: RunningModel;
    try {
      running = await startModel({
        model: settings.model,
        workers: settings.workers,
        fdCache: settings.fdCache,
        assign: settings.assign,
        supervisorHandles: settings.supervisorHandles,
        ...(maxConnections === undefined ? {} : { maxConnections }),
        settings: proxySettingsOf(settings),
        onEvent: (event) => logModelEvent(log, event),
      });
    } catch (error) {
      // The model has already closed whatever of it had started.
      const failure = error as Error & { code?: string };
      const { message, code } = failure;
      if (code === 'ERR_SWITCHBOARD_STATE_UNAVAILABLE') throw new SwitchboardError('ERR_SWITCHBOARD_STATE_UNAVAILABLE', `--redis-url: ${message}`, 1);
      if (code === 'ERR_SWITCHBOARD_AUTH_USERS') throw new SwitchboardError('ERR_SWITCHBOARD_AUTH_USERS', `--auth-users: ${message}`, 2);
      if (code === 'ERR_SWITCHBOARD_WORKER_START') throw new SwitchboardError('ERR_SWITCHBOARD_WORKER_START', `--model ${settings.model}: ${message}`, 1);
      if (isBindError(failure)) throw new SwitchboardError('ERR_SWITCHBOARD_LISTEN_FAILED', `${failedListen(failure, settings.listen)}: ${message}`, 1);
      // Anything else is not a flag's fault: it is reported as it is, with its own code if it has one.
      throw error;
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
    // A graceful stop waits for transactions still owed a final response, not for the ones that
    // only absorb retransmissions for Timers D, J and K (up to 32 s over UDP).
    const transactions = async (): Promise<number> => (await running.stats()).reduce((sum, worker) => sum + (worker.pendingTransactions ?? worker.transactions), 0);
    const stop = async (signal: string): Promise<void> => {
      if (stopping) return;
      stopping = true;
      // At once, before anything is awaited: from here no worker that dies is replaced.
      running.stopAccepting();
      log.info({ signal, pendingTransactions: await transactions() }, 'stopping');
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
        ...(settings.model === 'process-pool' ? { supervisorHandles: settings.supervisorHandles } : {}),
        maxConnections: maxConnections ?? 'none',
        state: settings.state,
        // The port bound, not the one asked for: `--metrics HOST:0` takes a free one.
        metrics: metrics === undefined ? undefined : `http://${settings.metrics?.host}:${(metrics.address() as AddressInfo).port}/metrics`,
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
