/**
 * hunt baseline's daily feature matrix, in SQL (the one place its SQL lives): one row per user
 * and day over the workspace's days, one column per feature of the configuration, per rule of
 * the chosen packs (named by rule id), `weighted` (the day's weighted score, as the risk hunt's) and `day_count`
 * (every row of the user's that day in activity, events and http). A day without activity is a
 * row of zeros, not a missing row: an empty day is part of the routine.
 */
import { renderExpr } from '../../expr/render.ts';
import { checkRuleSql } from '../../rules/sqlcheck.ts';
import { PEER_KEYS, type BaselineFeature } from '../../config.ts';
import { SERVICE_ACCOUNTS, USER_DOMAIN, USER_REALM } from '../../model/entities.ts';
import type { Dialect } from '../../store/dialect.ts';
import { type LogStore, landStages, type Stage, stageDialect, WORKSPACE_LOGS } from '../../store/logs.ts';
import { Bindings, timeWindow } from '../../store/sql.ts';
import { fromNumbered, ident, join, raw, type Sql, sql } from '../../store/sql-template.ts';
import { quoteIdent } from '../../store/schema.ts';
import { timeRangeSql } from '../../store/time-range.ts';
import { listValue, type Workspace } from '../../store/workspace.ts';
import { weightedAggregates, type WeightedParams } from '../risk/weighted.ts';

export const MATRIX_TABLE = 'hb_baseline';

/** Built-in first-time columns (see buildMatrix). */
export const FIRST_TIME_COLUMNS = ['new_domains', 'new_hosts', 'new_domains_in_peers'] as const;

/** Tables whose rows make a user's day_count: what a person does, not what the network does. */
const ACTIVITY_TABLES = ['activity', 'events', 'http'] as const;

export interface MatrixSpec {
  features: readonly BaselineFeature[];
  /** Rule ids: one column each, the count of that rule's detections for the user that day. */
  ruleIds: readonly string[];
  /** The directory column that makes peer groups (for new_domains_in_peers). */
  peerKey: (typeof PEER_KEYS)[number];
  /** How the day's `weighted` column is made (the risk hunt's parameters). */
  weighted: WeightedParams;
  since?: string;
  until?: string;
}

export interface MatrixShape {
  /** Column names after user and day, in order. */
  columns: string[];
  users: number;
  days: number;
  first: string | null;
  last: string | null;
}

/**
 * Builds the matrix into the temporary table hb_baseline ("user", day, then the columns), ordered
 * by user and day, and the peer groups into PEER_TABLE, with the stages run where the logs are (the
 * other intermediate tables dropped).
 */
export async function buildMatrix(ws: Workspace, spec: MatrixSpec, logs: LogStore = WORKSPACE_LOGS): Promise<MatrixShape> {
  const stages = matrixStages(spec, await stageDialect(ws, logs));
  try {
    await landStages(ws, stages, logs);
  } finally {
    for (const stage of stages) {
      if (stage.table !== MATRIX_TABLE && stage.table !== PEER_TABLE) await ws.run(`DROP TABLE IF EXISTS ${quoteIdent(stage.table)}`);
    }
  }
  return matrixShape(ws);
}

/** Each user's peer group (u, g: the directory's latest value of the peer key), as the stages landed it: the finisher reads it there, since the directory may live in ClickHouse. */
export const PEER_TABLE = 'hb_bl_peer';

/** Drops what buildMatrix left. */
export async function dropMatrix(ws: Workspace): Promise<void> {
  for (const table of [MATRIX_TABLE, PEER_TABLE]) await ws.run(`DROP TABLE IF EXISTS ${table}`);
}

