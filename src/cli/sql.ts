import type { Command } from 'commander';
import { QueryError } from '../errors.ts';
import type { CommandIO } from './io.ts';
import { act, commonOptions, printRows, withCommon, withWorkspace } from './common.ts';

export function registerSql(program: Command, io: CommandIO): void {
  withCommon(program.command('sql'))
    .description('run SQL over the workspace (read-only unless --write), as you would pivot in a notebook')
    .argument('<query>', 'one SQL statement, e.g. "SELECT * FROM flows LIMIT 5"')
    .option('--write', 'open the workspace for writing (CREATE TABLE, UPDATE ...)')
    .option('--allow-files', 'let the statement read or write files outside the workspace (COPY ... TO, read_csv, ATTACH)')
    .addHelpText(
      'after',
      `
Tables: flows, http, tls, events, activity, directory, interactions, detections, results,
entity_history, hunt_runs, ingested_files, rejects, and zeek_<log> for other Zeek logs.

The statement sees the workspace only: reading or writing other files (COPY ... TO, read_text,
ATTACH, EXPORT DATABASE) is refused unless --allow-files is given.

Examples:
  huntbook sql "SELECT src_ip, dest_ip, count(*) n FROM flows GROUP BY ALL ORDER BY n DESC LIMIT 10"
  huntbook sql "SELECT * FROM rejects LIMIT 20" --format csv > rejects.csv`,
    )
    .action(
      act(io, async (query: string, raw: Record<string, unknown>) => {
        const options = commonOptions(raw);
        await withWorkspace(
          options.db,
          async (ws) => {
            await ws.singleStatement(query, 'SQL');
            let result: Awaited<ReturnType<typeof ws.queryWithColumns>>;
            try {
              result = await ws.queryWithColumns(query);
            } catch (error) {
              const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
              let hint = '';
              if (/file system operations are disabled/.test(message))
                hint = ' (huntbook sql sees only the workspace; --allow-files lifts that)';
              else if (/read-only/i.test(message)) hint = ' (add --write to change the workspace)';
              throw new QueryError(`SQL: ${message}${hint}`, { cause: error });
            }
            printRows(io, options.format, result.columns, result.rows);
          },
          !raw.write,
          { externalAccess: Boolean(raw.allowFiles) },
        );
      }),
    );
}
