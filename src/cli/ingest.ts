import type { Command } from 'commander';
import { HuntbookError, UsageError } from '../errors.ts';
import { InterruptedError } from '../interrupt.ts';
import { FORMATS, parseFormat } from '../ingest/detect.ts';
import { ingest, type FileReport } from '../ingest/ingest.ts';
import { ingestLookup, lookupName } from '../ingest/lookup.ts';
import { createProgress } from '../progress.ts';
import { escapeControl } from '../report/format.ts';
import { stdoutClosed, type CliIO, type CommandIO } from './io.ts';
import { act, commonOptions, printRows, withCommon, withWorkspace } from './common.ts';
import { loadConfig } from '../config.ts';
import type { Flags } from '../model/flags.ts';
import type { Workspace } from '../store/workspace.ts';
import { type LogsDestination, openLogs } from './logs.ts';

export function registerIngest(program: Command, io: CommandIO): void {
  withCommon(program.command('ingest'), { rows: false })
    .description('load log files, directories (recursively) and .zip archives into the workspace')
    .argument('<paths...>', 'files or directories; - reads standard input')
    .option(
      '--as <table>',
      'target table (flows, http, tls, events, activity, directory, interactions, zeek_<log>), or lookup:NAME for a CSV lookup (huntbook spl: lookup NAME …, inputlookup NAME)',
    )
    .option('--format <fmt>', `input format: auto, ${FORMATS.join(', ')}`, 'auto')
    .option('--output <fmt>', 'summary format: table, json, csv, ndjson', 'table')
    .option('--map <pairs>', 'rename source fields onto canonical columns: dest=src,... e.g. src_ip=client,dest=site')
    .option('--force', 'load files again even when the same content was ingested before')
    .option('--json', 'print the summary as JSON (same as --output json)')
    .option(
      '--logs <url>',
      "keep the rows in ClickHouse (clickhouse://USER@HOST:8123/DB, made by 'huntbook clickhouse init'); default: the configuration's logs:, else the workspace",
    )
    .option('--config <file>', 'configuration file (its logs: is where the rows go)')
    .addHelpText(
      'after',
      `
Formats are detected from content: Zeek TSV (also .gz, several header blocks), Zeek JSON,
Windows events (OTRF / winlogbeat NDJSON, evtx dumped to JSON), CSV with a header (Splunk
exports; CIM names like src_ip, dest_ip, bytes_out, user, dest, url are understood), NDJSON,
JSON arrays, and the CERT insider-threat CSVs (logon, device, file, email, http, LDAP).

Every file reports read = loaded + rejected. Rejected rows are kept with file, line, field and
reason:  huntbook sql "SELECT * FROM rejects"
Exit code: 0 when every file loaded, 1 when any file failed.

With --logs (or logs: in the configuration) the rows go to ClickHouse once each file has been
read and counted here: the workspace keeps the accounting and the rejects, ClickHouse the rows;
a stopped ingest is finished by running it again (no row is sent twice).

Examples:
  huntbook ingest zeek/ --db case.duckdb
  HUNTBOOK_CLICKHOUSE_PASSWORD=... huntbook ingest proxy/ --logs clickhouse://hunter@ch1:8123/logs
  huntbook ingest export.csv --as http --map dest=site,user=login
  huntbook ingest assets.csv --as lookup:assets     (then: huntbook spl '… | lookup assets ip AS src_ip OUTPUT owner')`,
    )
    .action(
      act(io, async (paths: string[], raw: Record<string, unknown>) => {
        // --format names the input here; the summary format is --output (or --json).
        const options = commonOptions({ ...raw, format: raw.json ? 'json' : raw.output });
        const progress = createProgress(process.stderr, !options.quiet);
        const table = options.format === 'table';
        const finished: FileReport[] = [];
        let reports: FileReport[];
        const config = raw.logs === undefined ? loadConfig(typeof raw.config === 'string' ? raw.config : undefined) : undefined;
        const logs = await openLogs(raw as Flags, config);
        const destination = logs.destination;
        if (destination && !options.quiet) io.stderr.write(`logs: ${logs.store.where}\n`);
        try {
          reports = await withWorkspace(
            options.db,
            async (ws) => {
              if (destination) await finishStopped(io, ws, destination, Boolean(options.quiet));
              const lookup = lookupName(raw.as as string | undefined);
              if (lookup !== undefined) {
                if (paths.length !== 1) throw new UsageError('--as lookup:NAME takes one CSV file');
                const report = await ingestLookup(ws, paths[0], lookup);
                finished.push(report);
                if (table) printFileLine(io, report, Boolean(options.quiet));
                return [report];
              }
              return ingest(ws, paths, {
                destination,
                table: raw.as as string | undefined,
                format: parseFormat(raw.format as string),
                map: raw.map as string | undefined,
                force: Boolean(raw.force),
                progress,
                // People see each file as it finishes; machine formats get one document at the end.
                onFile: (report) => {
                  finished.push(report);
                  if (table) printFileLine(io, report, Boolean(options.quiet));
                },
              });
            },
            false,
            { create: true },
          );
        } catch (error) {
          // Stopped (Ctrl-C, SIGTERM, timeout): say on stderr what landed before the stop and that the rest did not.
          if (error instanceof InterruptedError)
            io.stderr.write(`huntbook: ${summary(finished)} before the stop; the file in progress and the rest were not loaded\n`);
          throw error;
        } finally {
          await logs.close();
        }
        printReports(io, options.format, reports);
        // The reader of stdout left early (| head): the outcome still reaches the terminal.
        if (stdoutClosed()) io.stderr.write(`huntbook: output closed early; ${summary(reports)}\n`);
        if (reports.length === 0) throw new HuntbookError(`no files found in ${paths.join(', ')}`);
        return reports.some((r) => r.status === 'failed') ? 1 : 0;
      }),
    );
}

