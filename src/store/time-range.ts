/** --since / --until as conditions in `sql` (the value bound, read as TIMESTAMP by the engine). */
import type { Dialect } from './dialect.ts';
import { duckdb } from './dialect-duckdb.ts';
import { raw, sql, type Sql } from './sql-template.ts';

export function timeRangeSql(range: { since?: string; until?: string }, dialect: Dialect = duckdb, column = 'ts'): Sql[] {
  const c = raw(column);
  const filters: Sql[] = [];
  if (range.since) filters.push(sql`${c} >= ${dialect.timestamp(sql`${range.since}`)}`);
  if (range.until) filters.push(sql`${c} < ${dialect.timestamp(sql`${range.until}`)}`);
  return filters;
}
