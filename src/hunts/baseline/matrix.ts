/**
 * hunt baseline's daily feature matrix, in SQL (the one place its SQL lives): one row per user
 * and day over the workspace's days, one column per feature of the configuration, per rule of
 * the chosen packs (named by rule id), `weighted` (the day's detection weights) and `day_count`
 * (every row of the user's that day in activity, events and http). A day without activity is a
 * row of zeros, not a missing row: an empty day is part of the routine.
 */
import type { BaselineFeature } from '../../config.ts';
import { NORMALISE_USER, SERVICE_ACCOUNTS } from '../../model/entities.ts';
import { Bindings, timeWindow } from '../../store/sql.ts';
import { quoteIdent } from '../../store/schema.ts';
import { listValue, type Workspace } from '../../store/workspace.ts';

export const MATRIX_TABLE = 'hb_baseline';

/** Tables whose rows make a user's day_count: what a person does, not what the network does. */
const ACTIVITY_TABLES = ['activity', 'events', 'http'] as const;

export interface MatrixSpec {
  features: readonly BaselineFeature[];
  /** Rule ids: one column each, the count of that rule's detections for the user that day. */
  ruleIds: readonly string[];
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
  const { values, bind } = new Bindings();
  const window = (extra: string[] = []) => ['ts IS NOT NULL', ...extra, ...timeWindow(bind, spec)].join(' AND ');
  const user = NORMALISE_USER('"user"');
  const parts: string[] = [];
  for (const f of spec.features) {
    // The feature's where and value were checked against its table's columns (config.ts).
    parts.push(`SELECT ${user} AS u, CAST(ts AS DATE) AS day, ${bind(f.name)} AS f, CAST(${f.value} AS DOUBLE) AS v
      FROM ${quoteIdent(f.table)} WHERE ${window([`coalesce((${f.where}), false)`])} GROUP BY ALL`);
  }
  if (spec.ruleIds.length > 0) {
    parts.push(`SELECT entity, CAST(ts AS DATE), rule_id, count(*) FROM detections
      WHERE entity_type = 'user' AND list_contains(${bind(listValue([...spec.ruleIds]))}::VARCHAR[], rule_id) AND ${window()} GROUP BY ALL`);
  }
  parts.push(`SELECT entity, CAST(ts AS DATE), 'weighted', sum(weight) FROM detections WHERE entity_type = 'user' AND ${window()} GROUP BY ALL`);
  parts.push(`SELECT u, day, 'day_count', count(*) FROM (${ACTIVITY_TABLES.map((t) => `SELECT ${user} AS u, CAST(ts AS DATE) AS day FROM ${quoteIdent(t)} WHERE ${window()}`).join(' UNION ALL ')}) GROUP BY ALL`);
  await ws.run(`CREATE OR REPLACE TEMP TABLE hb_baseline_long AS
    SELECT * FROM (${parts.join('\n UNION ALL ')}) WHERE u IS NOT NULL AND NOT list_contains(${bind(listValue(SERVICE_ACCOUNTS))}::VARCHAR[], u)`, values);

  const columns = [...spec.features.map((f) => f.name), ...spec.ruleIds, 'weighted', 'day_count'];
  // Days: the span of the users' own rows (a leaver's detection dated after the data is not a day of it).
  const span = await ws.query("SELECT CAST(min(day) AS VARCHAR) AS first, CAST(max(day) AS VARCHAR) AS last FROM hb_baseline_long WHERE f = 'day_count'");
  const first = (span[0]?.first as string | null) ?? null;
  const last = (span[0]?.last as string | null) ?? null;
  const grid = new Bindings();
  const range = `generate_series(CAST(${grid.bind(first ?? '1970-01-01')} AS DATE), CAST(${grid.bind(last ?? '1969-12-31')} AS DATE), INTERVAL 1 DAY)`;
  const pivot = columns.map((c) => `coalesce(sum(l.v) FILTER (WHERE l.f = ${grid.bind(c)}), 0) AS ${quoteIdent(c)}`);
  await ws.run(`CREATE OR REPLACE TEMP TABLE ${MATRIX_TABLE} AS
    WITH users AS (SELECT DISTINCT u FROM hb_baseline_long WHERE f = 'day_count'),
    days AS (SELECT CAST(d AS DATE) AS day FROM ${range} t(d))
    SELECT users.u AS "user", days.day, ${pivot.join(', ')}
    FROM users CROSS JOIN days LEFT JOIN hb_baseline_long l ON l.u = users.u AND l.day = days.day
    GROUP BY ALL ORDER BY "user", day`, grid.values);
  await ws.run('DROP TABLE hb_baseline_long');
  const users = Number(await ws.scalar(`SELECT count(DISTINCT "user") FROM ${MATRIX_TABLE}`));
  const days = first === null ? 0 : Number(await ws.scalar(`SELECT count(DISTINCT day) FROM ${MATRIX_TABLE}`));
  return { columns, users, days, first, last };
}
