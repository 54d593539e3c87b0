/**
 * The interaction graph, as the seed keeps it in Neo4j: employees (with their job title) and
 * profiles are nodes; INTERACTED edges (requests, accepts, views: counts, first and last time) and
 * KNOWS edges (messages: the escalation). It is a view over interactions, directory and labels in
 * the workspace, not a second store; graph export writes it for Neo4j.
 */
import { NORMALISE_USER } from '../../model/entities.ts';
import type { Row, Workspace } from '../../store/workspace.ts';
import { interactionsSql } from './social.ts';

/** One row per employee–profile pair and edge type. */
const EDGES = `
WITH i AS (${interactionsSql('true')})
SELECT u AS employee, any_value(title) AS title, any_value(department) AS department, profile_id, any_value(profile_name) AS profile_name,
  any_value(headline) AS headline, CASE WHEN kind = 'message' THEN 'KNOWS' ELSE 'INTERACTED' END AS edge,
  list(DISTINCT kind ORDER BY kind) AS kinds, count(*) AS count, CAST(min(ts) AS VARCHAR) AS first, CAST(max(ts) AS VARCHAR) AS last, min(ts) AS first_ts, max(ts) AS last_ts
FROM i GROUP BY u, profile_id, edge`;

const LABELLED = `SELECT lower(target) AS profile_id, string_agg(label, ', ' ORDER BY label) AS label FROM labels WHERE target_kind = 'profile' AND removed_at IS NULL GROUP BY 1`;

/**
 * A profile's neighbourhood (the seed's match (r)-[KNOWS]-(p) where (r)-[KNOWS]-(p {name: ...})):
 * the employees it reached, and, one step further, the other profiles those employees deal with.
 */
export async function neighbourhood(
  ws: Workspace,
  profile: string,
  options: { messagesOnly?: boolean } = {},
): Promise<{ columns: string[]; rows: Row[] }> {
  return ws.queryWithColumns(
    `
WITH e AS (${EDGES}), l AS (${LABELLED}),
reached AS (SELECT DISTINCT employee FROM e WHERE (profile_id = lower($1) OR lower(profile_name) = lower($1)) AND ($2 = false OR edge = 'KNOWS'))
SELECT e.employee, e.title, e.department, e.edge, e.profile_id, e.profile_name, e.headline, l.label, array_to_string(e.kinds, ',') AS kinds, e.count, e.first, e.last,
  CASE WHEN e.profile_id = lower($1) OR lower(e.profile_name) = lower($1) THEN 'the profile' ELSE 'another profile of these employees' END AS hop
FROM e JOIN reached USING (employee) LEFT JOIN l USING (profile_id)
WHERE $2 = false OR e.edge = 'KNOWS'
ORDER BY hop DESC, e.employee, e.edge, e.profile_id`,
    [profile, Boolean(options.messagesOnly)],
  );
}

/** Every edge with a labelled profile over the last `days` of the data (the seed's 7-day picture). */
export async function labelledSubgraph(ws: Workspace, days: number, profile?: string): Promise<{ columns: string[]; rows: Row[] }> {
  return ws.queryWithColumns(
    `
WITH e AS (${EDGES}), l AS (${LABELLED}), span AS (SELECT max(ts) AS last FROM interactions)
SELECT l.label, e.profile_id, e.profile_name, e.edge, e.employee, e.title, e.department, array_to_string(e.kinds, ',') AS kinds, e.count, e.first, e.last
FROM e JOIN l USING (profile_id), span WHERE e.last_ts >= span.last - to_days(CAST($1 AS INTEGER)) AND ($2::VARCHAR IS NULL OR e.profile_id = lower($2))
ORDER BY e.profile_id, e.edge DESC, e.employee`,
    [days, profile ?? null],
  );
}

/**
 * Employees who dealt with a labelled profile, with their detections over the last `days` before
 * their latest such interaction (the seed: "retrieving users based off of interactions with
 * watched accounts and bring all of the detections each identified user has had in the past x days").
 */
export async function exposure(ws: Workspace, days: number): Promise<{ columns: string[]; rows: Row[] }> {
  return ws.queryWithColumns(
    `
WITH e AS (${EDGES}), l AS (${LABELLED}),
exposed AS (SELECT employee, any_value(title) AS title, list(DISTINCT e.profile_id || ' (' || l.label || ')') AS profiles, max(last_ts) AS last_contact,
  bool_or(edge = 'KNOWS') AS messaged FROM e JOIN l USING (profile_id) GROUP BY employee)
SELECT x.employee, x.title, array_to_string(x.profiles, ', ') AS labelled_profiles, x.messaged, CAST(x.last_contact AS VARCHAR) AS last_contact,
  count(d.rule_id) AS detections, coalesce(sum(d.weight), 0) AS weight, string_agg(DISTINCT d.rule, '; ') AS rules
FROM exposed x LEFT JOIN detections d ON d.entity_type = 'user' AND d.entity = ${NORMALISE_USER('x.employee')}
  AND d.ts >= x.last_contact - to_days(CAST($1 AS INTEGER)) AND d.ts <= x.last_contact + to_days(CAST($1 AS INTEGER))
GROUP BY ALL ORDER BY weight DESC, x.employee`,
    [days],
  );
}

/** Nodes and edges of the whole graph, for export. */
export async function graphData(ws: Workspace): Promise<{ employees: Row[]; profiles: Row[]; edges: Row[] }> {
  const edges = await ws.query(
    `WITH e AS (${EDGES}) SELECT employee, profile_id, edge, kinds, count, first, last FROM e ORDER BY employee, profile_id, edge`,
  );
  const employees = await ws.query(
    `WITH e AS (${EDGES}) SELECT employee, any_value(title) AS title, any_value(department) AS department FROM e GROUP BY employee ORDER BY employee`,
  );
  const profiles =
    await ws.query(`WITH e AS (${EDGES}), l AS (${LABELLED}) SELECT e.profile_id, any_value(e.profile_name) AS name, any_value(e.headline) AS headline,
      any_value(l.label) AS label FROM e LEFT JOIN l USING (profile_id) GROUP BY e.profile_id ORDER BY e.profile_id`);
  return { employees, profiles, edges };
}
