/**
 * Delimited text with a header row (CSV from Splunk or a SIEM, TSV, CERT insider files).
 * The header decides the mapping onto a canonical table; DuckDB's reader then parses every row
 * with the column types of that table, so a bad value is refused with its line and field.
 */
import { Bindings } from '../store/sql.ts';
import { InputError, UnknownTableError, UsageError } from '../errors.ts';
import {
  CANONICAL_COLUMNS,
  EXTRA_COLUMN,
  isCanonicalTable,
  quoteIdent,
  quoteLiteral,
  type CanonicalTable,
  type SqlType,
  isListType,
} from '../store/schema.ts';
import { listFromText } from './lists.ts';
import { firstLine, guessDelimiter, splitCsvLine } from './csvline.ts';
import { foldName, mapFields, parseMapOption, type FieldMapping } from './fields.ts';
import {
  appendAll,
  lineOfRecord,
  MAX_LINE_BYTES,
  NEXT_RECORD,
  readerRejects,
  REJECTS_TABLE,
  resetReaderRejects,
  STORE_REJECTS,
  unorderedInsert,
  type LoadContext,
  type LoadOutcome,
  type Reject,
} from './load.ts';
import type { Prescan } from './prescan.ts';
import { physicalLines, repairBareCr } from './csvrecords.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseTimeReading, timestampFromText, type TimeReading } from './timeformat.ts';

export interface TabularProfile {
  table?: CanonicalTable;
  /** Columns set to a constant for every row (e.g. CERT's activity kind). */
  constants?: Record<string, string>;
  /** Canonical column → source field, as --map gives them (--map still wins). */
  map?: Record<string, string>;
  /** Columns computed from another mapped column's value (the site from a URL). */
  derive?: { column: string; from: string; sql: (ref: string) => string }[];
}

/** Guesses the canonical table from field names; undefined when nothing fits. */
export function guessTable(fieldNames: readonly string[]): CanonicalTable | undefined {
  const names = new Set(fieldNames.map(foldName));
  const has = (...candidates: string[]) => candidates.some((name) => names.has(name));
  // Profile exports (Twitter API v1.1 user objects among them) against interaction rows: who is it, or who did what.
  const counts = has(
    'followers_count',
    'friends_count',
    'statuses_count',
    'screen_name',
    'followers',
    'following',
    'connections',
    'follower_count',
    'following_count',
    'media_count',
    'userfollowercount',
    'user_follower_count',
    'userfollowingcount',
    'usermediacount',
  );
  const acts = has('user', 'user_email', 'kind', 'interaction');
  if (counts && !acts) return 'profiles';
  if (has('profile_id', 'profile_url')) return acts ? 'interactions' : 'profiles';
  if (has('eventid', 'event_id', 'eventcode', 'commandline', 'command_line', 'channel')) return 'events';
  if (
    has('url', 'uri', 'cs_uri', 'http_user_agent', 'user_agent', 'status_code', 'http_method') ||
    (has('dest', 'host') && has('method', 'status'))
  )
    return 'http';
  if (has('server_name', 'sni', 'ja3')) return 'tls';
  if (has('src_ip', 'id_orig_h', 'src', 'source_ip') && has('dest_ip', 'id_resp_h', 'dst_ip', 'dst', 'destination_ip')) return 'flows';
  return undefined;
}

const SAMPLE_ROWS = 2000;

