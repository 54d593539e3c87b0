/**
 * What differs between the engines a hunt's stage can run on, and nothing else. A stage writes
 * its statement once with `sql` and asks the dialect for the parts engines spell differently
 * (epoch seconds, conditional counts, arg-max, ordered lists, regex, time buckets, JSON fields,
 * address classes). DuckDB (the workspace) implements it in dialect-duckdb.ts; ClickHouse is the
 * second implementation, for stages pushed down to a cluster.
 */
import type { Renderer, Sql } from './sql-template.ts';

/** The aggregates a filtered aggregate may be (Dialect.aggregateIf). */
export type FilteredAggregate = 'count_distinct' | 'sum' | 'max' | 'min';

export interface Dialect extends Renderer {
  readonly name: 'duckdb' | 'clickhouse';
  /** A canonical log table where this engine keeps it (ClickHouse: in the configured database). */
  table(name: string): Sql;
  /** A time written as text ('2024-03-04 09:00:00'), as the engine's timestamp (UTC). */
  timestamp(text: Sql): Sql;
  /** Whole seconds since 1970 of a timestamp (floored), as a 64-bit integer. */
  epochSeconds(ts: Sql): Sql;
  /** count(*) of the rows where `condition` holds, within a GROUP BY. */
  countIf(condition: Sql): Sql;
  /**
   * An aggregate over the group's rows where `condition` holds: count_distinct, sum, max or min of
   * `value`. NULL or 0 where no row holds (engines differ; callers coalesce to 0).
   */
  aggregateIf(fn: FilteredAggregate, value: Sql, condition: Sql): Sql;
  /** The calendar day (UTC) of a timestamp. */
  day(ts: Sql): Sql;
  /** The value of `value` on the row with the largest (smallest) `by` in the group. */
  argMax(value: Sql, by: Sql): Sql;
  argMin(value: Sql, by: Sql): Sql;
  /** The group's values as a list, ordered by `orderBy` when given. */
  listAgg(value: Sql, orderBy?: Sql): Sql;
  /** True when the list holds the value. */
  listContains(list: Sql, value: Sql): Sql;
  /** True when the string matches the regular expression (RE2 syntax on both engines). */
  regexMatch(value: Sql, pattern: Sql): Sql;
  /** The start of the `seconds`-long bucket holding `ts` (buckets aligned on 1970-01-01). */
  timeBucket(seconds: number, ts: Sql): Sql;
  /** A boolean constant (18.16 has none: 1 and 0). */
  bool(value: boolean): Sql;
  /** CAST (or TRY_CAST: NULL when it cannot) to one of the expression language's types (expr/check.ts TYPES). */
  cast(value: Sql, type: string, tryCast: boolean): Sql;
  /** [NOT] LIKE / ILIKE with a pattern given as text, its escape character (SQL's ESCAPE clause) or none. */
  like(value: Sql, pattern: string, options: { caseInsensitive: boolean; negated: boolean; escape?: string }): Sql;
  /** A call of one of the expression language's functions (expr/check.ts FUNCTIONS), in this engine's words. */
  call(fn: string, args: Sql[]): Sql;
  /** A top-level field of a JSON text column, as a string (NULL when absent). */
  jsonField(json: Sql, key: string): Sql;
  /**
   * A query giving (ip, internal, special) for every address `addresses` yields (one column, ip):
   * internal when it falls in one of `internal` (CIDRs), special for loopback, link-local,
   * multicast, broadcast and unspecified addresses; valid false (and both others false) for text
   * that is no address.
   */
  classifyAddresses(addresses: Sql, internal: readonly string[]): Sql;
}
