/**
 * The seed's risk-scored beacon search ("Hunting for Beacons Part 2", update), as one SQL
 * statement over the workspace. Field names are the seed's:
 *   per (src_ip, dest_ip, bytes_out): i_bytecount (connections with that exact size), incount
 *     (distinct bytes_in answering them);
 *   per (src_ip, dest_ip): t_bytecount (all connections), distinct_byte_count, avgcount =
 *     i_bytecount / t_bytecount;
 *   per destination from 1-hour buckets: distinct_url_count, distinct_event_count (all events),
 *     time_count (hours seen), login_count (distinct users);
 *   kept: t_bytecount > 1 and login_count < 3; o_average = mean i_bytecount over kept rows;
 *   above = i_bytecount / o_average; avgurl = distinct_url_count / distinct_event_count;
 *   the five multipliers and addedweight = their sum; one row per dest; addedweight > 250.
 *
 * Physical plan (same rows as the literal translation): login_count < 3 is a per-destination
 * predicate, so it is applied first and only rows to rare destinations are aggregated; each rare
 * destination gets a small integer key, so the big group-bys hash integers instead of host
 * names (half the time and a third of the memory of string keys on 10 M rows); distinct counts
 * are two-level group-bys.
 */
import { Bindings, type SqlValue } from '../../store/sql.ts';
import type { Dialect } from '../../store/dialect.ts';
import { duckdb } from '../../store/dialect-duckdb.ts';
import { ident, join, raw, render, sql, type Sql } from '../../store/sql-template.ts';
import { timeRangeSql } from '../../store/time-range.ts';
import { UsageError } from '../../errors.ts';
import { quoteIdent } from '../../store/schema.ts';
import { multiplierSql } from '../../model/tiers.ts';
import type { ScoredParams } from './params.ts';
import { SCORED_MULTIPLIERS, SCORED_TIER_FEATURES } from '../../model/features.ts';

/** The scored search's columns: the pair, the features (model/features.ts names them once), the multipliers, their sum. */
export const SCORED_COLUMNS = ['dest', 'src_ip', 'dest_ip', ...SCORED_TIER_FEATURES, ...SCORED_MULTIPLIERS, 'addedweight'] as const;

/** The multipliers the scored search adds up, and the features their tiers may test. */
const MULTIPLIER_NAMES: readonly string[] = SCORED_MULTIPLIERS;
const TIERED_FEATURES: readonly string[] = SCORED_TIER_FEATURES;

export interface ScoredSource {
  table: 'http' | 'flows';
  since?: string;
  until?: string;
}

/** Where the stage's rows land in the workspace (the finisher reads them there). */
export const SCORED_STAGE = 'hb_scored_stage';

function checkMultipliers(params: ScoredParams): void {
  for (const m of params.multipliers) {
    if (!MULTIPLIER_NAMES.includes(m.name))
      throw new UsageError(`unknown multiplier "${m.name}" (the scored search has ${MULTIPLIER_NAMES.join(', ')})`);
  }
}

/**
 * The stage: every GROUP BY over the raw rows. Per (src_ip, destination, bytes_out) of a rare
 * destination: i_bytecount and incount, with the destination's own counts beside it
 * (distinct_url_count, distinct_event_count, time_count, login_count). One row per
 * source-destination-size: what a cluster would send back instead of the rows.
 */
