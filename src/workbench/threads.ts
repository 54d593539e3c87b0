/**
 * What the workbench shows first: the latest run of each hunt and its top threads (ranked rows
 * with their reasons), from the run contract's two tables alone (hunt_runs, results), with the
 * triage in force: discarded threads are set apart, not shown among the top.
 */
import { RED_FLAG_PHASE } from '../rules/directory-flags.ts';
import type { Row, Workspace } from '../store/workspace.ts';
import { RESULT_DECISION, THREAD_KEY, TRIAGE_IN_FORCE } from './triage.ts';

export interface Thread {
  hunt: string;
  runId: number;
  rank: number;
  entityType: string;
  entity: string;
  score: number | null;
  reasons: string[];
  features: Record<string, unknown>;
  evidence: Record<string, unknown> | null;
  decision: string | null;
  note: string | null;
}

export async function latestRuns(ws: Workspace): Promise<Row[]> {
  return ws.query(`SELECT run_id, hunt, CAST(started_at AS VARCHAR) AS started_at, round(seconds, 2) AS seconds, result_count,
      CAST(window_start AS VARCHAR) AS window_start, CAST(window_end AS VARCHAR) AS window_end, CAST(parameters AS VARCHAR) AS parameters
    FROM hunt_runs WHERE run_id IN (SELECT max(run_id) FROM hunt_runs WHERE hunt <> 'rules' GROUP BY hunt) ORDER BY hunt`);
}

/** The top `perHunt` threads of each hunt's latest run (discarded ones apart, in `discarded`). */
export async function topThreads(ws: Workspace, perHunt = 5): Promise<{ threads: Thread[]; discarded: Thread[] }> {
  const rows = await ws.query(
    `
WITH latest AS (SELECT max(run_id) AS run_id FROM hunt_runs WHERE hunt <> 'rules' GROUP BY hunt),
t AS (${TRIAGE_IN_FORCE}),
d AS (SELECT r.*, ${RESULT_DECISION('t', THREAD_KEY('r'), 'r.hunt', 'r.entity')} AS dn FROM results r JOIN latest USING (run_id)),
r AS (SELECT d.*, dn.decision AS decision, dn.note AS note, row_number() OVER (PARTITION BY d.run_id, coalesce(dn.decision = 'discard', false) ORDER BY d.rank) AS n FROM d)
SELECT hunt, run_id, rank, entity_type, entity, score, CAST(reasons AS VARCHAR) AS reasons, CAST(features AS VARCHAR) AS features,
  CAST(evidence AS VARCHAR) AS evidence, decision, note FROM r WHERE n <= $1 ORDER BY hunt, rank`,
    [perHunt],
  );
  const threads = rows.map(
    (r): Thread => ({
      hunt: String(r.hunt),
      runId: Number(r.run_id),
      rank: Number(r.rank),
      entityType: String(r.entity_type),
      entity: String(r.entity),
      score: r.score === null ? null : Number(r.score),
      reasons: JSON.parse(String(r.reasons)) as string[],
      features: JSON.parse(String(r.features)) as Record<string, unknown>,
      evidence: r.evidence === null ? null : (JSON.parse(String(r.evidence)) as Record<string, unknown>),
      decision: r.decision === null ? null : String(r.decision),
      note: r.note === null ? null : String(r.note),
    }),
  );
  return { threads: threads.filter((t) => t.decision !== 'discard'), discarded: threads.filter((t) => t.decision === 'discard') };
}

/** An entity's detections per day and phase. */
export async function detectionsPerDay(ws: Workspace, entity: string, entityType = 'user'): Promise<Row[]> {
  return ws.query(
    `SELECT CAST(CAST(ts AS DATE) AS VARCHAR) AS day, coalesce(phase, 'none') AS phase, count(*) AS n FROM detections
    WHERE entity_type = $2 AND entity = $1 GROUP BY ALL ORDER BY day, phase`,
    [entity, entityType],
  );
}

/** An entity's daily risk (weighted) against the population's median and 90th percentile per day. */
export async function entityTimeline(ws: Workspace, entity: string, entityType = 'user'): Promise<Row[]> {
  // Every day from the first to the last day anyone has a window: a day with no detections of the
  // entity is a day of weight 0, not a gap for the line to jump across; red flags are marked.
  return ws.query(
    `
WITH h AS (SELECT entity, CAST(window_start AS DATE) AS day, CAST(metrics->>'weighted' AS DOUBLE) AS weighted, metrics->>'alert' = 'true' AS alert FROM entity_history
           WHERE hunt = 'risk' AND entity_type = $2 AND window_end - window_start = INTERVAL 1 DAY),
days AS (SELECT CAST(unnest(range(min(day), max(day) + INTERVAL 1 DAY, INTERVAL 1 DAY)) AS DATE) AS day FROM h),
flags AS (SELECT CAST(ts AS DATE) AS day, string_agg(DISTINCT rule, '; ') AS flag FROM detections WHERE entity_type = $2 AND entity = $1 AND phase = '${RED_FLAG_PHASE}' GROUP BY 1),
per_day AS (SELECT day, quantile_cont(weighted, 0.5) AS median, quantile_cont(weighted, 0.9) AS p90,
  max(weighted) FILTER (WHERE entity = $1) AS entity, coalesce(bool_or(alert) FILTER (WHERE entity = $1), false) AS alert FROM h GROUP BY day)
SELECT CAST(d.day AS VARCHAR) AS day, coalesce(p.median, 0) AS median, coalesce(p.p90, 0) AS p90,
  CASE WHEN (SELECT count(*) FROM h WHERE entity = $1) > 0 THEN coalesce(p.entity, 0) END AS entity, coalesce(p.alert, false) AS alert, f.flag AS red_flag
FROM days d LEFT JOIN per_day p USING (day) LEFT JOIN flags f USING (day) ORDER BY d.day`,
    [entity, entityType],
  );
}
