/**
 * What a file's freshly loaded rows say about themselves that a hunter must hear before hunting:
 * the same records already loaded from another file, and times from a clock that was never set.
 * Warnings only: the rows stay as the file has them (nothing is dropped or shifted on a guess).
 */
import { CANONICAL_COLUMNS, CANONICAL_TABLES, type CanonicalTable, quoteIdent } from '../store/schema.ts';
import type { Workspace } from '../store/workspace.ts';

/** Tables whose rows carry Zeek's uid: the same uid and time from two files is the same record. */
const UID_TABLES = new Set(['flows', 'http', 'tls', 'dns']);

/**
 * The same records under another file name (conn.log and labeled-conn.log, a re-exported
 * folder) would count twice in every hunt: a sample of this file's (uid, ts) pairs is looked up
 * in the rest of the table, and a warning names the other file.
 */
export async function sameRecordsElsewhere(ws: Workspace, fileId: number, targets: readonly string[]): Promise<string[]> {
  const warnings: string[] = [];
  for (const table of targets.filter((t) => UID_TABLES.has(t))) {
    // Nothing else loaded into this table yet: nothing to compare with (the common first load).
    const others = await ws.scalar(
      "SELECT count(*) FROM ingested_files WHERE file_id <> $1 AND list_contains(string_split(target_table, ','), $2)",
      [fileId, table],
    );
    if (Number(others) === 0) continue;
    const [row] = await ws.query(
      `WITH mine AS (SELECT uid, ts FROM ${quoteIdent(table)} WHERE file_id = $1 AND uid IS NOT NULL LIMIT 1000)
      SELECT (SELECT count(*) FROM mine) AS sampled, count(DISTINCT (m.uid, m.ts)) AS seen, min(o.file_id) AS other
        FROM mine m JOIN ${quoteIdent(table)} o ON o.uid = m.uid AND o.ts = m.ts AND o.file_id <> $1`,
      [fileId],
    );
    if (Number(row.seen) === 0) continue;
    const [other] = await ws.query("SELECT path || coalesce('!' || member, '') AS path FROM ingested_files WHERE file_id = $1", [
      Number(row.other),
    ]);
    warnings.push(
      `${row.seen} of ${row.sampled} sampled ${table} records (same uid and time) are already in the workspace from ${other?.path ?? `file ${row.other}`}: the same traffic loaded twice counts twice in every hunt`,
    );
  }
  return warnings;
}

/**
 * Times before this were not read from a clock that was set: a capture replayed with times counted
 * from 0 (three of the six Stratosphere captures start at 1970-01-01 00:00:11), a device whose
 * clock was never set. No log a hunt meets is really that old.
 */
const UNSET_CLOCK_BEFORE = '1990-01-01';

const TIMED = new Set<string>(CANONICAL_TABLES.filter((t) => CANONICAL_COLUMNS[t].some((c) => c.name === 'ts' && c.type === 'TIMESTAMP')));

/**
 * Records dated before 1990 are kept as dated, but said: every hunt places them in 1970, where a
 * window on the latest day of the data (the timing hunt's default) never looks, and they share
 * that day with every other such capture.
 */
export async function clockNeverSet(ws: Workspace, fileId: number, targets: readonly string[]): Promise<string[]> {
  const warnings: string[] = [];
  for (const table of targets.filter((t): t is CanonicalTable => TIMED.has(t))) {
    const [row] = await ws.query(
      `SELECT count(*) FILTER (WHERE ts < CAST($2 AS TIMESTAMP)) AS early, count(ts) AS timed,
              min(ts) AS first, max(ts) FILTER (WHERE ts < CAST($2 AS TIMESTAMP)) AS last
         FROM ${quoteIdent(table)} WHERE file_id = $1`,
      [fileId, UNSET_CLOCK_BEFORE],
    );
    const early = Number(row?.early ?? 0);
    if (early === 0) continue;
    const when = (v: unknown) => String(v).slice(0, 19);
    // The UTC days they fall on, as --since/--until take them (until is exclusive).
    const day = (v: unknown, plus = 0) =>
      new Date(Date.parse(`${String(v).slice(0, 10)}T00:00:00Z`) + plus * 86_400_000).toISOString().slice(0, 10);
    warnings.push(
      `${early} of ${Number(row.timed)} ${table} records are dated before ${UNSET_CLOCK_BEFORE.slice(0, 4)} (${when(row.first)} – ${when(row.last)}): times counted from 0 (a capture replayed with relative times?) or a clock never set. They are kept as dated, so hunts see them then, and a window on the latest day of newer logs leaves them out: --since ${day(row.first)} --until ${day(row.last, 1)} hunts them`,
    );
  }
  return warnings;
}