/** The user of a row, as the workspace's NORMALISE_USER makes it, in any dialect. */
function userOf(d: Dialect): Sql {
  const text = (value: string) => sql`${value}`;
  const call = (fn: string, ...args: Sql[]) => d.call(fn, args);
  const strip = (value: Sql, pattern: string) => call('regexp_replace', value, text(pattern), text(''));
  const bare = strip(strip(call('lower', call('trim', raw('"user"'))), USER_DOMAIN), USER_REALM);
  return call('nullif', bare, text(''));
}
/** A feature's aggregate (checked in config.ts: one of a short list) over the rows its condition holds for. */
function featureAggregate(f: BaselineFeature, d: Dialect): Sql {
  const condition = d.call('coalesce', [renderExpr(checkRuleSql(f.where, f.table), d), d.bool(false)]);
  const value = f.value.trim();
  if (/^count\(\*\)$/i.test(value)) return d.countIf(condition);
  const distinct = /^count\(DISTINCT ([a-z_]+)\)$/i.exec(value);
  if (distinct) return d.aggregateIf('count_distinct', sql`${ident(distinct[1])}`, condition);
  const hour = /^(max|min)\(hour\(ts\)\)$/i.exec(value);
  if (hour) return d.aggregateIf(hour[1].toLowerCase() as 'max' | 'min', d.call('hour', [raw('ts')]), condition);
  const plain = /^(sum|max|min)\(([a-z_]+)\)$/i.exec(value);
  if (plain) return d.aggregateIf(plain[1].toLowerCase() as 'sum' | 'max' | 'min', sql`${ident(plain[2])}`, condition);
  throw new Error(`feature ${f.name}: value "${f.value}" is not one a feature may take`);
}

/** The tables a matrix's stages land, by their part. */
const STAGED = {
  table: (name: string) => `hb_bl_t_${name}`,
  firsts: 'hb_bl_firsts',
  peer: PEER_TABLE,
  detections: 'hb_bl_detections',
} as const;

/**
 * The matrix as stages (hunt baseline's stage; buildMatrix runs them in the workspace). Where the
 * logs are (written once for any dialect, plain GROUP BYs a ClickHouse cluster runs): per table,
 * one row per user-day with every feature of that table a filtered aggregate and the row count;
 * each user's first day on every site and logon host; each user's peer group. In the workspace:
 * the detections' per-rule counts and weighted score per user-day (detections live there), the
 * first times as counts per user-day (peer firsts by window), and the matrix itself: every user
 * and every day of the span, a day without activity a row of zeros.
 */
export function matrixStages(spec: MatrixSpec, d: Dialect): Stage[] {
  if (!PEER_KEYS.includes(spec.peerKey)) throw new Error(`unknown peer key ${spec.peerKey}`);
  const user = userOf(d);
  const day = d.day(raw('ts'));
  const window = join([sql`ts IS NOT NULL`, ...timeRangeSql(spec, d)], ' AND ');
  // One scan per table; the day_count tables are scanned whether or not a feature reads them.
  const tables = [...new Set<string>([...ACTIVITY_TABLES, ...spec.features.map((f) => f.table)])];
  const stages: Stage[] = tables.map((table) => {
    const features = spec.features.filter((f) => f.table === table);
    const aggregates = features.map((f) => sql`${d.cast(featureAggregate(f, d), 'DOUBLE', false)} AS ${ident(f.name)}`);
    return {
      table: STAGED.table(table),
      sql: sql`SELECT ${user} AS u, ${day} AS day, ${join([...aggregates, sql`count(*) AS n`])}
        FROM ${d.table(table)} WHERE ${window} GROUP BY u, day`,
      columns: [['u', 'VARCHAR'], ['day', 'VARCHAR'], ...features.map((f) => [f.name, 'DOUBLE'] as const), ['n', 'BIGINT']],
    };
  });
  // First times: each user's first day on each site (http dest) and machine (logon host).
  const firstOf = (kind: string, value: Sql, table: string, where: Sql) =>
    sql`SELECT u, v, ${kind} AS kind, min(day) AS day FROM (SELECT ${user} AS u, ${value} AS v, ${day} AS day FROM ${d.table(table)} WHERE ${where} AND ${window}) GROUP BY u, v`;
  stages.push({
    table: STAGED.firsts,
    sql: sql`${firstOf('domain', d.call('lower', [raw('dest')]), 'http', sql`dest IS NOT NULL`)}
      UNION ALL ${firstOf('host', d.call('lower', [raw('host')]), 'activity', sql`kind = ${'logon'} AND host IS NOT NULL`)}`,
    columns: [
      ['u', 'VARCHAR'],
      ['v', 'VARCHAR'],
      ['kind', 'VARCHAR'],
      ['day', 'VARCHAR'],
    ],
  });
  const peerKey = ident(spec.peerKey);
  stages.push({
    table: STAGED.peer,
    sql: sql`SELECT ${user} AS u, ${d.argMax(sql`${peerKey}`, d.call('coalesce', [raw('valid_from'), d.timestamp(sql`${'1970-01-01 00:00:00'}`)]))} AS g
      FROM ${d.table('directory')} WHERE ${peerKey} IS NOT NULL GROUP BY u`,
    columns: [
      ['u', 'VARCHAR'],
      ['g', 'VARCHAR'],
    ],
  });
  const detections = detectionsStage(spec);
  if (d.name !== 'duckdb') return [...stages, detections, matrixStage(spec, tables, [])];
  // In the workspace the stages are the matrix's CTEs, one statement DuckDB plans as a whole
  // (bench:baseline, 1000 users × 90 days: 0.58 s, against 0.72 s as separate tables); the
  // peer groups still land as their table, which the finisher reads.
  const inline = [...stages.filter((stage) => stage.table !== PEER_TABLE), detections].map(
    (stage) => sql`${ident(stage.table)} AS (${stage.sql})`,
  );
  return [...stages.filter((stage) => stage.table === PEER_TABLE), matrixStage(spec, tables, inline)];
}

