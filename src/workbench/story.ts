/**
 * An entity's story, as the workbench's entity page and the case report tell it: who (from the
 * directory: name, role, department, team, manager; the host it logs on to most), the phases in
 * the order they began, red flags with their dates, detections by rule (one row per rule, not one
 * per file copy), and the decisions taken on it.
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
}

export async function entityStory(ws: Workspace, type: string, entity: string): Promise<Story> {
  const args = [type, entity];
  const [who] = type === 'user' ? await ws.query(`
    SELECT any_value(name) AS name, max_by(role, coalesce(valid_from, TIMESTAMP '1970-01-01')) AS role,
      max_by(department, coalesce(valid_from, TIMESTAMP '1970-01-01')) AS department, max_by(team, coalesce(valid_from, TIMESTAMP '1970-01-01')) AS team,
      max_by(supervisor, coalesce(valid_from, TIMESTAMP '1970-01-01')) AS manager, CAST(max(valid_to) AS VARCHAR) AS left_on,
      (SELECT mode(host) FROM activity WHERE lower("user") = $1 AND host IS NOT NULL) AS host
    FROM directory WHERE lower("user") = $1`, [entity]) : [];
  const phases = await ws.query(`SELECT coalesce(phase, 'none') AS phase, CAST(min(ts) AS VARCHAR) AS began, CAST(max(ts) AS VARCHAR) AS ended, count(*) AS detections
    FROM detections WHERE entity_type = $1 AND entity = $2 AND coalesce(phase, '') <> 'red_flag' GROUP BY 1 ORDER BY min(ts)`, args);
  const redFlags = await ws.query(`SELECT CAST(ts AS VARCHAR) AS ts, rule FROM detections WHERE entity_type = $1 AND entity = $2 AND phase = 'red_flag' ORDER BY ts`, args);
  const rules = await ws.query(`SELECT rule_id, rule, any_value(phase) AS phase, max(weight) AS weight, count(*) AS count, CAST(min(ts) AS VARCHAR) AS first, CAST(max(ts) AS VARCHAR) AS last
    FROM detections WHERE entity_type = $1 AND entity = $2 GROUP BY rule_id, rule ORDER BY min(ts), rule`, args);
  const [seen] = await ws.query('SELECT CAST(min(ts) AS VARCHAR) AS first, CAST(max(ts) AS VARCHAR) AS last FROM detections WHERE entity_type = $1 AND entity = $2', args);
  const triage = await ws.query(`SELECT hunt, decision, note, who, CAST(decided_at AS VARCHAR) AS decided_at, CAST(undone_at AS VARCHAR) AS undone_at FROM triage
    WHERE (hunt = 'thread' AND thread = $1 || ':' || $2) OR (hunt <> 'thread' AND thread = $2) ORDER BY triage_id`, args);
  return {
    who: who && Object.values(who).some((v) => v !== null) ? who : null, phases, redFlags, rules,
    firstSeen: (seen?.first as string | null) ?? null, lastSeen: (seen?.last as string | null) ?? null, triage,
  };
}
