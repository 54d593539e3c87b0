/**
 * `ingest --logs clickhouse://…`: a file is read by the same readers into the workspace (same
 * accounting, rejects kept there), and once its load has committed its rows move to ClickHouse
 * batch by batch and leave the workspace. The workspace remembers every such file
 * (clickhouse_files): 'shipping' until the last batch is there, then 'stored'; 'replaced' once
 * --force loaded its content again. Hunts on ClickHouse hide the rows of files not 'stored'.
 *
 * Nothing doubles, on any server since 18.16 (which has no insert deduplication tokens): a
 * file's rows carry its file id and their record keys (rec), fixed at load; a batch is a run of
 * consecutive keys; a batch is sent again (after a lost answer, or when a stopped ingest is
 * finished) only when ClickHouse holds none of its keys, skipped when it holds all of them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HuntbookError } from '../errors.ts';
import { clickhouseIdent, clickhouseLiteral } from './dialect-clickhouse.ts';
import type { ClickHouseInserter, ClickHouseRunner, ShipFormat } from './logs.ts';
import { CANONICAL_COLUMNS, type CanonicalTable, EXTRA_COLUMN, isLogTable, LOG_TABLES, quoteIdent, quoteLiteral } from './schema.ts';
import type { Workspace } from './workspace.ts';

/** Where a workspace sends its files' rows. */
export interface ClickHouseWriter {
  /** host:port/db (ClickHouseTarget.key): the files the workspace keeps there are listed under it. */
  key: string;
  database: string;
  /** For messages. */
  where: string;
  run: ClickHouseRunner;
  insert: ClickHouseInserter;
  /** A statement that answers nothing (ALTER … DELETE). */
  exec: (statement: string) => Promise<void>;
  /** Rows per INSERT (default BATCH_ROWS). */
  batchRows?: number;
  /**
   * It reads Parquet (chdb, servers from 23.3): DuckDB writes a batch as Parquet in about a third
   * of the time it takes to write CSV, and ClickHouse parses it about three times faster (2 M
   * proxy rows into chdb: 7.7 s as CSV, 2.3 s as Parquet). Otherwise CSV, or JSONEachRow for list columns.
   */
  parquet?: boolean;
}

/**
 * The inserter of a ClickHouse that reads files itself (chdb, clickhouse-local): FROM INFILE. chdb
 * takes a statement as a C string, which would end at a NUL inside a row; a file has no such end.
 */
export function insertFromInfile(run: ClickHouseRunner): ClickHouseInserter {
  return async (into, format, file) => void (await run(`INSERT INTO ${into} FROM INFILE ${clickhouseLiteral(file)} FORMAT ${format}`));
}

/** Rows per INSERT: one part per batch on the server (fewer is faster: 2 M rows to two 18.16 shards in 8.7 s at 200,000, 11.7 s at 50,000), and a batch is held as text (~60 MB of proxy rows). */
export const BATCH_ROWS = 200_000;

/** Files whose rows a hunt on this ClickHouse must not see: loads not finished, copies replaced. */
export async function hiddenFiles(ws: Workspace, key: string): Promise<number[]> {
  const rows = await ws.query("SELECT file_id FROM clickhouse_files WHERE logs = $1 AND state <> 'stored' ORDER BY file_id", [key]);
  return rows.map((row) => Number(row.file_id));
}

/**
 * The times ClickHouse's DateTime holds on every server since 18.16 (seconds since 1970 in a
 * UInt32; 18.16's calendar ends with 2105, and its second 0 reads back as 0000-00-00 00:00:00).
 * Outside them a server clamps (26.x: 2200 is stored as 2106-02-07 06:28:15, 1960 as 1970-01-01)
 * or wraps (18.16: 2106-02-07 06:28:15 comes back as 1970-01-01 06:28:15): a record would change
 * its time without a word. Such rows are not sent.
 */
const DATETIME_FIRST = '1970-01-01 00:00:01';
const DATETIME_LAST = '2105-12-31 23:59:59.999999';

/** The rows of `table` that ClickHouse can hold as they are (SQL over the workspace table). */
function holdable(table: CanonicalTable): string {
  if (!CANONICAL_COLUMNS[table].some((c) => c.name === 'ts')) return 'true';
  return `("ts" IS NULL OR "ts" BETWEEN TIMESTAMP '${DATETIME_FIRST}' AND TIMESTAMP '${DATETIME_LAST}')`;
}

