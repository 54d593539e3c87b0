/**
 * What commands share: the common options, opening the workspace, printing rows, progress, and
 * the action wrapper through which a command returns its exit code. Commands import this module;
 * nothing here imports a command (main.ts is the only module that knows them all).
 */
import { existsSync } from 'node:fs';
import { Option, type Command } from 'commander';
import type { Config } from '../config.ts';
import { WorkspaceError } from '../errors.ts';
import { createProgress } from '../progress.ts';
import { OUTPUT_FORMATS, parseOutputFormat, renderRows, type OutputFormat } from '../report/format.ts';
import { DEFAULT_WORKSPACE, Workspace, type Row } from '../store/workspace.ts';
import type { CliIO, CommandIO } from './io.ts';
import type { HuntOutput } from '../hunts/beacons/seed-hunts.ts';
import { hideDiscarded } from '../workbench/triage.ts';

/**
 * A command's action: it returns its exit code (nothing = 0) instead of setting process state,
 * so several commands can run in one process (tests) without leaking codes into each other.
 */
export function act<A extends unknown[]>(
  io: CommandIO,
  // biome-ignore lint/suspicious/noConfusingVoidType: an action returns nothing, or an exit code
  fn: (...args: A) => Promise<number | void> | number | void,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const code = await fn(...args);
    if (typeof code === 'number') io.outcome.code = code;
  };
}

/** Every hunt says which configuration files it runs with: a stray ./huntbook.yml must not act unseen. */
export function announceConfig(io: CliIO, config: Config, quiet: boolean | undefined): void {
  if (!quiet) io.stderr.write(`config: ${config.source}\n`);
}

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

export async function withWorkspace<T>(
  path: string,
  fn: (ws: Workspace) => Promise<T>,
  readOnly = false,
  options: WorkspaceUse = {},
): Promise<T> {
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

export { formatDuration, parseDuration } from '../model/durations.ts';

export { requireInteger, requireNumber } from '../model/flags.ts';

/**
 * A hunt's output as the CLI prints it: rows of threads discarded in triage are set apart (the
 * workbench does the same), with a note saying how many and how to see them.
 */
export async function honourTriage(ws: Workspace, hunt: string, output: HuntOutput, threadOf: (row: Row) => string): Promise<HuntOutput> {
  const { rows, hidden } = await hideDiscarded(ws, hunt, output.rows, threadOf);
  if (hidden === 0) return output;
  return {
    ...output,
    rows,
    notes: [
      ...output.notes,
      `${hidden} row(s) of threads discarded in triage not shown (huntbook triage list; huntbook triage undo ${hunt} THREAD)`,
    ],
  };
}
