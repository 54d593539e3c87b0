import type { Command } from 'commander';
import { HuntbookError } from '../errors.ts';
import { InterruptedError } from '../interrupt.ts';
import { FORMATS, parseFormat } from '../ingest/detect.ts';
import { ingest, type FileReport } from '../ingest/ingest.ts';
import { createProgress } from '../progress.ts';
import { escapeControl } from '../report/format.ts';
import { stdoutClosed, type CliIO, type CommandIO } from './io.ts';
import { act, commonOptions, printRows, withCommon, withWorkspace } from './common.ts';

export function registerIngest(program: Command, io: CommandIO): void {
  withCommon(program.command('ingest'), { rows: false })
    .description('load log files, directories (recursively) and .zip archives into the workspace')
    .argument('<paths...>', 'files or directories; - reads standard input')
    .option('--as <table>', 'target table (flows, http, tls, events, activity, directory, interactions, zeek_<log>)')
    .option('--format <fmt>', `input format: auto, ${FORMATS.join(', ')}`, 'auto')
    .option('--output <fmt>', 'summary format: table, json, csv, ndjson', 'table')
    .option('--map <pairs>', 'rename source fields onto canonical columns: dest=src,... e.g. src_ip=client,dest=site')
    .option('--force', 'load files again even when the same content was ingested before')
    .option('--json', 'print the summary as JSON (same as --output json)')
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

Examples:
  huntbook ingest zeek/ --db case.duckdb
  huntbook ingest export.csv --as http --map dest=site,user=login`,
    )
    .action(
      act(io, async (paths: string[], raw: Record<string, unknown>) => {
        // --format names the input here; the summary format is --output (or --json).
        const options = commonOptions({ ...raw, format: raw.json ? 'json' : raw.output });
        const progress = createProgress(process.stderr, !options.quiet);
        const table = options.format === 'table';
        const finished: FileReport[] = [];
        let reports: FileReport[];
        try {
          reports = await withWorkspace(
            options.db,
            (ws) =>
              ingest(ws, paths, {
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
              }),
            false,
            { create: true },
          );
        } catch (error) {
          // Stopped (Ctrl-C, SIGTERM, timeout): say on stderr what landed before the stop and that the rest did not.
          if (error instanceof InterruptedError)
            io.stderr.write(`huntbook: ${summary(finished)} before the stop; the file in progress and the rest were not loaded\n`);
          throw error;
        }
        printReports(io, options.format, reports);
        // The reader of stdout left early (| head): the outcome still reaches the terminal.
        if (stdoutClosed()) io.stderr.write(`huntbook: output closed early; ${summary(reports)}\n`);
        if (reports.length === 0) throw new HuntbookError(`no files found in ${paths.join(', ')}`);
        return reports.some((r) => r.status === 'failed') ? 1 : 0;
      }),
    );
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