/**
 * Inside the load's transaction: the file's rows are bound for ClickHouse (the log tables among
 * `targets`; the people tables and any other table, zeek_weird say, stay in the workspace), and
 * the copies --force replaced are hidden from hunts there from now on. Says which rows stay here
 * because ClickHouse cannot hold their time.
 */
export async function claimFile(
  ws: Workspace,
  key: string,
  fileId: number,
  targets: readonly string[],
  replaced: readonly number[],
): Promise<string[]> {
  for (const old of replaced) await ws.run("UPDATE clickhouse_files SET state = 'replaced' WHERE file_id = $1", [old]);
  const tables = targets.filter(isLogTable);
  if (tables.length === 0) return [];
  await ws.run("INSERT INTO clickhouse_files VALUES ($1, $2, $3, 'shipping', 0)", [fileId, key, tables.join(',')]);
  const warnings: string[] = [];
  for (const table of tables) {
    if (holdable(table) === 'true') continue;
    const [row] = await ws.query(
      `SELECT count(*) AS n, min(ts) AS first, max(ts) AS last FROM ${quoteIdent(table)} WHERE file_id = $1 AND NOT ${holdable(table)}`,
      [fileId],
    );
    if (Number(row.n) === 0) continue;
    warnings.push(
      `${row.n} ${table} records dated outside ${DATETIME_FIRST} – ${DATETIME_LAST.slice(0, 19)} (${String(row.first).slice(0, 19)} – ${String(row.last).slice(0, 19)}) stay in the workspace: ClickHouse's DateTime cannot hold their times; hunts without --logs see them`,
    );
  }
  return warnings;
}

/** A column as ClickHouse reads it from CSV or JSON on every server: whole-second times, 0/1, JSON as text. */
function exported(name: string, type: string): [string, string] {
  const column = quoteIdent(name);
  if (type === 'TIMESTAMP') return [name, `strftime(${column}, '%Y-%m-%d %H:%M:%S') AS ${column}`];
  if (type === 'BOOLEAN') return [name, `CAST(${column} AS INTEGER) AS ${column}`];
  if (type === 'JSON') return [name, `CAST(${column} AS VARCHAR) AS ${column}`];
  return [name, column];
}

/** The columns sent, in order: ClickHouse names them in the INSERT. */
function exportColumns(table: CanonicalTable): [string, string][] {
  const columns = CANONICAL_COLUMNS[table].map((c) => exported(c.name, c.type));
  if (!CANONICAL_COLUMNS[table].some((c) => c.name === EXTRA_COLUMN[table])) columns.push(exported(EXTRA_COLUMN[table], 'JSON'));
  return [['file_id', 'file_id'], ['rec', 'rec'], ...columns];
}

/**
 * How a table's batches travel: Parquet where the writer reads it; else CSV where the table has no
 * list columns (ClickHouse parses it several times faster than JSON; 18.16 reads RFC quoting, \N
 * as NULL), JSONEachRow where it has (dns: CSV has no list syntax both engines share). The values
 * are the same text in every format (exported): times are parsed by ClickHouse alike.
 */
function shipFormat(writer: ClickHouseWriter, table: CanonicalTable): { format: ShipFormat; options: string } {
  if (writer.parquet) return { format: 'Parquet', options: 'FORMAT parquet' };
  if (CANONICAL_COLUMNS[table].some((c) => c.type.endsWith('[]'))) return { format: 'JSONEachRow', options: 'FORMAT JSON' };
  return { format: 'CSV', options: "FORMAT CSV, HEADER false, NULLSTR '\\N', FORCE_QUOTE *" };
}

/**
 * The file's rows in one table, sent batch by batch (a batch: the rows whose record keys fall in
 * one run of BATCH_ROWS consecutive keys, written to a file in the writer's format); how many
 * ClickHouse now holds.
 */