/** Files an earlier, stopped ingest left half-sent: their missing batches go first. */
async function finishStopped(io: CliIO, ws: Workspace, destination: LogsDestination, quiet: boolean): Promise<void> {
  for (const fileId of await destination.unfinished(ws)) {
    const rows = await destination.ship(ws, fileId, () => undefined);
    if (!quiet)
      io.stderr.write(`finished sending file ${fileId} from an earlier, stopped ingest: ${rows ?? 0} rows in ${destination.where}\n`);
  }
}

/** One file's outcome as it finishes; -q keeps only failures. Log text is escaped for the terminal. */
function printFileLine(io: CliIO, r: FileReport, quiet: boolean): void {
  const say = (text: string) => io.stdout.write(`${escapeControl(text)}\n`);
  if (r.status === 'failed') {
    say(`${r.path}: FAILED: ${r.message}`);
    return;
  }
  if (quiet) return;
  if (r.status === 'loaded') {
    const where = r.tables
      ? Object.entries(r.tables)
          .map(([t, n]) => `${t} ${n}`)
          .join(', ')
      : r.table;
    say(`${r.path} → ${where} (${r.format}): read ${r.read}, loaded ${r.loaded}, rejected ${r.rejected} in ${r.seconds.toFixed(1)} s`);
    for (const reject of r.rejects.slice(0, 5))
      say(`  ${r.path}:${reject.line ?? '?'}${reject.field ? ` field ${reject.field}` : ''}: ${reject.reason}`);
    if (r.rejects.length > 5) say(`  ... ${r.rejects.length - 5} more in the rejects table`);
    if (r.stored) say(`  ${r.stored.rows} rows now in ${r.stored.where} (the workspace keeps the accounting and rejects)`);
    for (const warning of r.warnings ?? []) say(`  warning: ${warning}`);
  } else {
    say(`${r.path}: not loaded: ${r.message}`);
  }
}

function summary(reports: readonly FileReport[]): string {
  const loaded = reports.filter((r) => r.status === 'loaded');
  const rows = loaded.reduce((n, r) => n + r.loaded, 0);
  const failed = reports.filter((r) => r.status === 'failed').length;
  return `${loaded.length} file(s) loaded (${rows} rows)${failed ? `, ${failed} failed` : ''}`;
}

function printReports(io: CliIO, format: ReturnType<typeof commonOptions>['format'], reports: FileReport[]): void {
  const rows = reports.map((r) => ({
    path: r.path,
    status: r.status,
    format: r.format ?? null,
    table: r.table ?? null,
    read: r.read,
    loaded: r.loaded,
    rejected: r.rejected,
    seconds: r.seconds,
    message: r.message ?? null,
  }));
  if (format !== 'table') {
    printRows(io, format, Object.keys(rows[0] ?? { path: null }), rows);
    return;
  }
  const total = reports.reduce(
    (acc, r) => ({ read: acc.read + r.read, loaded: acc.loaded + r.loaded, rejected: acc.rejected + r.rejected }),
    { read: 0, loaded: 0, rejected: 0 },
  );
  const failed = reports.filter((r) => r.status === 'failed').length;
  io.stdout.write(
    `${reports.length} file(s): read ${total.read}, loaded ${total.loaded}, rejected ${total.rejected}${failed ? `, ${failed} FAILED` : ''}\n`,
  );
}
