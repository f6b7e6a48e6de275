import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { pino } from 'pino';
import type { QueueingError } from '@switchboard/lab';
import { loadLab } from './lazy-packages.js';

const SWITCHBOARD_BIN = fileURLToPath(new URL('../bin/switchboard.js', import.meta.url));

/** A QueueingError ends the command with its code (2 for a bad config, else 1); anything else is a bug. */
function fail(error: unknown, queueingError: typeof QueueingError): never {
  if (error instanceof queueingError) {
    process.stderr.write(`${error.code}: ${error.message}\n`);
    process.exit(error.code === 'ERR_SWITCHBOARD_MODEL_CONFIG' ? 2 : 1);
  }
  throw error;
}

/** `switchboard model`: E9, the M/G/1 model of the proxy fitted to packet-level measurements. */
export function modelCommand(): Command {
  const command = new Command('model').description('E9: measure per-message service and waiting times (tcpdump + --timing) and fit an M/G/1 model (configs/experiments/e9.yaml)');
  command
    .command('run')
    .description('run every load point of a queueing experiment; resumes an interrupted run (needs tcpdump and permission to capture on lo)')
    .argument('<config>', 'queueing experiment config, e.g. configs/experiments/e9.yaml')
    .option('--quick', 'a smoke run (the config\'s quick: section)')
    .option('--out <dir>', 'results directory (default results/<id>, results/<id>-quick with --quick)')
    .option('--keep-captures', 'keep each point\'s pcap and trace under <out>/captures')
    .action(async (config: string, flags: { quick?: boolean; out?: string; keepCaptures?: boolean }) => {
      const { QueueingError, runQueueingExperiment } = await loadLab();
      const log = pino({ base: undefined, timestamp: false }, pino.destination(2));
      const abort = new AbortController();
      const onSignal = (): void => {
        log.warn('stopping after the point in progress (run the same command again to resume)');
        abort.abort();
      };
      process.once('SIGINT', onSignal);
      try {
        const { outDir, records } = await runQueueingExperiment(config, {
          switchboardBin: SWITCHBOARD_BIN,
          quick: flags.quick === true,
          keepCaptures: flags.keepCaptures === true,
          ...(flags.out === undefined ? {} : { outDir: flags.out }),
          signal: abort.signal,
          onEvent: (event) => {
            if (event.kind === 'point') log.info({ point: event.key, run: `${event.index + 1}/${event.points}` }, 'running');
            else if (event.kind === 'skipped') log.info({ point: event.key }, 'already recorded');
            else {
              const m = event.record.measurement;
              log.info({ point: event.record.key, ...(m === undefined ? { error: event.record.error } : { lambda: Math.round(m.lambda), meanServiceUs: Math.round(m.service.overall.mean * 1e7) / 10, waitingUs: Math.round(m.waiting.mean * 1e7) / 10, matched: m.matched, success: m.successRatio }) }, 'recorded');
            }
          },
        });
        log.info({ out: outDir, recorded: records }, `done: switchboard model report ${outDir}`);
        // A point whose generator failed can leave a child's handle behind; the results are written.
        setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
      } catch (error) {
        fail(error, QueueingError);
      } finally {
        process.off('SIGINT', onSignal);
      }
    });
  command
    .command('report')
    .description('write report.md, fit.json and charts/waiting.svg: Table II (λ, E[X], E[X²], ρ, α, modelled and measured W), where the model holds, saturation predictions')
    .argument('<results>', 'results directory of switchboard model run, e.g. results/e9')
    .option('--note <text>', 'a paragraph placed before Table II (how the run was shortened, the machine\'s state)')
    .action(async (results: string, flags: { note?: string }) => {
      const { QueueingError, writeQueueingReport } = await loadLab();
      try {
        const written = await writeQueueingReport(results, flags.note === undefined ? {} : { note: flags.note });
        process.stderr.write(`${written.markdown}\n${written.chart}\n`);
      } catch (error) {
        fail(error, QueueingError);
      }
    });
  return command;
}
