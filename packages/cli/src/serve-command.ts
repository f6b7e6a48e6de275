import { Command } from 'commander';
import { pino } from 'pino';
import { startModel, type RunningModel } from '@switchboard/cluster';
import { SwitchboardError } from './errors.js';
import { modelRegistry, startMetricsServer } from './metrics-server.js';
import { addSchemaOptions, commandValues } from './option-schema.js';
import { resolveServeSettings, type RawServeOptions } from './serve-options.js';
import { SERVE_OPTIONS } from './serve-schema.js';

/** How long a graceful stop waits for transactions to finish. */
const DRAIN_MS = 5000;

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
          else log.warn(event, event.kind);
        },
      });
    } catch (error) {
      const { message, code } = error as Error & { code?: string };
      if (code === 'ERR_SWITCHBOARD_STATE_UNAVAILABLE') throw new SwitchboardError('ERR_SWITCHBOARD_STATE_UNAVAILABLE', `--redis-url: ${message}`, 1);
      if (code === 'ERR_SWITCHBOARD_AUTH_USERS') throw new SwitchboardError('ERR_SWITCHBOARD_AUTH_USERS', `--auth-users: ${message}`, 2);
      throw new SwitchboardError('ERR_SWITCHBOARD_LISTEN_FAILED', `--listen: ${message}`, 1);
    }
    const metrics = settings.metrics === undefined ? undefined : await startMetricsServer(modelRegistry(running), settings.metrics.host, settings.metrics.port);
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

    let stopping = false;
    const transactions = async (): Promise<number> => (await running.stats()).reduce((sum, worker) => sum + worker.transactions, 0);
    const stop = async (signal: string): Promise<void> => {
      if (stopping) return;
      stopping = true;
      log.info({ signal, transactions: await transactions() }, 'stopping');
      running.stopAccepting();
      const deadline = Date.now() + DRAIN_MS;
      while (Date.now() < deadline && (await transactions()) > 0) await new Promise((resolve) => setTimeout(resolve, 50));
      const stats = await running.stats();
      metrics?.close();
      await running.close();
      log.info({ workers: stats.map((worker) => ({ worker: worker.worker, core: worker.core, transport: worker.transport, model: worker.model })) }, 'stopped');
      process.exit(0);
    };
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
  });
  return command;
}