export function scoredStage(source: ScoredSource, params: ScoredParams, dialect: Dialect): Sql {
  if (dialect.name !== 'duckdb') return scoredStageClickHouse(source, params, dialect);
  checkMultipliers(params);
  // Flows have no host name or URL: the destination is the address, and urlmult has nothing to test.
  const proxy = source.table === 'http';
  const dest = raw(proxy ? 'dest' : 'CAST(dest_ip AS VARCHAR)');
  const url = raw(proxy ? 'url' : 'NULL::VARCHAR');
  const window = join(
    timeRangeSql(source).map((w) => sql` AND ${w}`),
    '',
  );
  const splunk = params.join === 'splunk';
  const ownName = raw(splunk ? ' WHERE own_name' : '');
  const rare = splunk
    ? sql`QUALIFY row_number() OVER (PARTITION BY dest_ip ORDER BY dest) = 1 AND login_count < ${params.maxUsers}`
    : sql`WHERE login_count < ${params.maxUsers}`;
  return sql`
WITH base AS NOT MATERIALIZED (   -- read twice (names, r): inlined, not held in memory
  SELECT src_ip, dest_ip, ${dest} AS dest, bytes_out, bytes_in, ${url} AS url, "user", ts FROM ${ident(source.table)}
  WHERE dest_ip IS NOT NULL${window}
), names AS (          -- login_count per (dest_ip, dest)
  SELECT dest_ip, dest, count(DISTINCT "user") AS login_count FROM base WHERE dest IS NOT NULL GROUP BY ALL
), rare AS (           -- each surviving destination gets a small integer key for the big group-bys
  SELECT row_number() OVER (ORDER BY dest_ip, dest)::INTEGER AS did, dest_ip, dest, login_count FROM names
  ${rare}
), r AS (              -- ${raw(splunk ? "Splunk's join dest_ip max=1: every row to the address takes its first name" : 'rows to rare (dest_ip, dest) pairs only')}
  SELECT b.src_ip, rare.did, b.bytes_out, b.bytes_in, b.url, b.ts${raw(splunk ? ', b.dest = rare.dest AS own_name' : '')}
  FROM base b JOIN rare USING (${raw(splunk ? 'dest_ip' : 'dest_ip, dest')})
), per_dest AS (       -- the subsearch: per destination name, over all its events
  SELECT did, count(url) AS distinct_url_count, sum(n)::BIGINT AS distinct_event_count, any_value(hours) AS time_count
  FROM (SELECT did, url, count(*) AS n FROM r${ownName} GROUP BY ALL)
  JOIN (SELECT did, count(*) AS hours FROM (SELECT DISTINCT did, date_trunc('hour', ts) FROM r${ownName}) GROUP BY ALL) USING (did)
  GROUP BY did
), sizes AS (          -- per (src_ip, destination, bytes_out, bytes_in), then per bytes_out
  SELECT src_ip, did, bytes_out, bytes_in, count(*) AS n FROM r WHERE src_ip IS NOT NULL AND bytes_out IS NOT NULL GROUP BY ALL
), s AS (
  SELECT src_ip, did, bytes_out, sum(n)::BIGINT AS i_bytecount, count(bytes_in) AS incount FROM sizes GROUP BY ALL
)
SELECT s.*, rare.dest_ip, rare.dest, distinct_url_count, distinct_event_count, time_count, login_count
FROM s JOIN rare USING (did) JOIN per_dest USING (did)`;
}

/** The stage's columns, as it lands in the workspace when it runs elsewhere. */
export const SCORED_STAGE_COLUMNS = [
  ['src_ip', 'VARCHAR'],
  ['dest_ip', 'VARCHAR'],
  ['dest', 'VARCHAR'],
  ['bytes_out', 'BIGINT'],
  ['i_bytecount', 'BIGINT'],
  ['incount', 'BIGINT'],
  ['distinct_url_count', 'BIGINT'],
  ['distinct_event_count', 'BIGINT'],
  ['time_count', 'BIGINT'],
  ['login_count', 'BIGINT'],
] as const;

/**
 * The same stage on ClickHouse, in SQL 18.16 runs: two GROUP BYs over the raw rows (per
 * source-destination-size, and per destination with its users, URLs, events and hours), joined on
 * the destination; no windows, no CTEs. The rare-destination test (login_count) is the second
 * one's HAVING, so only rows of rare destinations come back.
 */
