/**
 * hunt baseline's daily feature matrix, in SQL (the one place its SQL lives): one row per user
 * and day over the workspace's days, one column per feature of the configuration, per rule of
 * the chosen packs (named by rule id), `weighted` (the day's weighted score, as the risk hunt's) and `day_count`
 * (every row of the user's that day in activity, events and http). A day without activity is a
 * row of zeros, not a missing row: an empty day is part of the routine.
 */
import { renderBound } from '../../expr/bound.ts';
import { checkRuleSql } from '../../rules/sqlcheck.ts';
import { PEER_KEYS, type BaselineFeature } from '../../config.ts';
import { NORMALISE_USER, SERVICE_ACCOUNTS } from '../../model/entities.ts';
import { Bindings, type SqlValue, timeWindow } from '../../store/sql.ts';
import { quoteIdent } from '../../store/schema.ts';
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
 * by user and day.
 */
export async function buildMatrix(ws: Workspace, spec: MatrixSpec): Promise<MatrixShape> {
  const statement = matrixStatement(spec);
  await ws.run(`CREATE OR REPLACE TEMP TABLE ${MATRIX_TABLE} AS ${statement.text}`, statement.values);
  return matrixShape(ws);
}

/** The matrix's statement (its bound text and values): hunt baseline's stage, or buildMatrix's. */
export function matrixStatement(spec: MatrixSpec): { text: string; values: SqlValue[] } {
  const { values, bind } = new Bindings();
  const user = NORMALISE_USER('"user"');
  const window = ['ts IS NOT NULL', ...timeWindow(bind, spec)].join(' AND ');
  // One scan per table, every feature of that table a filtered aggregate (as one would write it
  // by hand); the day_count tables are scanned whether or not a feature reads them.
  const tables = [...new Set<string>([...ACTIVITY_TABLES, ...spec.features.map((f) => f.table)])];
  const alias = (table: string) => `t_${table}`;
  const ctes = tables.map((table) => {
    const aggregates = spec.features
      .filter((f) => f.table === table)
      // The feature's where and value were checked against its table's columns (config.ts).
      .map(
        (f) =>
          `CAST(${f.value} FILTER (WHERE coalesce(${renderBound(checkRuleSql(f.where, f.table), bind)}, false)) AS DOUBLE) AS ${quoteIdent(f.name)}`,
      );
    return `${alias(table)} AS (SELECT ${user} AS u, CAST(ts AS DATE) AS day, ${[...aggregates, 'count(*) AS n'].join(', ')}
      FROM ${quoteIdent(table)} WHERE ${window} GROUP BY ALL)`;
  });
  const rules = spec.ruleIds.map((id, i) => `coalesce(sum(n) FILTER (WHERE rule_id = ${bind(id)}), 0) AS r${i}`);
  // The day's weighted score as the risk hunt defines it (weighted.ts), so "weighted 176 vs
  // usual 0–31" is the number the entity's timeline plots for that day.
  const agg = weightedAggregates({
    capK: bind(spec.weighted.capK),
    phaseStep: bind(spec.weighted.phaseStep),
    sourceStep: bind(spec.weighted.sourceStep),
  });
  ctes.push(`per_rule AS (SELECT entity AS u, CAST(ts AS DATE) AS day, rule_id, any_value(phase) AS phase, count(*) AS n, sum(weight) AS w, max(weight) AS mx
    FROM detections WHERE entity_type = 'user' AND ${window} GROUP BY ALL)`);
  ctes.push(`t_detections AS (SELECT u, day, ${[...rules, `${agg.weighted} AS weighted`].join(', ')} FROM per_rule GROUP BY ALL)`);
  // First times, as counts per user-day: sites (http dest) and machines (logon hosts) the user
  // had not reached before, and sites nobody in their peer group had reached before. They are
  // features like the others, so a user who reaches new sites every day is not flagged for one.
  if (!PEER_KEYS.includes(spec.peerKey)) throw new Error(`unknown peer key ${spec.peerKey}`);
  ctes.push(`firsts AS (
      SELECT u, v, 'domain' AS kind, min(day) AS day FROM (SELECT ${user} AS u, lower(dest) AS v, CAST(ts AS DATE) AS day FROM http WHERE dest IS NOT NULL AND ${window}) GROUP BY ALL
      UNION ALL
      SELECT u, v, 'host', min(day) FROM (SELECT ${user} AS u, lower(host) AS v, CAST(ts AS DATE) AS day FROM activity WHERE kind = 'logon' AND host IS NOT NULL AND ${window}) GROUP BY ALL),
    peer AS (SELECT ${user} AS u, max_by(${quoteIdent(spec.peerKey)}, coalesce(valid_from, TIMESTAMP '1970-01-01')) AS g FROM directory WHERE ${quoteIdent(spec.peerKey)} IS NOT NULL GROUP BY 1),
    peer_firsts AS (SELECT f.u, f.day, min(f.day) OVER (PARTITION BY p.g, f.v) AS group_first FROM firsts f JOIN peer p USING (u) WHERE f.kind = 'domain'),
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
  return {
    text: `WITH ${ctes.join(',\n')}
    SELECT users.u AS "user", days.day, ${select.join(', ')}
    FROM users CROSS JOIN days ${joins.join(' ')}
    ORDER BY "user", days.day`,
    values,
  };
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