async function shipTable(
  ws: Workspace,
  writer: ClickHouseWriter,
  fileId: number,
  table: CanonicalTable,
  dir: string,
  onBatch: (rows: number) => void,
): Promise<number> {
  const sent = `file_id = ${Number(fileId)} AND ${holdable(table)}`;
  const [range] = await ws.query(`SELECT min(rec) AS lo, max(rec) AS hi FROM ${quoteIdent(table)} WHERE ${sent}`);
  if (range?.lo === null || range?.lo === undefined) return 0;
  const { format, options } = shipFormat(writer, table);
  const columns = exportColumns(table);
  const names = columns.map(([name]) => clickhouseIdent(name)).join(', ');
  const target = `${clickhouseIdent(writer.database)}.${clickhouseIdent(table)}`;
  const held = async (lo: number, hi: number) => {
    const [row] = await writer.run(
      `SELECT count() AS n FROM ${target} WHERE file_id = ${clickhouseLiteral(fileId)} AND rec >= ${clickhouseLiteral(lo)} AND rec < ${clickhouseLiteral(hi)}`,
    );
    return Number(row?.n ?? 0);
  };
  const size = writer.batchRows ?? BATCH_ROWS;
  const first = Number(range.lo);
  // Every batch's rows, counted in one pass: [first key, rows].
  const batches = (
    await ws.query(`SELECT (rec - $1) // $2 AS b, count(*) AS n FROM ${quoteIdent(table)} WHERE ${sent} GROUP BY b ORDER BY b`, [
      first,
      size,
    ])
  ).map((row) => [first + Number(row.b) * size, Number(row.n)] as const);
  const into = `${target} (${names})`;
  // What ClickHouse holds of every batch already (an earlier, stopped ingest), asked once: so a
  // batch's file is written while the previous batch travels, even where the insert blocks (chdb).
  const heldBefore = new Map(
    (
      await writer.run(
        `SELECT intDiv(rec - ${clickhouseLiteral(first)}, ${clickhouseLiteral(size)}) AS b, count() AS n FROM ${target} WHERE file_id = ${clickhouseLiteral(fileId)} AND rec >= ${clickhouseLiteral(first)} GROUP BY b`,
      )
    ).map((row) => [first + Number(row.b) * size, Number(row.n)] as const),
  );
  /** The file of a batch's rows; null when ClickHouse holds them already (an earlier, stopped ingest). */
  const prepare = async ([lo, rows]: readonly [number, number], slot: number): Promise<string | null> => {
    const hi = lo + size;
    const before = heldBefore.get(lo) ?? 0;
    if (before === rows) return null;
    if (before > 0)
      throw new HuntbookError(
        `${writer.where}: ${table} holds ${before} of the ${rows} rows of file ${fileId}'s records ${lo}–${hi - 1} (a batch half-written by an earlier failure); delete them there (ALTER TABLE … DELETE WHERE file_id = ${fileId}) and ingest again`,
      );
    const file = join(dir, `${table}.${slot}.batch`);
    const select = `SELECT ${columns.map(([, sql]) => sql).join(', ')} FROM ${quoteIdent(table)} WHERE ${sent} AND rec >= ${lo} AND rec < ${hi} ORDER BY rec`;
    await ws.run(`COPY (${select}) TO ${quoteLiteral(file)} (${options})`);
    return file;
  };
  let shipped = 0;
  // The next batch is written out while this one travels: DuckDB and the server work at once.
  let next = batches.length > 0 ? prepare(batches[0], 0) : undefined;
  try {
    for (const [i, [lo, rows]] of batches.entries()) {
      const file = await next!;
      next = i + 1 < batches.length ? prepare(batches[i + 1], (i + 1) % 2) : undefined;
      // A failed prepare of the next batch is met when it is awaited; it must not go unhandled meanwhile.
      next?.catch(() => undefined);
      if (file !== null) {
        try {
          await writer.insert(into, format, file);
        } catch (error) {
          // The answer may be lost after the rows landed: look before sending them again.
          const after = await held(lo, lo + size).catch(() => -1);
          if (after !== rows) {
            if (after !== 0) throw error;
            await writer.insert(into, format, file);
          }
        }
      }
      shipped += rows;
      onBatch(shipped);
    }
  } catch (error) {
    // The workspace is not left with a COPY still running behind the error.
    await next?.catch(() => undefined);
    throw error;
  }
  return shipped;
}

