/**
 * Which rules fire, and how much: per rule, its detections, the entities it named, its share of
 * all detections and of the weight, first and last time; "noisy" when one rule holds a large
 * share (default a quarter) of everything. The risk hunt already caps a rule's weight per window
 * (risk.cap_k); this shows a hunter which rules to tune or drop.
 */
import type { Row, Workspace } from '../store/workspace.ts';

export async function ruleStats(
  ws: Workspace,
  options: { noisyShare?: number; since?: string; until?: string } = {},
): Promise<{ columns: string[]; rows: Row[] }> {
  return ws.queryWithColumns(
    `
WITH d AS (SELECT * FROM detections WHERE ($2::VARCHAR IS NULL OR ts >= CAST($2 AS TIMESTAMP)) AND ($3::VARCHAR IS NULL OR ts < CAST($3 AS TIMESTAMP))),
total AS (SELECT count(*) AS n, sum(weight) AS w FROM d)
SELECT rule_id, any_value(rule) AS rule, any_value(phase) AS phase, count(*) AS detections, count(DISTINCT entity_type || ':' || entity) AS entities,
  round(count(*) / any_value(total.n), 4) AS share, round(sum(weight) / nullif(any_value(total.w), 0), 4) AS weight_share,
  CAST(min(ts) AS VARCHAR) AS first, CAST(max(ts) AS VARCHAR) AS last, count(*) / any_value(total.n) >= $1 AS noisy
FROM d, total GROUP BY rule_id ORDER BY detections DESC, rule_id`,
    [options.noisyShare ?? 0.25, options.since ?? null, options.until ?? null],
  );
}
