import { Command } from 'commander';
import { benchCommand } from './bench-command.js';
import { experimentCommand } from './experiment-command.js';
import { modelCommand } from './model-command.js';
import { parseCommand } from './parse-command.js';
import { reportCommand } from './report-command.js';
import { serveCommand } from './serve-command.js';
import { usersCommand } from './users-command.js';

/** Builds the `switchboard` command line. */
export function createProgram(): Command {
  const program = new Command('switchboard')
    .description('A SIP proxy and registrar whose concurrency architecture is a launch flag, and a lab that measures it.')
    .version('0.1.0')
    .showHelpAfterError();
  program.addCommand(serveCommand());
  program.addCommand(benchCommand());
  program.addCommand(experimentCommand());
  program.addCommand(reportCommand());
  program.addCommand(modelCommand());
  program.addCommand(parseCommand());
  program.addCommand(usersCommand());
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await createProgram().parseAsync(argv);
}
