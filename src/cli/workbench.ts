import { writeFileSync } from 'node:fs';
import { Argument, type Command } from 'commander';
import { buildReport } from '../workbench/report.ts';
import { DECISIONS, listTriage, setTriage, undoTriage } from '../workbench/triage.ts';
import type { CommandIO } from './io.ts';
import { act, commonOptions, printRows, requireInteger, withCommon, withWorkspace } from './common.ts';

export function registerWorkbench(program: Command, io: CommandIO): void {
  withCommon(program.command('report'), { rows: false })
    .description('write one self-contained HTML report: the latest run of every hunt, top threads with every reason, triage, charts as inline SVG')
    .requiredOption('--out <file>', 'the HTML file to write')
    .option('--per-hunt <n>', 'top threads per hunt', '5')
    .option('--title <text>', 'the report\'s title', 'huntbook report')
    .addHelpText('after', `
The file has no script and references nothing outside itself (a Content-Security-Policy says so):
attach it to a ticket, open it offline. Every string from the logs is escaped.

Example:
  huntbook report --out case-42.html --per-hunt 10 --db case.duckdb`)
    .action(act(io, async (raw: Record<string, string>) => {
      const options = commonOptions(raw);
      const report = await withWorkspace(options.db, (ws) => buildReport(ws, { perHunt: requireInteger('--per-hunt', raw.perHunt, 1, 1000), title: raw.title, workspace: options.db }), true);
      writeFileSync(raw.out, report.html);
      io.stdout.write(`${raw.out}: ${report.threads} threads, ${report.charts} charts\n`);
    }));

  const triage = program.command('triage').description("the hunter's decisions: act, watch or discard a thread (a hunt's entity), with a note");
  withCommon(triage.command('set'), { rows: false })
    .description('decide on a thread; a discarded one is set apart in later reports of that hunt (undoable)')
    .argument('<hunt>', 'the hunt (risk, population, baseline, insider, social, beacons.timing, ...)')
    .argument('<thread>', 'the entity as the hunt names it (a user, a host pair, a profile id)')
    .addArgument(new Argument('<decision>', 'act | watch | discard').choices([...DECISIONS]))
    .option('--note <text>', 'why')
    .option('--who <name>', 'who decided (default: $USER)')
    .action(act(io, async (hunt: string, thread: string, decision: string, raw: Record<string, string>) => {
      const options = commonOptions(raw);
      const id = await withWorkspace(options.db, (ws) => setTriage(ws, hunt, thread, decision, { note: raw.note, who: raw.who }));
      io.stdout.write(`triage ${id}: ${hunt} ${thread}: ${decision}\n`);
    }));
  withCommon(triage.command('undo'), { rows: false })
    .description('take back the decision in force on a thread')
    .argument('<hunt>').argument('<thread>')
    .action(act(io, async (hunt: string, thread: string, raw: Record<string, string>) => {
      const options = commonOptions(raw);
      await withWorkspace(options.db, (ws) => undoTriage(ws, hunt, thread));
      io.stdout.write(`${hunt} ${thread}: decision undone\n`);
    }));
  withCommon(triage.command('list'))
    .description('the decisions in force')
    .action(act(io, async (raw: Record<string, string>) => {
      const options = commonOptions(raw);
      const { columns, rows } = await withWorkspace(options.db, (ws) => listTriage(ws), true);
      printRows(io, options.format, columns, rows);
    }));
}
