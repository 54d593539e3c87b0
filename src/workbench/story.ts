/**
 * An entity's story, as the workbench's entity page and the case report tell it: who (from the
 * directory: name, role, department, team, manager; the host it logs on to most), the phases in
 * the order they began, red flags with their dates, detections by rule (one row per rule, not one
 * per file copy), the baseline's days of interest, the beacons from its addresses (a user's: the
 * addresses their proxy rows come from; a host named by its address: that address), the social
 * profiles that reached it, and the decisions taken on it.
 */
import type { Row, Workspace } from '../store/workspace.ts';

export interface Story {
  who: Row | null;
  phases: Row[];
  redFlags: Row[];
  rules: Row[];
  firstSeen: string | null;
  lastSeen: string | null;
  triage: Row[];
  /** The latest baseline run's days for this user: day, rank, score, the strongest reason. */
  daysOfInterest: Row[];
  /** Pairs from its addresses in the latest beacon hunts' first 100 rows, best rank first. */
  beacons: Row[];
  /** Profiles that reached this user, per profile, with the social hunt's rank when it has one. */
  interactions: Row[];
}

/** How many of a beacon hunt's rows count as ranked for a story (a hunt keeps up to 1000). */
const BEACON_RANKS = 100;

export async function entityStory(ws: Workspace, type: string, entity: string): Promise<Story> {
  const args = [type, entity];
  const [who] =
    type === 'user'
      ? await ws.query(
          `
    SELECT any_value(name) AS name, max_by(role, coalesce(valid_from, TIMESTAMP '1970-01-01')) AS role,
      max_by(department, coalesce(valid_from, TIMESTAMP '1970-01-01')) AS department, max_by(team, coalesce(valid_from, TIMESTAMP '1970-01-01')) AS team,
      max_by(supervisor, coalesce(valid_from, TIMESTAMP '1970-01-01')) AS manager, CAST(max(valid_to) AS VARCHAR) AS left_on,
      (SELECT mode(host) FROM activity WHERE lower("user") = $1 AND host IS NOT NULL) AS host
    FROM directory WHERE lower("user") = $1`,
          [entity],
        )
      : [];
  const phases = await ws.query(
    `SELECT coalesce(phase, 'none') AS phase, CAST(min(ts) AS VARCHAR) AS began, CAST(max(ts) AS VARCHAR) AS ended, count(*) AS detections
    FROM detections WHERE entity_type = $1 AND entity = $2 AND coalesce(phase, '') <> 'red_flag' GROUP BY 1 ORDER BY min(ts)`,
    args,
  );
  const redFlags = await ws.query(
    `SELECT CAST(ts AS VARCHAR) AS ts, rule FROM detections WHERE entity_type = $1 AND entity = $2 AND phase = 'red_flag' ORDER BY ts`,
    args,
  );
  const rules = await ws.query(
    `SELECT rule_id, rule, any_value(phase) AS phase, max(weight) AS weight, count(*) AS count, CAST(min(ts) AS VARCHAR) AS first, CAST(max(ts) AS VARCHAR) AS last
    FROM detections WHERE entity_type = $1 AND entity = $2 GROUP BY rule_id, rule ORDER BY min(ts), rule`,
    args,
  );
  const [seen] = await ws.query(
    'SELECT CAST(min(ts) AS VARCHAR) AS first, CAST(max(ts) AS VARCHAR) AS last FROM detections WHERE entity_type = $1 AND entity = $2',
    args,
  );
  const triage = await ws.query(
    `SELECT hunt, decision, note, who, CAST(decided_at AS VARCHAR) AS decided_at, CAST(undone_at AS VARCHAR) AS undone_at FROM triage
    WHERE (hunt = 'thread' AND thread = $1 || ':' || $2) OR (hunt <> 'thread' AND thread = $2) ORDER BY triage_id`,
    args,
  );
  const daysOfInterest =
    type === 'user'
      ? await ws.query(
          `
    WITH latest AS (SELECT max(run_id) AS run_id FROM hunt_runs WHERE hunt = 'baseline')
    SELECT CAST(features->>'day' AS VARCHAR) AS day, rank, round(score, 1) AS score, CAST(reasons->>0 AS VARCHAR) AS why
    FROM results JOIN latest USING (run_id) WHERE entity_type = 'user' AND entity = $1 ORDER BY day`,
          [entity],
        )
      : [];
  const sources =
    type === 'user' ? 'SELECT DISTINCT src_ip AS src FROM http WHERE lower("user") = $1 AND src_ip IS NOT NULL' : 'SELECT $1 AS src';
  const beacons =
    type === 'user' || type === 'host'
      ? await ws.query(
          `
    WITH src AS (${sources}), latest AS (SELECT max(run_id) AS run_id FROM hunt_runs WHERE hunt LIKE 'beacons.%' GROUP BY hunt)
    SELECT hunt, rank, entity AS pair, round(score, 3) AS score, CAST(reasons->>0 AS VARCHAR) AS why
    FROM results JOIN latest USING (run_id) WHERE rank <= ${BEACON_RANKS} AND split_part(entity, '→', 1) IN (SELECT src FROM src)
    ORDER BY rank, hunt LIMIT 20`,
          [entity],
        )
      : [];
  const interactions =
    type === 'user'
      ? await ws.query(
          `
    WITH social AS (SELECT r.entity, r.rank FROM results r WHERE r.run_id = (SELECT max(run_id) FROM hunt_runs WHERE hunt = 'social'))
    SELECT i.profile_id, any_value(i.profile_name) AS profile, string_agg(DISTINCT i.kind, ', ') AS kinds, count(*) AS interactions,
      CAST(min(i.ts) AS VARCHAR) AS first, CAST(max(i.ts) AS VARCHAR) AS last, min(social.rank) AS social_rank
    FROM interactions i LEFT JOIN social ON social.entity = i.profile_id WHERE lower(i."user") = $1
    GROUP BY i.profile_id ORDER BY min(social.rank) NULLS LAST, min(i.ts) LIMIT 50`,
          [entity],
        )
      : [];
  return {
    who: who && Object.values(who).some((v) => v !== null) ? who : null,
    phases,
    redFlags,
    rules,
    firstSeen: (seen?.first as string | null) ?? null,
    lastSeen: (seen?.last as string | null) ?? null,
    triage,
    daysOfInterest,
    beacons,
    interactions,
  };
}