/** Per user-day: each chosen rule's detections and the day's weighted score, from the workspace's detections. */
function detectionsStage(spec: MatrixSpec): Stage {
  const { values, bind } = new Bindings();
  const window = ['ts IS NOT NULL', ...timeWindow(bind, spec)].join(' AND ');
  const rules = spec.ruleIds.map((id, i) => `coalesce(sum(n) FILTER (WHERE rule_id = ${bind(id)}), 0) AS r${i}`);
  // The day's weighted score as the risk hunt defines it (weighted.ts), so "weighted 176 vs
  // usual 0–31" is the number the entity's timeline plots for that day.
  const agg = weightedAggregates({
    capK: bind(spec.weighted.capK),
    phaseStep: bind(spec.weighted.phaseStep),
    sourceStep: bind(spec.weighted.sourceStep),
  });
  const text = `WITH per_rule AS (SELECT entity AS u, CAST(ts AS DATE) AS day, rule_id, any_value(phase) AS phase, count(*) AS n, sum(weight) AS w, max(weight) AS mx
    FROM detections WHERE entity_type = 'user' AND ${window} GROUP BY ALL)
    SELECT u, day, ${[...rules, `${agg.weighted} AS weighted`].join(', ')} FROM per_rule GROUP BY ALL`;
  return { table: STAGED.detections, sql: fromNumbered(text, values), local: true };
}