function scoredStageClickHouse(source: ScoredSource, params: ScoredParams, d: Dialect): Sql {
  if (params.join === 'splunk')
    throw new UsageError(`--join splunk has no ${d.name} stage (it reproduces a Splunk quirk; use the workspace)`);
  checkMultipliers(params);
  const table = d.table(source.table);
  const proxy = source.table === 'http';
  const dest = raw(proxy ? 'dest' : 'dest_ip');
  const url = raw(proxy ? 'url' : 'CAST(NULL AS Nullable(String))');
  const window = join(
    timeRangeSql(source, d).map((w) => sql` AND ${w}`),
    '',
  );
  const rows = sql`dest_ip IS NOT NULL AND ${dest} IS NOT NULL${window}`;
  return sql`SELECT s.src_ip AS src_ip, s.k_ip AS dest_ip, s.k_dest AS dest, s.bytes_out AS bytes_out, s.i_bytecount AS i_bytecount, s.incount AS incount,
  p.distinct_url_count AS distinct_url_count, p.distinct_event_count AS distinct_event_count, p.time_count AS time_count, p.login_count AS login_count
FROM (
  SELECT assumeNotNull(dest_ip) AS k_ip, assumeNotNull(${dest}) AS k_dest, src_ip, bytes_out, count() AS i_bytecount, uniqExact(bytes_in) AS incount
  FROM ${table} WHERE ${rows} AND src_ip IS NOT NULL AND bytes_out IS NOT NULL
  GROUP BY k_ip, k_dest, src_ip, bytes_out
) AS s
ALL INNER JOIN (
  SELECT assumeNotNull(dest_ip) AS k_ip, assumeNotNull(${dest}) AS k_dest, uniqExact(${url}) AS distinct_url_count, count() AS distinct_event_count,
         uniqExact(toStartOfHour(ts)) + max(ts IS NULL) AS time_count, uniqExact(${ident('user')}) AS login_count
  FROM ${table} WHERE ${rows}
  GROUP BY k_ip, k_dest HAVING login_count < ${params.maxUsers}
) AS p USING (k_ip, k_dest)`;
}

/**
 * The finisher over the staged rows, in the workspace: per pair t_bytecount and
 * distinct_byte_count, the kept rows, o_average and above over all of them, the multipliers,
 * one row per destination above min_weight.
 */
export function scoredFinishSql(
  source: ScoredSource,
  params: ScoredParams,
  staged: string,
  bindings = new Bindings(),
): { sql: string; params: SqlValue[] } {
  checkMultipliers(params);
  const { values, bind } = bindings;
  const proxy = source.table === 'http';
  const multipliers = params.multipliers.map((m) =>
    m.name === 'urlmult' && !proxy ? '0::DOUBLE AS urlmult' : `${multiplierSql(m, bind, TIERED_FEATURES)} AS ${quoteIdent(m.name)}`,
  );
  const weight = params.multipliers.map((m) => m.name).join(' + ');
  const sql = `
WITH s2 AS (
  SELECT *, sum(i_bytecount) OVER pair ::BIGINT AS t_bytecount, count(*) OVER pair AS distinct_byte_count
  FROM ${staged} WINDOW pair AS (PARTITION BY src_ip, dest_ip, dest)
), kept AS (
  SELECT * FROM s2 WHERE t_bytecount > ${bind(params.minConnections)}
), averaged AS (
  SELECT *, avg(i_bytecount) OVER () AS o_average, i_bytecount / avg(i_bytecount) OVER () AS above,
         distinct_url_count / distinct_event_count AS avgurl, i_bytecount / t_bytecount AS avgcount
  FROM kept
), weighted AS (
  SELECT *, ${multipliers.join(', ')} FROM averaged
)
SELECT ${SCORED_COLUMNS.filter((c) => c !== 'addedweight').join(', ')}, ${weight} AS addedweight
FROM weighted
QUALIFY row_number() OVER (PARTITION BY dest ORDER BY src_ip, dest_ip, bytes_out) = 1 AND ${weight} > ${bind(params.minWeight)}
ORDER BY addedweight DESC, above DESC, dest`;
  return { sql, params: values };
}

/** Stage and finisher as one DuckDB statement (the benches' feature step; the hunt runs them apart). */
export function scoredSql(source: ScoredSource, params: ScoredParams): { sql: string; params: SqlValue[] } {
  const stage = render(scoredStage(source, params, duckdb), duckdb);
  const finish = scoredFinishSql(source, params, 'staged', new Bindings(stage.params));
  return { sql: `WITH staged AS (${stage.text})\n${finish.sql.trimStart().replace(/^WITH /, ', ')}`, params: finish.params };
}
