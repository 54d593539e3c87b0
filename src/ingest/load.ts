/**
 * What every reader shares: the context of one file's load, the reject record, and collecting
 * the rows DuckDB's CSV reader refused (with their line numbers) from its rejects table.
 */
import { quoteIdent } from '../store/schema.ts';
import type { Params, Workspace } from '../store/workspace.ts';

export interface Reject {
  line: number | null;
  field: string | null;
  reason: string;
  text: string | null;
}

export interface LoadContext {
  ws: Workspace;
  fileId: number;
  /** The path shown to the user (archive members as `archive.zip!member`). */
  display: string;
  /** The path DuckDB reads (a temporary extraction for archive members). */
  localPath: string;
  /** `--as TABLE`, if given. */
  table?: string;
  /** `--map dest=src,...`, if given. */
  map?: string;
  /** Polls DuckDB's progress while a long statement runs. */
  watch: <T>(label: string, work: Promise<T>) => Promise<T>;
}

export interface LoadOutcome {
  target: string;
  /** Records the source holds (data lines for line-oriented formats). */
  read: number;
  loaded: number;
  rejects: Reject[];
  /** What the reader wants said about the file (the notification templates in force, say). */
  warnings?: string[];
}

export const REJECTS_TABLE = 'hb_reader_rejects';
export const SCANS_TABLE = 'hb_reader_scans';
/** Longest line the readers accept; longer ones are rejected with their line number. */
export const MAX_LINE_BYTES = 4 * 1024 * 1024;
const TEXT_KEEP = 300;

/** CSV-reader options that make DuckDB record refused rows instead of failing the scan. */
export const STORE_REJECTS = `store_rejects=true, rejects_table='${REJECTS_TABLE}', rejects_scan='${SCANS_TABLE}', max_line_size=${MAX_LINE_BYTES}`;

export async function resetReaderRejects(ws: Workspace): Promise<void> {
  await ws.run(`DROP TABLE IF EXISTS ${REJECTS_TABLE}`);
  await ws.run(`DROP TABLE IF EXISTS ${SCANS_TABLE}`);
}

/**
 * One reject per refused line: the first error DuckDB reported on it. `fieldName` turns the
 * reader's positional column name (c0, c1, ...) back into the source's field name.
 */
export async function readerRejects(
  ws: Workspace,
  fieldName: (column: string) => string | null,
  skipLines: ReadonlySet<number> = new Set(),
): Promise<Reject[]> {
  const exists = await ws.scalar(`SELECT count(*) FROM duckdb_tables() WHERE table_name = '${REJECTS_TABLE}'`);
  if (Number(exists) === 0) return [];
  const rows = await ws.query(
    `SELECT line, arg_min(column_name, coalesce(column_idx, -1)) AS column_name, arg_min(error_type, coalesce(column_idx, -1)) AS error_type,
            arg_min(error_message, coalesce(column_idx, -1)) AS message, arg_min(left(csv_line, ${TEXT_KEEP}), coalesce(column_idx, -1)) AS text,
            max(length(csv_line) - length(replace(csv_line, chr(10), ''))) AS spans
       FROM ${REJECTS_TABLE} GROUP BY line ORDER BY line`,
  );
  const rejects: Reject[] = [];
  for (const row of rows) {
    const line = Number(row.line);
    if (skipLines.has(line)) continue;
    const column = row.column_name === null ? null : String(row.column_name);
    const field = column === null ? null : fieldName(column);
    let reason = describeReaderError(String(row.error_type), String(row.message), field);
    // An unterminated quote swallows the lines after it into one value: say how many, so the
    // count of what was refused is not mistaken for one line.
    const spans = Number(row.spans ?? 0);
    if (spans > 0 && /quot/.test(reason))
      reason += `; the value runs over the next ${spans} line${spans === 1 ? '' : 's'}, refused with it`;
    rejects.push({ line, field, reason, text: row.text === null ? null : String(row.text) });
  }
  return rejects;
}

/** A reader type as a user would say it. */
/** A SQL type as a hunter reads it in a reject ("cannot read … as a whole number"). */
export function typeWords(type: string): string {
  if (type.endsWith('[]')) return 'a list';
  if (/^DECIMAL/.test(type)) return 'a time (epoch seconds)';
  if (/INT/.test(type)) return 'a whole number';
  if (type === 'DOUBLE') return 'a number';
  if (type === 'BOOLEAN') return 'a boolean (T or F)';
  if (/TIMESTAMP/.test(type)) return 'a timestamp';
  return "the field's type";
}

