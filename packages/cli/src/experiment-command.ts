import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { pino } from 'pino';
import type { ExperimentRecord } from '@switchboard/lab';
import { SwitchboardError } from './errors.js';
import { loadLab } from './lazy-packages.js';

const SWITCHBOARD_BIN = fileURLToPath(new URL('../bin/switchboard.js', import.meta.url));

function summary(record: ExperimentRecord): Record<string, unknown> {
  const invalid = record.invalid !== undefined && record.invalid.length > 0 ? { invalid: record.invalid } : {};
  if (record.result === undefined) return record.error === undefined ? invalid : { error: record.error };
  return {
    operationsPerSecond: record.result.operations.perSecond,
    callsPerSecond: record.result.calls.perSecond,
    success: record.result.calls.successRatio,
    ...(record.peak === undefined ? {} : { peakCallsPerSecond: record.peak.rate ?? null }),
    ...(record.budget === undefined ? {} : { budget: record.budget.method }),
    ...invalid,
  };
}

export function experimentCommand(): Command {
  const command = new Command('experiment').description('run experiments over the proxy\'s architectures (configs/experiments/*.yaml)');
  command
    .command('run')
    .description('run every point of an experiment\'s matrix; resumes an interrupted run')
    .argument('<config>', 'experiment config, e.g. configs/experiments/e2.yaml')
    .option('--quick', 'shrink the experiment to a smoke run (the config\'s quick: section)')
    .option('--out <dir>', 'results directory (default results/<id>, results/<id>-quick with --quick)')
    .option('--repeats <n>', 'repeat each point this many times (default: the config\'s repeats)')
    .action(async (config: string, flags: { quick?: boolean; out?: string; repeats?: string }) => {
      const repeats = flags.repeats === undefined ? undefined : Number(flags.repeats);
      if (repeats !== undefined && !(Number.isInteger(repeats) && repeats > 0)) throw new SwitchboardError('ERR_SWITCHBOARD_INVALID_FLAG', `--repeats: expected a positive integer, not ${flags.repeats}`);
      const log = pino({ base: undefined, timestamp: false }, pino.destination(2));
      const abort = new AbortController();
      const onSignal = (): void => {
        log.warn('stopping after the run in progress (run the same command again to resume)');
        abort.abort();
      };
      process.once('SIGINT', onSignal);
      // SIGTERM ends at once; the proxy and redis-server of the run in progress are killed on exit.
      const onTerminate = (): void => process.exit(143);
      process.once('SIGTERM', onTerminate);
      try {
        const { describeCodeVersion, runExperiment } = await loadLab();
        const { outDir, records } = await runExperiment(config, {
          switchboardBin: SWITCHBOARD_BIN,
          quick: flags.quick === true,
          ...(flags.out === undefined ? {} : { outDir: flags.out }),
          ...(repeats === undefined ? {} : { repeats }),
          signal: abort.signal,
          onEvent: (event) => {
            if (event.kind === 'start') {
              log.info({ experiment: event.id, out: event.outDir, runs: event.runs, alreadyRecorded: event.done, ...(event.code === undefined ? {} : { code: describeCodeVersion(event.code) }) }, 'experiment');
              if (event.recordedCode !== undefined) log.warn({ recordedCode: event.recordedCode.map(describeCodeVersion), code: event.code === undefined ? 'unknown' : describeCodeVersion(event.code) }, 'resuming runs recorded with other code: the report will say so; compare their figures only if the code they exercise is the same (another --out directory starts over; for a reference set, npm run experiments:reference -- --fresh)');
            } else if (event.kind === 'run') log.info({ run: `${event.index + 1}/${event.runs}`, point: event.key, repeat: event.repeat }, 'running');
            else if (event.kind === 'step') log.info({ point: event.key, repeat: event.repeat, rate: event.step.rate, outcome: event.step.outcome, ...(event.step.successRatio === undefined ? {} : { success: event.step.successRatio, achieved: event.step.achievedCallsPerSecond }), ...(event.step.reasons === undefined ? {} : { reasons: event.step.reasons }) }, 'ladder step');
            else if (event.kind === 'recorded') log.info({ point: event.record.pointKey, repeat: event.record.repeat, ...summary(event.record) }, 'recorded');
            else if (event.kind === 'reused') log.info({ point: event.key, repeat: event.repeat, from: event.from }, 'taken from an earlier experiment (same point and settings)');
            else if (event.kind === 'reuse-refused') log.warn({ from: event.from, reason: event.reason }, 'reuse: measuring instead');
          },
        });
        log.info({ out: outDir, recorded: records }, `done: switchboard report ${outDir}`);
      } catch (error) {
        const { code, message } = error as Error & { code?: string };
        if (code === 'ERR_SWITCHBOARD_EXPERIMENT_CONFIG') throw new SwitchboardError(code, message, 2);
        throw error;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onTerminate);
      }
    });
  return command;
}
