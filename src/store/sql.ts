/**
 * Building SQL with values bound, never spliced: the value type the store takes, a parameter list
 * that hands out `$n` placeholders, and the --since/--until filter every hunt applies.
 * The driver's types stay behind this module and workspace.ts.
 */
import type { DuckDBValue } from '@duckdb/node-api';

/** A value bound to a statement parameter. */
export type SqlValue = DuckDBValue;

/** Collects bound values; `bind(v)` returns the placeholder to write into the SQL text. */
export class Bindings {
  readonly values: SqlValue[];

  constructor(initial: readonly SqlValue[] = []) {
    this.values = [...initial];
  }

  readonly bind = (value: SqlValue): string => `$${this.values.push(value)}`;
}

/**
 * `ts >= $n AND ts < $m` for a --since/--until pair (either may be absent), read as TIMESTAMP by
 * DuckDB; returns the conditions to AND with the rest, none when neither is given.
 */
export function timeWindow(bind: (value: SqlValue) => string, window: { since?: string; until?: string }, column = 'ts'): string[] {
  const filters: string[] = [];
  if (window.since) filters.push(`${column} >= CAST(${bind(window.since)} AS TIMESTAMP)`);
  if (window.until) filters.push(`${column} < CAST(${bind(window.until)} AS TIMESTAMP)`);
  return filters;
}