export async function loadTabular(ctx: LoadContext, scan: Prescan, profile: TabularProfile = {}): Promise<LoadOutcome> {
  if (!scan.bareCr) return withPhysicalLines(ctx, scan.gzip, await loadDelimited(ctx, scan, ctx.localPath, scan.gzip, profile));
  // A bare CR outside quotes: DuckDB would end the line there and fail the file. The lines holding
  // one are refused; DuckDB reads a copy without them.
  const dir = await mkdtemp(join(tmpdir(), 'huntbook-csv-'));
  try {
    const copy = join(dir, 'repaired.csv');
    const repair = await repairBareCr(ctx.localPath, scan.gzip, copy);
    const outcome = await loadDelimited(ctx, scan, copy, false, profile);
    for (const reject of outcome.rejects) if (reject.line !== null) reject.line = repair.lineMap[reject.line - 1] ?? reject.line;
    appendAll(
      outcome.rejects,
      repair.dropped.map(({ line, text }) => ({
        line,
        field: null,
        reason: 'carriage return (CR) inside an unquoted value: the line cannot be split into fields reliably',
        text,
      })),
    );
    outcome.rejects.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    outcome.read += repair.dropped.length;
    return outcome;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * DuckDB numbers a CSV's records, not its lines: with quoted values spanning lines the two part
 * ways, so rejects are mapped to the physical line their record starts on.
 */
async function withPhysicalLines(ctx: LoadContext, gzip: boolean, outcome: LoadOutcome): Promise<LoadOutcome> {
  const lines = outcome.rejects.map((r) => r.line).filter((line): line is number => line !== null);
  if (lines.length === 0) return outcome;
  const physical = await physicalLines(ctx.localPath, gzip, lines);
  for (const reject of outcome.rejects) if (reject.line !== null) reject.line = physical.get(reject.line) ?? reject.line;
  return outcome;
}

async function loadDelimited(ctx: LoadContext, scan: Prescan, file: string, gzip: boolean, profile: TabularProfile): Promise<LoadOutcome> {
  const header = firstLine(scan.sample);
  const delimiter = guessDelimiter(header);
  const names = splitCsvLine(header, delimiter).map((name) => name.trim());
  const tableName = ctx.table ?? profile.table ?? guessTable(names);
  if (!tableName) {
    throw new UnknownTableError(
      `cannot tell which table these columns belong to (${names.slice(0, 12).join(', ')}); name it with --as flows|http|tls|events|activity|directory|interactions and map fields with --map`,
      { location: { file: ctx.display, line: 1 } },
    );
  }
  if (!isCanonicalTable(tableName)) throw new UsageError(`--as ${tableName}: not a canonical table`);
  const table: CanonicalTable = tableName;
  const overrides = new Map([...Object.entries(profile.map ?? {}), ...parseMapOption(ctx.map, table)]);
  const mapping = mapFields(table, names, overrides);
  const dialect = `delim=${quoteLiteral(delimiter)}, quote='"', escape='"', header=true, auto_detect=false, compression='${gzip ? 'gzip' : 'none'}'`;
  const path = quoteLiteral(file);

  const tsIndex = mapping.columns.get('ts');
  let reading: TimeReading | null = null;
  if (tsIndex !== undefined) {
    const textColumns = names.map((_, i) => `'c${i}': 'VARCHAR'`).join(', ');
    const sample = await ctx.ws.query(
      `SELECT c${tsIndex} AS v FROM read_csv(${path}, ${dialect}, columns={${textColumns}}, ignore_errors=true) WHERE c${tsIndex} IS NOT NULL LIMIT ${SAMPLE_ROWS}`,
    );
    const values = sample.map((row) => String(row.v));
    reading = await chooseTimeReading(ctx.ws, values);
    if (!reading && values.length > 0) {
      throw new InputError(
        `cannot read timestamps like "${values[0].slice(0, 60)}"; supported: epoch seconds or ms, ISO 8601, and common log formats`,
        { location: { file: ctx.display, line: 2, field: names[tsIndex] } },
      );
    }
  }

  // Other time columns (valid_from, an account's created_at) get their own reading, from a sample.
  const otherReadings = new Map<number, TimeReading>();
  for (const [column, index] of mapping.columns) {
    if (index === tsIndex || CANONICAL_COLUMNS[table].find((c) => c.name === column)?.type !== 'TIMESTAMP') continue;
    const textColumns = names.map((_, i) => `'c${i}': 'VARCHAR'`).join(', ');
    const sample = await ctx.ws.query(
      `SELECT c${index} AS v FROM read_csv(${path}, ${dialect}, columns={${textColumns}}, ignore_errors=true) WHERE c${index} IS NOT NULL LIMIT ${SAMPLE_ROWS}`,
    );
    const found = await chooseTimeReading(
      ctx.ws,
      sample.map((row) => String(row.v)),
    );
    if (found) otherReadings.set(index, found);
  }
  const readerTypes = names.map((_, i) => readerType(table, mapping, i, reading));
  // ISO and epoch times are read as text and parsed here: DuckDB's reader turns an unreadable
  // TIMESTAMPTZ into NULL without a reject (duckdb#11832), and reads "nan" or "1e999" as a number
  // no TIMESTAMP can hold (the cast threw and failed the file), so such rows are marked and refused below.
  const textTs = tsIndex !== undefined && (reading?.kind === 'iso' || reading?.kind === 'epoch');
  const { values: params, bind } = new Bindings();
  const columns: string[] = [];
  const exprs: string[] = [];
  for (const { name, type } of CANONICAL_COLUMNS[table]) {
    const constant = profile.constants?.[name];
    const index = mapping.columns.get(name);
    if (constant !== undefined) {
      columns.push(quoteIdent(name));
      exprs.push(bind(constant));
    } else if (index !== undefined) {
      columns.push(quoteIdent(name));
      exprs.push(
        index === tsIndex && textTs
          ? 'hb_ts'
          : projection(`c${index}`, type, readerTypes[index], index === tsIndex ? reading : (otherReadings.get(index) ?? null)),
      );
    } else {
      const derived = profile.derive?.find((d) => d.column === name);
      const from = derived && mapping.columns.get(derived.from);
      if (derived && from !== undefined) {
        columns.push(quoteIdent(name));
        exprs.push(derived.sql(`c${from}`));
      }
    }
  }
  // A profile export's description is its bio: its length is a feature (bots leave it short).
  const description = names.findIndex((n) => foldName(n) === 'description');
  if (table === 'profiles' && !mapping.columns.has('bio_length') && description >= 0) {
    columns.push(quoteIdent('bio_length'));
    exprs.push(`length(coalesce(c${description}, ''))`);
  }
  const extraPairs = mapping.unmapped.map((i) => `, ${bind(names[i])}, c${i}`).join('');
  const extra = mapping.unmapped.length === 0 ? 'NULL' : `json_object(${extraPairs.slice(2)})`;
  columns.push('file_id', 'rec', quoteIdent(EXTRA_COLUMN[table]));
  exprs.push(
    String(ctx.fileId),
    NEXT_RECORD,
    textTs
      ? `CASE WHEN hb_ts IS NULL AND c${tsIndex} IS NOT NULL THEN json_object('${UNREADABLE_TS}', c${tsIndex}${extraPairs}) ELSE ${extra} END`
      : extra,
  );
  const typeList = readerTypes.map((type, i) => `'c${i}': '${type}'`).join(', ');
  const formatOption = reading?.kind === 'format' ? `, timestampformat=${quoteLiteral(reading.format)}` : '';
  const reader = `read_csv(${path}, ${dialect}, columns={${typeList}}${formatOption}, ${STORE_REJECTS})`;
  const source = textTs && reading ? `(SELECT *, ${timestampFromText(`c${tsIndex}`, reading)} AS hb_ts FROM ${reader})` : reader;
  const sql = `INSERT INTO ${quoteIdent(table)} (${columns.join(', ')}) SELECT ${exprs.join(', ')} FROM ${source}`;

  await resetReaderRejects(ctx.ws);
  await unorderedInsert(ctx, `loading ${table}`, sql, params);
  const rejects = await readerRejects(ctx.ws, (column) => names[Number(column.slice(1))] ?? column);
  if (textTs && reading) {
    const textList = names.map((_, i) => `'c${i}': 'VARCHAR'`).join(', ');
    const reread = `read_csv(${path}, ${dialect}, columns={${textList}}, ignore_errors=true, max_line_size=${MAX_LINE_BYTES})`;
    appendAll(rejects, await refuseUnreadableTimes(ctx, table, reread, tsIndex, names[tsIndex], reading, rejects));
  }
  const loaded = Number(await ctx.ws.scalar(`SELECT count(*) FROM ${quoteIdent(table)} WHERE file_id = $1`, [ctx.fileId]));
  return { target: table, read: loaded + rejects.length, loaded, rejects };
}

/** Key in `extra` marking a row whose timestamp text could not be read (refused after the load). */
const UNREADABLE_TS = '_unreadable_ts';

/**
 * Refuses the loaded rows whose timestamp text was unreadable, with their lines. Rare, so the
 * line numbers come from a second, ordered scan only when there are any.
 */
async function refuseUnreadableTimes(
  ctx: LoadContext,
  table: CanonicalTable,
  reread: string,
  tsIndex: number,
  field: string,
  reading: TimeReading,
  readerRefused: readonly Reject[],
): Promise<Reject[]> {
  const marked = `file_id = $1 AND ts IS NULL AND json_exists(${quoteIdent(EXTRA_COLUMN[table])}, '$.${UNREADABLE_TS}')`;
  const count = Number(await ctx.ws.scalar(`SELECT count(*) FROM ${quoteIdent(table)} WHERE ${marked}`, [ctx.fileId]));
  if (count === 0) return [];
  // Every column read as text: only structural faults (column count, quoting, encoding) drop a
  // record, so record numbers map to lines past those; rows the load refused for a value are
  // found again here and left out, as they are already refused.
  const rows = await ctx.ws.query(
    `SELECT n, v FROM (SELECT row_number() OVER () AS n, c${tsIndex} AS v FROM ${reread})
      WHERE v IS NOT NULL AND ${timestampFromText('v', reading)} IS NULL ORDER BY n`,
  );
  const structural = (await ctx.ws.query(`SELECT DISTINCT line FROM ${REJECTS_TABLE} WHERE error_type <> 'CAST' ORDER BY line`)).map(
    (row) => Number(row.line),
  );
  const refused = new Set(readerRefused.map((r) => r.line));
  const found = rows
    .map((row) => ({ line: lineOfRecord(Number(row.n) - 1, structural, 1), value: String(row.v) }))
    .filter((f) => !refused.has(f.line));
  if (found.length !== count) {
    throw new InputError(`accounting mismatch: ${count} unreadable timestamps loaded but ${found.length} found again; nothing was kept`, {
      location: { file: ctx.display, field },
    });
  }
  await ctx.ws.run(`DELETE FROM ${quoteIdent(table)} WHERE ${marked}`, [ctx.fileId]);
  return found.map(({ line, value }) => ({ line, field, reason: `cannot read "${value.slice(0, 80)}" as a timestamp`, text: null }));
}

function readerType(table: CanonicalTable, mapping: FieldMapping, index: number, reading: TimeReading | null): SqlType {
  const column = [...mapping.columns].find(([, i]) => i === index)?.[0];
  if (column === undefined) return 'VARCHAR';
  const type = CANONICAL_COLUMNS[table].find((c) => c.name === column)?.type ?? 'VARCHAR';
  if (type === 'TIMESTAMP') {
    if (column !== 'ts' || !reading) return 'VARCHAR';
    // ISO and epoch times are read as text and parsed in SQL (refused rows are marked: see textTs)
    return reading.kind === 'format' ? 'TIMESTAMP' : 'VARCHAR';
  }
  return type === 'JSON' || isListType(type) ? 'VARCHAR' : type;
}

function projection(ref: string, type: SqlType, read: SqlType, reading: TimeReading | null): string {
  if (isListType(type)) return listFromText(ref, type);
  if (type !== 'TIMESTAMP') return ref;
  if (read === 'TIMESTAMP') return ref;
  return timestampFromText(ref, reading ?? { kind: 'iso' });
}
