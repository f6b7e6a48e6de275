import { Command } from 'commander';
import { SwitchboardError } from './errors.js';
import { loadLab } from './lazy-packages.js';

export function reportCommand(): Command {
  return new Command('report')
    .description('write report.html (self-contained, SVG charts), report.md and report.json for an experiment\'s results')
    .argument('<results>', 'results directory of `switchboard experiment run`, e.g. results/e2')
    .option('--out <dir>', 'write the report here instead of into the results directory')
    .action(async (results: string, flags: { out?: string }) => {
      try {
        const { writeReport } = await loadLab();
        const written = await writeReport(results, flags.out === undefined ? {} : { outDir: flags.out });
        process.stderr.write(`${written.html}\n${written.markdown}\n`);
        for (const caveat of written.data.caveats) process.stderr.write(`caveat: ${caveat}\n`);
      } catch (error) {
        const { code, message } = error as Error & { code?: string };
        if (code === 'ERR_SWITCHBOARD_REPORT_NO_RESULTS' || code === 'ERR_SWITCHBOARD_REPORT_BAD_FIGURE') throw new SwitchboardError(code, message, 1);
        throw error;
      }
    });
}
