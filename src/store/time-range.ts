/** --since / --until as conditions in `sql` (the value bound, read as TIMESTAMP by the engine). */
import { raw, sql, type Sql } from './sql-template.ts';

export function timeRangeSql(range: { since?: string; until?: string }, column = 'ts'): Sql[] {
  const c = raw(column);
  const filters: Sql[] = [];
  if (range.since) filters.push(sql`${c} >= CAST(${range.since} AS TIMESTAMP)`);
  if (range.until) filters.push(sql`${c} < CAST(${range.until} AS TIMESTAMP)`);
  return filters;
}
