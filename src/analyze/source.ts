/**
 * What `outliers` and `cluster` run on: a workspace table, a SQL query, or a file (CSV, JSON,
 * Parquet), as the seed's notebook read a CSV exported from Splunk. The source is materialised
 * once, numbered in order, so features, scores and the printed rows all refer to the same rows.
 */
import { existsSync } from 'node:fs';
import type { Matrix } from '../ml/matrix.ts';
import { HuntbookError, UsageError } from '../errors.ts';
import { quoteIdent, quoteLiteral } from '../store/schema.ts';
import { listValue, type Row, type Workspace } from '../store/workspace.ts';

export const SOURCE_TABLE = 'hb_source';
export const ROW_COLUMN = '__row';

export type SourceKind = 'table' | 'query' | 'file';

export function sourceKind(source: string): SourceKind {
  if (/^\s*(select|with|from|values|\()/i.test(source)) return 'query';
  if (/\.(csv|tsv|json|ndjson|jsonl|parquet)(\.gz)?$/i.test(source) && existsSync(source)) return 'file';
  return 'table';
}

export async function loadSource(ws: Workspace, source: string): Promise<{ kind: SourceKind; columns: string[] }> {
  const kind = sourceKind(source);
  let relation: string;
  if (kind === 'query') {
    // The query goes inside a statement huntbook builds: it must parse as one statement on its own.
    await ws.singleStatement(source, 'SOURCE');
    relation = `(${source})`;
  } else if (kind === 'file') {
    const path = quoteLiteral(source);
    if (/\.parquet$/i.test(source)) relation = `read_parquet(${path})`;
    else if (/\.(json|ndjson|jsonl)(\.gz)?$/i.test(source)) relation = `read_json_auto(${path})`;
    else relation = `read_csv_auto(${path})`;
  } else {
    const exists = await ws.scalar('SELECT count(*) FROM information_schema.tables WHERE table_name = $1', [source]);
    if (Number(exists) === 0) {
      const tables = (await ws.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1")).map(
        (r) => r.table_name,
      );
      throw new UsageError(
        `no table "${source}" in the workspace (tables: ${tables.join(', ')}); a SOURCE is a table, a SELECT query, or a .csv/.json/.parquet file`,
      );
    }
    relation = quoteIdent(source);
  }
  await ws.run(`DROP TABLE IF EXISTS ${SOURCE_TABLE}`);
  try {
    await ws.run(`CREATE TEMP TABLE ${SOURCE_TABLE} AS SELECT row_number() OVER () - 1 AS ${ROW_COLUMN}, * FROM ${relation} AS src`);
  } catch (error) {
    throw new HuntbookError(`cannot read source ${source}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`, {
      cause: error,
    });
  }
  const columns = (
    await ws.query('SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position', [SOURCE_TABLE])
  )
    .map((r) => String(r.column_name))
    .filter((c) => c !== ROW_COLUMN);
  return { kind, columns };
}

export function parseFeatures(text: string | undefined, columns: readonly string[]): string[] {
  const features = (text ?? '')
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  if (features.length === 0)
    throw new UsageError(`--features is required: a comma-separated list of numeric columns (${columns.join(', ')})`);
  for (const feature of features) {
    if (!columns.includes(feature))
      throw new UsageError(`--features: no column "${feature}" in the source; columns are ${columns.join(', ')}`);
  }
  if (new Set(features).size !== features.length) throw new UsageError('--features lists a column twice');
  return features;
}

/** The features of every source row, in row order, as a matrix; NULLs and non-numbers refused by name. */
export async function featureMatrix(ws: Workspace, features: readonly string[]): Promise<Matrix> {
  for (const feature of features) {
    const [check] = await ws.query(
      `SELECT count(*) FILTER (WHERE ${quoteIdent(feature)} IS NULL) AS nulls, min(${ROW_COLUMN}) FILTER (WHERE ${quoteIdent(feature)} IS NULL) AS first_null,
              count(*) FILTER (WHERE ${quoteIdent(feature)} IS NOT NULL AND TRY_CAST(${quoteIdent(feature)} AS DOUBLE) IS NULL) AS text
         FROM ${SOURCE_TABLE}`,
    );
    if (Number(check.text) > 0) throw new UsageError(`feature ${feature} is not numeric (${check.text} values are not numbers)`);
    if (Number(check.nulls) > 0) {
      throw new UsageError(
        `feature ${feature} has ${check.nulls} empty (NULL) values, first at row ${Number(check.first_null) + 1}; filter them (WHERE ${feature} IS NOT NULL) or fill them (coalesce(${feature}, 0)) in a query SOURCE`,
      );
    }
  }
  const rows = Number(await ws.scalar(`SELECT count(*) FROM ${SOURCE_TABLE}`));
  const data = new Float64Array(rows * features.length);
  const select = features.map((f) => `CAST(${quoteIdent(f)} AS DOUBLE)`).join(', ');
  const result = await ws.columns(`SELECT ${select} FROM ${SOURCE_TABLE} ORDER BY ${ROW_COLUMN}`);
  result.forEach((values, j) => {
    for (let i = 0; i < rows; i++) data[i * features.length + j] = values[i];
  });
  return { rows, cols: features.length, data, names: features };
}

/** The chosen source rows (by row number), all columns, in the order given. */
export async function sourceRows(ws: Workspace, rowNumbers: readonly number[]): Promise<{ columns: string[]; rows: Map<number, Row> }> {
  const { columns, rows } = await ws.queryWithColumns(
    `SELECT * FROM ${SOURCE_TABLE} WHERE ${ROW_COLUMN} IN (SELECT unnest($1::BIGINT[]))`,
    [listValue(rowNumbers.map((n) => BigInt(n)))],
  );
  const byRow = new Map<number, Row>();
  for (const row of rows) {
    const { [ROW_COLUMN]: number, ...rest } = row;
    byRow.set(Number(number), rest);
  }
  return { columns: columns.filter((c) => c !== ROW_COLUMN), rows: byRow };
}