/**
 * After the load committed: every row of the file goes to ClickHouse, then leaves the workspace,
 * and the file is 'stored'. Run again on a file left 'shipping' (a stopped ingest), it sends only
 * the batches ClickHouse lacks. Returns the rows ClickHouse holds for the file (undefined: none of
 * its tables is kept there).
 */
export async function shipFile(
  ws: Workspace,
  writer: ClickHouseWriter,
  fileId: number,
  onProgress: (rows: number) => void = () => undefined,
): Promise<number | undefined> {
  const [claim] = await ws.query("SELECT tables FROM clickhouse_files WHERE file_id = $1 AND logs = $2 AND state = 'shipping'", [
    fileId,
    writer.key,
  ]);
  if (!claim) return undefined; // none of its tables goes there, or it is there already
  const tables = String(claim.tables).split(',').filter(isLogTable);
  const dir = await mkdtemp(join(tmpdir(), 'huntbook-ship-'));
  let rows = 0;
  try {
    for (const table of tables) {
      const before = rows;
      rows += await shipTable(ws, writer, fileId, table, dir, (n) => onProgress(before + n));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  await ws.transaction(async () => {
    // (rows whose time ClickHouse cannot hold stay: claimFile said so)
    for (const table of tables) await ws.run(`DELETE FROM ${quoteIdent(table)} WHERE file_id = $1 AND ${holdable(table)}`, [fileId]);
    await ws.run("UPDATE clickhouse_files SET state = 'stored', rows = $2 WHERE file_id = $1", [fileId, rows]);
  });
  await deleteReplaced(ws, writer);
  return rows;
}

/**
 * The rows of copies --force replaced are hidden from hunts at once; here they are also deleted
 * (an asynchronous ALTER … DELETE, 18.16 has it) from tables on this server. A Distributed
 * table's rows live in its shards' local tables, which only ON CLUSTER reaches: there they stay
 * hidden (a cluster's administrator drops them with ALTER TABLE …_local ON CLUSTER … DELETE).
 */
async function deleteReplaced(ws: Workspace, writer: ClickHouseWriter): Promise<void> {
  const replaced = await ws.query("SELECT file_id, tables FROM clickhouse_files WHERE logs = $1 AND state = 'replaced'", [writer.key]);
  if (replaced.length === 0) return;
  const engines = new Map(
    (
      await writer.run(
        `SELECT name, engine FROM system.tables WHERE database = ${clickhouseLiteral(writer.database)} AND name IN (${LOG_TABLES.map((t) => clickhouseLiteral(t)).join(', ')})`,
      )
    ).map((row) => [String(row.name), String(row.engine)]),
  );
  for (const file of replaced) {
    const tables = String(file.tables).split(',').filter(isLogTable);
    if (!tables.every((t) => engines.get(t)?.endsWith('MergeTree'))) continue;
    for (const table of tables)
      await writer.exec(
        `ALTER TABLE ${clickhouseIdent(writer.database)}.${clickhouseIdent(table)} DELETE WHERE file_id = ${clickhouseLiteral(Number(file.file_id))}`,
      );
    await ws.run("UPDATE clickhouse_files SET state = 'deleted' WHERE file_id = $1", [Number(file.file_id)]);
  }
}

/** Files a stopped ingest left half-sent to this ClickHouse: the next ingest finishes them first. */
export async function unfinishedFiles(ws: Workspace, key: string): Promise<number[]> {
  const rows = await ws.query("SELECT file_id FROM clickhouse_files WHERE logs = $1 AND state = 'shipping' ORDER BY file_id", [key]);
  return rows.map((row) => Number(row.file_id));
}

/**
 * Ingest's destination for a writer (the RowDestination of ingest.ts, by shape): claim in the
 * load's transaction, ship after it, and the files a stopped ingest left half-sent.
 */
export function shipTo(writer: ClickHouseWriter) {
  return {
    where: writer.where,
    claim: (ws: Workspace, fileId: number, targets: readonly string[], replaced: readonly number[]) =>
      claimFile(ws, writer.key, fileId, targets, replaced),
    ship: (ws: Workspace, fileId: number, onProgress?: (rows: number) => void) => shipFile(ws, writer, fileId, onProgress),
    unfinished: (ws: Workspace) => unfinishedFiles(ws, writer.key),
  };
}
