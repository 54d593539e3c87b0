/**
 * The command line. Commands only parse flags, call the library and print; the work lives in
 * ingest/, hunts/, ml/ and report/. Errors from one root are printed as one line
 * (`huntbook: file:line field: message`) with the stack only under --debug.
 */
import { Command, CommanderError, Option } from 'commander';
import { existsSync } from 'node:fs';
import { HuntbookError, UsageError, WorkspaceError } from '../errors.ts';
import { escapeControl, OUTPUT_FORMATS, parseOutputFormat, renderRows, type OutputFormat } from '../report/format.ts';
import { DEFAULT_WORKSPACE, Workspace, type Row } from '../store/workspace.ts';
import { createProgress } from '../progress.ts';
import type { CliIO } from './io.ts';
import { registerAnalyze } from './analyze.ts';
import { registerDemo } from './demo.ts';
import { registerHunt } from './hunt.ts';
import { registerRules } from './rules.ts';
import { registerEntity } from './entity.ts';
import { registerConfig } from './config.ts';
import { registerGenerate } from './generate.ts';
import { registerIngest } from './ingest.ts';
import { registerSql } from './sql.ts';

export interface CommonOptions {
  db: string;
  format: OutputFormat;
  quiet?: boolean;
  debug?: boolean;
}

/** Options every command takes, added per command so that `huntbook CMD --help` lists them. */
export function withCommon(command: Command, options: { rows?: boolean } = {}): Command {
  command.option('--db <path>', 'workspace file (DuckDB)', DEFAULT_WORKSPACE);
  if (options.rows !== false) {
    command.addOption(new Option('--format <fmt>', 'output format').choices([...OUTPUT_FORMATS]).default('table'));
  }
  command.option('-q, --quiet', 'no progress or summaries on stderr');
  command.option('--debug', 'print stack traces of errors');
  return command;
}

export function commonOptions(raw: Record<string, unknown>): CommonOptions {
  return {
    db: String(raw.db ?? DEFAULT_WORKSPACE),
    format: parseOutputFormat(String(raw.format ?? 'table')),
    quiet: Boolean(raw.quiet),
    debug: Boolean(raw.debug),
  };
}

export interface WorkspaceUse {
  /** Only ingest and demo create a workspace: a mistyped --db elsewhere is an error, not a new empty file. */
  create?: boolean;
  externalAccess?: boolean;
}

export async function withWorkspace<T>(path: string, fn: (ws: Workspace) => Promise<T>, readOnly = false, options: WorkspaceUse = {}): Promise<T> {
  if (path !== ':memory:' && !options.create && !existsSync(path)) {
    throw new WorkspaceError(`no workspace at ${path}; check --db, or load logs first: huntbook ingest PATH --db ${path}`);
  }
  const ws = await Workspace.open(path, { readOnly, externalAccess: options.externalAccess });
  try {
    return await fn(ws);
  } finally {
    ws.close();
  }
}

/**
 * Progress for a long step whose size is not known in advance (a hunt): the elapsed time and,
 * while DuckDB can tell, how far its running statement is. Silent when stderr is not a terminal.
 */
export async function withProgress<T>(label: string, enabled: boolean, ws: Workspace, work: () => Promise<T>): Promise<T> {
  const progress = createProgress(process.stderr, enabled);
  const timer = setInterval(() => {
    const percent = ws.progress();
    progress.update(label, percent === undefined ? undefined : percent / 100);
  }, 200);
  try {
    return await work();
  } finally {
    clearInterval(timer);
    progress.done();
  }
}

export function printRows(io: CliIO, format: OutputFormat, columns: readonly string[], rows: readonly Row[]): void {
  io.stdout.write(renderRows(format, columns, rows, { maxCellWidth: format === 'table' ? 60 : undefined }));
}

export function buildProgram(io: CliIO): Command {
  const program = new Command('huntbook')
    .description('Threat-hunting workbench: ingest logs into a DuckDB workspace, hunt, and see why every row ranks where it does.')
    .version('0.1.0')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  program.addHelpText('after', `
Start here:
  huntbook demo                       generate sample data, ingest it, run every hunt
  huntbook ingest logs/ --db case.duckdb
  huntbook hunt beacons --db case.duckdb
  huntbook rules run --db case.duckdb && huntbook hunt risk --by user --db case.duckdb
  huntbook sql "SELECT dest, count(*) n FROM http GROUP BY ALL ORDER BY n DESC LIMIT 10" --db case.duckdb
`);
  registerDemo(program, io);
  registerGenerate(program, io);
  registerIngest(program, io);
  registerSql(program, io);
  registerAnalyze(program, io);
  registerHunt(program, io);
  registerRules(program, io);
  registerEntity(program, io);
  registerConfig(program, io);
  return program;
}

export async function run(args: string[], io: CliIO): Promise<number> {
  const program = buildProgram(io);
  const debug = args.includes('--debug');
  try {
    await program.parseAsync(args, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit through here with code 0; usage errors were already printed.
      return error.exitCode;
    }
    if (error instanceof HuntbookError) {
      io.stderr.write(`huntbook: ${escapeControl(error.describe())}\n`);
      if (debug && error.stack) io.stderr.write(`${error.stack}\n`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`huntbook: unexpected error: ${escapeControl(message)}\n${debug && error instanceof Error ? `${error.stack}\n` : '(run again with --debug for the stack trace)\n'}`);
    return 70;
  }
}

export function requireInteger(name: string, value: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got "${value}"`);
  }
  return parsed;
}
