/**
 * Delimited text with a header row (CSV from Splunk or a SIEM, TSV, CERT insider files).
 * The header decides the mapping onto a canonical table; DuckDB's reader then parses every row
 * with the column types of that table, so a bad value is refused with its line and field.
 */
import type { DuckDBValue } from '@duckdb/node-api';
import { InputError, UnknownTableError, UsageError } from '../errors.ts';
import { CANONICAL_COLUMNS, EXTRA_COLUMN, isCanonicalTable, quoteIdent, quoteLiteral, type CanonicalTable, type SqlType } from '../store/schema.ts';
import { firstLine, guessDelimiter, splitCsvLine } from './csvline.ts';
import { foldName, mapFields, parseMapOption, type FieldMapping } from './fields.ts';
import { readerRejects, resetReaderRejects, STORE_REJECTS, unorderedInsert, type LoadContext, type LoadOutcome } from './load.ts';
import type { Prescan } from './prescan.ts';
import { chooseTimeReading, timestampFromText, type TimeReading } from './timeformat.ts';

export interface TabularProfile {
  table?: CanonicalTable;
  /** Columns set to a constant for every row (e.g. CERT's activity kind). */
  constants?: Record<string, string>;
}

/** Guesses the canonical table from field names; undefined when nothing fits. */
export function guessTable(fieldNames: readonly string[]): CanonicalTable | undefined {
  const names = new Set(fieldNames.map(foldName));
  const has = (...candidates: string[]) => candidates.some((name) => names.has(name));
  if (has('profile_id', 'profile_url')) return 'interactions';
  if (has('eventid', 'event_id', 'eventcode', 'commandline', 'command_line', 'channel')) return 'events';
  if (has('url', 'uri', 'cs_uri', 'http_user_agent', 'user_agent', 'status_code', 'http_method') || (has('dest', 'host') && has('method', 'status'))) return 'http';
  if (has('server_name', 'sni', 'ja3')) return 'tls';
  if (has('src_ip', 'id_orig_h', 'src', 'source_ip') && has('dest_ip', 'id_resp_h', 'dst_ip', 'dst', 'destination_ip')) return 'flows';
  return undefined;
}

const SAMPLE_ROWS = 2000;

export async function loadTabular(ctx: LoadContext, scan: Prescan, profile: TabularProfile = {}): Promise<LoadOutcome> {
  const header = firstLine(scan.sample);
  const delimiter = guessDelimiter(header);
  const names = splitCsvLine(header, delimiter).map((name) => name.trim());
  const tableName = ctx.table ?? profile.table ?? guessTable(names);
  if (!tableName) {
    throw new UnknownTableError(`cannot tell which table these columns belong to (${names.slice(0, 12).join(', ')}); name it with --as flows|http|tls|events|activity|directory|interactions and map fields with --map`, { location: { file: ctx.display, line: 1 } });
  }
  if (!isCanonicalTable(tableName)) throw new UsageError(`--as ${tableName}: not a canonical table`);
  const table: CanonicalTable = tableName;
  const mapping = mapFields(table, names, parseMapOption(ctx.map, table));
  const dialect = `delim=${quoteLiteral(delimiter)}, quote='"', escape='"', header=true, auto_detect=false, compression='${scan.gzip ? 'gzip' : 'none'}'`;
  const path = quoteLiteral(ctx.localPath);

  const tsIndex = mapping.columns.get('ts');
  let reading: TimeReading | null = null;
  if (tsIndex !== undefined) {
    const textColumns = names.map((_, i) => `'c${i}': 'VARCHAR'`).join(', ');
    const sample = await ctx.ws.query(
      `SELECT c${tsIndex} AS v FROM read_csv(${path}, ${dialect}, columns={${textColumns}}, ignore_errors=true, null_padding=true) WHERE c${tsIndex} IS NOT NULL LIMIT ${SAMPLE_ROWS}`,
    );
    const values = sample.map((row) => String(row.v));
    reading = await chooseTimeReading(ctx.ws, values);
    if (!reading && values.length > 0) {
      throw new InputError(`cannot read timestamps like "${values[0].slice(0, 60)}"; supported: epoch seconds or ms, ISO 8601, and common log formats`, { location: { file: ctx.display, line: 2, field: names[tsIndex] } });
    }
  }

  const readerTypes = names.map((_, i) => readerType(table, mapping, i, reading));
  const params: DuckDBValue[] = [];
  const bind = (value: DuckDBValue) => {
    params.push(value);
    return `$${params.length}`;
  };
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
      exprs.push(projection(`c${index}`, type, readerTypes[index], index === tsIndex ? reading : null));
    }
  }
  columns.push('file_id', quoteIdent(EXTRA_COLUMN[table]));
  exprs.push(String(ctx.fileId), mapping.unmapped.length === 0 ? 'NULL' : `json_object(${mapping.unmapped.map((i) => `${bind(names[i])}, c${i}`).join(', ')})`);
  const typeList = readerTypes.map((type, i) => `'c${i}': '${type}'`).join(', ');
  const formatOption = reading?.kind === 'format' ? `, timestampformat=${quoteLiteral(reading.format)}` : '';
  const sql = `INSERT INTO ${quoteIdent(table)} (${columns.join(', ')}) SELECT ${exprs.join(', ')}
    FROM read_csv(${path}, ${dialect}, columns={${typeList}}${formatOption}, ${STORE_REJECTS})`;

  await resetReaderRejects(ctx.ws);
  await unorderedInsert(ctx, `loading ${table}`, sql, params);
  const loaded = Number(await ctx.ws.scalar(`SELECT count(*) FROM ${quoteIdent(table)} WHERE file_id = $1`, [ctx.fileId]));
  const rejects = await readerRejects(ctx.ws, (column) => names[Number(column.slice(1))] ?? column);
  return { target: table, read: loaded + rejects.length, loaded, rejects };
}

function readerType(table: CanonicalTable, mapping: FieldMapping, index: number, reading: TimeReading | null): SqlType | 'TIMESTAMPTZ' {
  const column = [...mapping.columns].find(([, i]) => i === index)?.[0];
  if (column === undefined) return 'VARCHAR';
  const type = CANONICAL_COLUMNS[table].find((c) => c.name === column)?.type ?? 'VARCHAR';
  if (type === 'TIMESTAMP') {
    if (column !== 'ts' || !reading) return 'VARCHAR';
    return reading.kind === 'iso' ? 'TIMESTAMPTZ' : reading.kind === 'epoch' ? 'DOUBLE' : 'TIMESTAMP';
  }
  return type === 'JSON' ? 'VARCHAR' : type;
}

function projection(ref: string, type: SqlType, read: SqlType | 'TIMESTAMPTZ', reading: TimeReading | null): string {
  if (type !== 'TIMESTAMP') return ref;
  if (read === 'TIMESTAMPTZ') return `CAST(${ref} AS TIMESTAMP)`;
  if (read === 'DOUBLE' && reading?.kind === 'epoch') return `make_timestamp(CAST(round(${ref} * ${1_000_000 / reading.scale}) AS BIGINT))`;
  if (read === 'TIMESTAMP') return ref;
  return timestampFromText(ref, { kind: 'iso' });
}
