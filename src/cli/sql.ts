import type { Command } from 'commander';
import type { CliIO } from './io.ts';
import { commonOptions, printRows, withCommon, withWorkspace } from './main.ts';

export function registerSql(program: Command, io: CliIO): void {
  withCommon(program.command('sql'))
    .description('run SQL over the workspace (read-only unless --write), as you would pivot in a notebook')
    .argument('<query>', 'one SQL statement, e.g. "SELECT * FROM flows LIMIT 5"')
    .option('--write', 'open the workspace for writing (CREATE TABLE, UPDATE ...)')
    .addHelpText('after', `
Tables: flows, http, tls, events, activity, directory, interactions, detections, results,
entity_history, hunt_runs, ingested_files, rejects, and zeek_<log> for other Zeek logs.

Examples:
  huntbook sql "SELECT src_ip, dest_ip, count(*) n FROM flows GROUP BY ALL ORDER BY n DESC LIMIT 10"
  huntbook sql "SELECT * FROM rejects LIMIT 20" --format csv > rejects.csv`)
    .action(async (query: string, raw: Record<string, unknown>) => {
      const options = commonOptions(raw);
      await withWorkspace(options.db, async (ws) => {
        const { columns, rows } = await ws.queryWithColumns(query);
        printRows(io, options.format, columns, rows);
      }, !raw.write);
    });
}
