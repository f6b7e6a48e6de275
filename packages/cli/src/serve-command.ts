import { Command, Option } from 'commander';
import { pino } from 'pino';
import { ProxyServer } from '@switchboard/core';
import { SwitchboardError } from './errors.js';
import { proxyRegistry, startMetricsServer } from './metrics-server.js';
import { resolveServeSettings, type RawServeOptions } from './serve-options.js';

/** How long a graceful stop waits for transactions to finish. */
const DRAIN_MS = 5000;

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export function serveCommand(): Command {
  const command = new Command('serve')
    .description('run the SIP proxy and registrar')
    .option('--config <file>', 'YAML file with the same keys as these flags (flags win)')
    .option('--listen <spec>', 'udp:HOST:PORT or tcp:HOST:PORT (repeatable)', collect)
    .option('--domain <name>', 'a domain whose users register here (repeatable)', collect)
    .option('--default-route <uri>', 'where requests go that are not for a local domain or registered user, e.g. sip:10.0.0.2:5060;transport=tcp')
    .option('--t1 <ms>', 'RFC 3261 timer T1, the RTT estimate', '500')
    .option('--t2 <ms>', 'RFC 3261 timer T2, the longest retransmit interval', '4000')
    .option('--t4 <ms>', 'RFC 3261 timer T4, how long a message stays in the network', '5000')
    .option('--advertise <host>', 'host to write into Via and Record-Route (default: the listen host)')
    .option('--stateless', 'forward without transaction state (RFC 3261 §16.11)')
    .option('--idle-timeout <seconds>', 'close TCP connections idle this long', '120')
    .option('--header-timeout <seconds>', 'close a TCP connection whose message takes longer than this to arrive', '10')
    .addOption(new Option('--log-level <level>', 'pino log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'))
    .option('--metrics <host:port>', 'serve Prometheus metrics at http://HOST:PORT/metrics');
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
      listen: (flags as Record<string, unknown>).listen ?? (given.has('listen') ? undefined : ['udp:0.0.0.0:5060', 'tcp:0.0.0.0:5060']),
    };
    const settings = await resolveServeSettings(raw, given);
    const log = pino({ level: settings.logLevel, base: { pid: process.pid } });

    let server: ProxyServer;
    try {
      server = await ProxyServer.start({
        listen: settings.listen,
        advertise: settings.advertise,
        domains: settings.domains,
        defaultRoute: settings.defaultRoute,
        stateless: settings.stateless,
        idleTimeoutMs: settings.idleTimeoutSeconds * 1000,
        headerTimeoutMs: settings.headerTimeoutSeconds * 1000,
        timers: settings.timers,
        onTransportEvent: (event) => {
          if (event.kind === 'framing-error') log.debug({ connection: event.connectionId, remote: event.remote, code: event.error.code }, 'framing error');
          else log.trace(event, 'tcp');
        },
      });
    } catch (error) {
      throw new SwitchboardError('ERR_SWITCHBOARD_LISTEN_FAILED', `--listen: ${(error as Error).message}`, 1);
    }
    const metrics = settings.metrics === undefined ? undefined : await startMetricsServer(proxyRegistry(server), settings.metrics.host, settings.metrics.port);
    log.info(
      {
        listeners: server.listeners.map((listener) => `${listener.protocol}:${listener.host}:${listener.port}`),
        metrics: metrics === undefined ? undefined : `http://${settings.metrics?.host}:${settings.metrics?.port}/metrics`,
        domains: settings.domains,
        defaultRoute: settings.defaultRoute,
        stateless: settings.stateless,
      },
      'ready',
    );

    let stopping = false;
    const stop = async (signal: string): Promise<void> => {
      if (stopping) return;
      stopping = true;
      log.info({ signal, transactions: server.core.transactionCount }, 'stopping');
      server.stopAccepting();
      const deadline = Date.now() + DRAIN_MS;
      while (server.core.transactionCount > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      metrics?.close();
      await server.close();
      log.info({ counters: server.core.counters, transport: server.transportCounters }, 'stopped');
      process.exit(0);
    };
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
  });
  return command;
}