/** The matrix from what the other stages landed (or from `inline`, the stages as CTEs): every user, every day of the span. */
function matrixStage(spec: MatrixSpec, tables: readonly string[], inline: readonly Sql[]): Stage {
  const { values, bind } = new Bindings();
  const alias = (table: string) => `t_${table}`;
  const landed = (table: string) => `${alias(table)} AS (SELECT * REPLACE (CAST(day AS DATE) AS day) FROM ${STAGED.table(table)})`;
  const ctes = tables.map(landed);
  ctes.push(`t_detections AS (SELECT * FROM ${STAGED.detections})`);
  // First times as counts per user-day, and sites nobody in the user's peer group had reached
  // before. They are features like the others, so a user who reaches new sites every day is not
  // flagged for one.
  ctes.push(`firsts AS (SELECT u, v, kind, CAST(day AS DATE) AS day FROM ${STAGED.firsts}),
    peer_firsts AS (SELECT f.u, f.day, min(f.day) OVER (PARTITION BY p.g, f.v) AS group_first FROM firsts f JOIN ${STAGED.peer} p USING (u) WHERE f.kind = 'domain'),
    t_firsts AS (SELECT u, day, count(*) FILTER (WHERE kind = 'domain') AS new_domains, count(*) FILTER (WHERE kind = 'host') AS new_hosts,
      0 AS new_domains_in_peers FROM firsts GROUP BY ALL
      UNION ALL SELECT u, day, 0, 0, count(*) FROM peer_firsts WHERE day = group_first GROUP BY ALL),
    t_first AS (SELECT u, day, sum(new_domains) AS new_domains, sum(new_hosts) AS new_hosts, sum(new_domains_in_peers) AS new_domains_in_peers FROM t_firsts GROUP BY ALL)`);
  const services = bind(listValue(SERVICE_ACCOUNTS));
  ctes.push(
    `users AS (SELECT DISTINCT u FROM (${ACTIVITY_TABLES.map((t) => `SELECT u FROM ${alias(t)}`).join(' UNION ALL ')}) WHERE u IS NOT NULL AND NOT list_contains(${services}::VARCHAR[], u))`,
  );
  // Days: the span of the users' own rows (a leaver's detection dated after the data is not a day of it).
  ctes.push(
    `span AS (SELECT min(day) AS lo, max(day) AS hi FROM (${ACTIVITY_TABLES.map((t) => `SELECT day FROM ${alias(t)}`).join(' UNION ALL ')}))`,
  );
  ctes.push(
    'days AS (SELECT CAST(d AS DATE) AS day FROM span, generate_series(CAST(lo AS TIMESTAMP), CAST(hi AS TIMESTAMP), INTERVAL 1 DAY) t(d))',
  );
  const select = [
    ...spec.features.map((f) => `coalesce(${alias(f.table)}.${quoteIdent(f.name)}, 0) AS ${quoteIdent(f.name)}`),
    ...FIRST_TIME_COLUMNS.map((c) => `CAST(coalesce(t_first.${c}, 0) AS DOUBLE) AS ${c}`),
    ...spec.ruleIds.map((id, i) => `CAST(coalesce(t_detections.r${i}, 0) AS DOUBLE) AS ${quoteIdent(id)}`),
    'CAST(coalesce(t_detections.weighted, 0) AS DOUBLE) AS weighted',
    `CAST(${ACTIVITY_TABLES.map((t) => `coalesce(${alias(t)}.n, 0)`).join(' + ')} AS DOUBLE) AS day_count`,
  ];
  const joins = [...tables, 'detections', 'first'].map(
    (t) => `LEFT JOIN ${alias(t)} ON ${alias(t)}.u = users.u AND ${alias(t)}.day = days.day`,
  );
  const text = `${ctes.join(',\n')}
    SELECT users.u AS "user", days.day, ${select.join(', ')}
    FROM users CROSS JOIN days ${joins.join(' ')}
    ORDER BY "user", days.day`;
  return { table: MATRIX_TABLE, sql: sql`WITH ${join([...inline, fromNumbered(text, values)], ',\n')}`, local: true };
}

/** The matrix in the workspace, described: its feature columns (after user and day, in order), users and days. */
export async function matrixShape(ws: Workspace): Promise<MatrixShape> {
  const columns = (await ws.query(`SELECT column_name FROM (DESCRIBE ${MATRIX_TABLE})`)).map((r) => String(r.column_name)).slice(2);
  const [shape] = await ws.query(
    `SELECT count(DISTINCT "user") AS users, count(DISTINCT day) AS days, CAST(min(day) AS VARCHAR) AS first, CAST(max(day) AS VARCHAR) AS last FROM ${MATRIX_TABLE}`,
  );
  return {
    columns,
    users: Number(shape.users),
    days: Number(shape.days),
    first: (shape.first as string | null) ?? null,
    last: (shape.last as string | null) ?? null,
  };
}