function describeReaderError(type: string, message: string, field: string | null): string {
  // DuckDB's messages name our positional columns; restate them in the source's terms.
  switch (type) {
    case 'CAST': {
      const value = /Could not convert string "(.*)" to/s.exec(message)?.[1];
      const target = /to '([^']+)'/.exec(message)?.[1] ?? '';
      if (target === 'JSON') return 'not valid JSON';
      return value !== undefined
        ? `cannot read "${value.slice(0, 80)}" as ${typeWords(target)}`
        : `cannot read value${field ? ` of ${field}` : ''}`;
    }
    case 'MISSING COLUMNS':
    case 'TOO MANY COLUMNS': {
      const m = /Expected Number of Columns: (\d+) Found: (\d+)/.exec(message);
      return m ? `wrong column count: expected ${m[1]}, found ${type === 'TOO MANY COLUMNS' ? 'more' : m[2]}` : type.toLowerCase();
    }
    case 'LINE SIZE OVER MAXIMUM':
      return `line longer than ${MAX_LINE_BYTES} bytes`;
    case 'INVALID ENCODING':
    case 'INVALID UNICODE':
      return 'invalid UTF-8';
    case 'UNQUOTED VALUE':
    case 'UNTERMINATED QUOTES':
      return `bad CSV quoting (${type.toLowerCase()})`;
    default:
      return `${type.toLowerCase()}: ${message.split('\n')[0]}`;
  }
}

/**
 * Record index (0-based, file order) → line, knowing which lines the reader refused (they are not
 * records) and how many lines come before the first record. Assumes one line per record.
 */
export function lineOfRecord(index: number, refusedLines: readonly number[], linesBefore = 0): number {
  let line = index + 1 + linesBefore;
  for (const refused of refusedLines) {
    if (refused <= line) line++;
    else break;
  }
  return line;
}

/**
 * Runs a bulk INSERT with DuckDB free to write rows in any order (about 15 % faster on large
 * files). The reader's rejects carry their own line numbers and rows carry file_id; but the record
 * keys, nextval() on each thread, come out unique and fixed, not in file order and not the same
 * from one load of a file to the next. (Numbering by position instead, row_number() OVER () on the
 * reader, runs the load on one thread: a 10 M-row proxy CSV 1.13× → 1.85× DuckDB's reader. JSON
 * loads stage their records numbered anyway, so they take keys by position: jsonlog.ts.)
 */
export async function unorderedInsert(ctx: LoadContext, label: string, sql: string, params: Params): Promise<void> {
  await ctx.ws.run('SET preserve_insertion_order = false');
  try {
    await ctx.watch(label, ctx.ws.run(sql, params));
  } catch (error) {
    // The failed INSERT aborted the transaction: a RESET now would fail too and hide the real error.
    await ctx.ws.run('RESET preserve_insertion_order').catch(() => undefined);
    throw error;
  }
  await ctx.ws.run('RESET preserve_insertion_order');
}

/**
 * Every log row's key, fixed when it is loaded: `file_id:rec`. Detections point at rows by it, so
 * it must not change for the life of the row (row ids do: DuckDB renumbers them when earlier rows
 * are deleted). Each INSERT writes it as this expression, not as a column DEFAULT: DuckDB binds
 * a default again when it replays its log after a crash, and fails to (duckdb#19712, #22124).
 */
export const NEXT_RECORD = "nextval('record_ids')";

/** Gives a table made before record keys existed its keys (each row one now; new rows get theirs on insert). */
export async function addRecordKeys(ws: Workspace, table: string): Promise<void> {
  await ws.run(`ALTER TABLE ${quoteIdent(table)} ADD COLUMN rec BIGINT`);
  await ws.run(`UPDATE ${quoteIdent(table)} SET rec = ${NEXT_RECORD}`);
}

/** Appends every item (a loop: push(...items) overflows the call stack past ~100,000 items). */
export function appendAll<T>(target: T[], items: readonly T[]): void {
  for (const item of items) target.push(item);
}
