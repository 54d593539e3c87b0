/**
 * `huntbook hunt risk`: the seed's "It's all in the numbers" and "Insider Threat Hunting" over
 * the detections table, per entity (user or host) and window (default one day):
 *   tweight   sum of detection weights (each rule's sum capped at k × its largest weight, as
 *             Splunk RBA caps a noisy rule)
 *   scount    detections; dscount distinct rules; pcount distinct phases
 *   phasemult (pcount − 1) × phase step when pcount > 1; sourcemult (dscount − 1) × source step
 *   weighted  tweight + scount + phasemult + sourcemult
 *   alert     the seed's logic as a configurable expression over these names
 * plus an ATT&CK-tactic rule (≥ 3 tactics and ≥ 4 rules in 7 days), Elastic's 0–100 entity
 * risk score with its levels, an isolation forest over tweight, pcount, scount, weighted and
 * k-means over tweight, phasemult, scount. Every window's metrics are kept in entity_history.
 */
import { Bindings, timeWindow, type SqlValue } from '../../store/sql.ts';
import { UsageError } from '../../errors.ts';
import { IsolationForest } from '../../ml/iforest.ts';
import { clusterStandardised } from '../../ml/kmeans.ts';
import { fromRecords } from '../../ml/matrix.ts';
import { TACTICS } from '../../model/attack.ts';
import { formatDuration } from '../../model/durations.ts';
import { RISK_METRICS } from '../../model/features.ts';
import { defaultConfig, type Config } from '../../config.ts';
import type { Row, Workspace } from '../../store/workspace.ts';
import { parseExpression } from '../../model/expression.ts';
import { rawJson, recordRun, type ResultRow } from '../run.ts';
import type { HuntOutput } from '../beacons/seed-hunts.ts';

export interface RiskParams {
  by: string;
  windowSeconds: number;
  since?: string;
  until?: string;
  phaseStep: number;
  sourceStep: number;
  /** A rule's weights in one window add up to at most capK × its largest weight. */
  capK: number;
  alert: string;
  tacticRule: { minTactics: number; minRules: number; days: number };
  seed: number;
  clusters: number;
}

/** Risk parameters from the configuration in force (config/huntbook.yml's `risk`), per user and day. */
export function riskParams(config: Config, overrides: Partial<RiskParams> = {}): RiskParams {
  return { by: 'user', windowSeconds: 86400, seed: 1, ...config.risk, ...overrides };
}

/** The shipped configuration's values: the defaults live in config/huntbook.yml only. */
export const DEFAULT_RISK: RiskParams = riskParams(defaultConfig());

export const METRICS = RISK_METRICS;

/** Elastic's entity risk: Σ wᵢ/i^1.5 over weights sorted high to low, normalised by ζ(1.5)·100 to 0–100. */
export function elasticRisk(weights: readonly number[]): number {
  const sorted = [...weights].map((w) => Math.min(100, Math.max(0, w))).sort((a, b) => b - a).slice(0, 10000);
  let sum = 0;
  sorted.forEach((w, i) => (sum += w / Math.pow(i + 1, 1.5)));
  return Math.min(100, (100 * sum) / 261.2);
}

export function riskLevel(score: number): string {
  return score >= 90 ? 'critical' : score >= 70 ? 'high' : score >= 40 ? 'moderate' : score >= 20 ? 'low' : 'unknown';
}

export const RISK_COLUMNS = [
  'rank', 'window_start', 'entity', 'tweight', 'scount', 'dscount', 'pcount', 'phasemult', 'sourcemult', 'weighted', 'alert',
  'tactic_rule', 'risk', 'level', 'iforest_score', 'cluster', 'percentile', 'phases', 'reasons',
] as const;

export async function riskHunt(ws: Workspace, params: RiskParams, top = 20): Promise<HuntOutput> {
  const alert = parseExpression(params.alert, [...METRICS]);
  if (Number(await ws.scalar('SELECT count(*) FROM detections WHERE entity_type = $1', [params.by])) === 0) {
    throw new UsageError(`no detections for entity type "${params.by}": run rules first (huntbook rules run)`);
  }
  const started = performance.now();
  const values: SqlValue[] = [params.by, params.windowSeconds, params.capK, params.phaseStep, params.sourceStep, params.tacticRule.days];
  const filters = ['entity_type = $1'];
  filters.push(...timeWindow((value) => `$${values.push(value)}`, params));
  const tactics = [...new Set(Object.values(TACTICS))].map((t) => `'${t}'`).join(', ');
  const rows = await ws.query(`
WITH d AS (
  SELECT entity, rule_id, rule, phase, weight, ts, time_bucket(to_seconds($2::BIGINT), ts) AS window_start
  FROM detections WHERE ${filters.join(' AND ')}
), per_rule AS (
  SELECT entity, window_start, rule_id, any_value(rule) AS rule, any_value(phase) AS phase, count(*) AS n, sum(weight) AS w, max(weight) AS mx,
         list(weight) AS weights
  FROM d GROUP BY entity, window_start, rule_id
), per_entity AS (
  SELECT entity, window_start, sum(least(w, $3 * mx)) AS tweight, sum(w) AS tweight_uncapped, sum(n)::BIGINT AS scount,
         count(*) AS dscount, count(DISTINCT phase) AS pcount, array_to_string(list_sort(list_distinct(list(phase))), ', ') AS phases,
         -- the ten heaviest rules are the evidence (as JSON text: it is kept, not read here); every weight counts in the risk score
         -- (sorted as structs, heaviest first: 'c' leads the comparison; twice as fast as an ordered aggregate)
         list_slice(list_sort(list({'c': -least(w, $3 * mx), 'rule': rule, 'n': n, 'w': w, 'capped': least(w, $3 * mx)})), 1, 10) AS top_rules,
         -- Elastic's entity risk: Σ wᵢ/i^1.5 over weights (clamped to 0–100) sorted high to low, over ζ(1.5)·100
         round(least(100, 100 * list_sum(list_transform(list_slice(list_reverse_sort(list_transform(flatten(list(weights)), x -> least(100, greatest(0, x)))), 1, 10000),
           (x, i) -> x / pow(i, 1.5))) / 261.2), 1) AS risk
  FROM per_rule GROUP BY entity, window_start
), tactic AS (           -- the ATT&CK rule looks back over days, not just the window
  SELECT e.entity, e.window_start, count(DISTINCT d.phase) FILTER (WHERE d.phase IN (${tactics})) AS tactics_recent,
         count(DISTINCT d.rule_id) AS rules_recent
  FROM per_entity e LEFT JOIN d ON d.entity = e.entity  -- every window is kept, whatever its last days hold
   AND d.ts >= e.window_start + to_seconds($2::BIGINT) - to_days($6::INTEGER) AND d.ts < e.window_start + to_seconds($2::BIGINT)
  GROUP BY e.entity, e.window_start
), scored AS (
  SELECT per_entity.* EXCLUDE (top_rules), CAST(to_json(list_transform(top_rules, x -> {'rule': x.rule, 'n': x.n, 'w': x.w, 'capped': x.capped})) AS VARCHAR) AS rules,
         array_to_string(list_transform(list_slice(top_rules, 1, 4), x -> x.rule || ' ×' || x.n || ' = ' || rtrim(rtrim(printf('%.6f', x.capped), '0'), '.')
           || CASE WHEN x.capped < x.w THEN ' (capped from ' || rtrim(rtrim(printf('%.6f', x.w), '0'), '.') || ')' ELSE '' END), '; ') AS rules_text, coalesce(tactics_recent, 0) AS tactics_recent, coalesce(rules_recent, 0) AS rules_recent,
         CASE WHEN pcount > 1 THEN (pcount - 1) * $4 ELSE 0 END AS phasemult,
         CASE WHEN dscount > 1 THEN (dscount - 1) * $5 ELSE 0 END AS sourcemult
  FROM per_entity JOIN tactic USING (entity, window_start)
)
-- percentile: the share of the window's other entities with a lower weighted score
SELECT *, CASE WHEN count(*) OVER win > 1 THEN (rank() OVER (win ORDER BY tweight + scount + phasemult + sourcemult) - 1) / (count(*) OVER win - 1) ELSE 1 END AS percentile
FROM scored WINDOW win AS (PARTITION BY window_start)
ORDER BY window_start, entity`, values);

  const metrics = rows.map((r) => {
    const m: Record<string, number> = {};
    for (const name of ['tweight', 'scount', 'dscount', 'pcount', 'phasemult', 'sourcemult']) m[name] = Number(r[name]);
    m.weighted = m.tweight + m.scount + m.phasemult + m.sourcemult;
    return m;
  });
  // Built once: the forest is fitted, scored and explained on the same matrix.
  const forestInput = fromRecords(metrics, ['tweight', 'pcount', 'scount', 'weighted']);
  const forest = rows.length >= 2 ? new IsolationForest({ seed: params.seed }).fit(forestInput) : undefined;
  const ifScores = forest ? forest.scoreSamples(forestInput) : new Float64Array(rows.length);
  const clustered = clusterStandardised(fromRecords(metrics, ['tweight', 'phasemult', 'scount']), { k: params.clusters, seed: params.seed });
  const clusters = clustered ? Array.from(clustered.labels) : rows.map(() => 0);
  // Which features isolated a row is worth saying for the rows the forest singles out; for the
  // tens of thousands of ordinary windows it is noise (and 2 s of path walking at 90 k rows).
  const explained = new Set(Array.from(ifScores.keys()).sort((a, b) => ifScores[b] - ifScores[a] || a - b).slice(0, EXPLAINED_ROWS));
  const out = rows.map((r, i) => {
    const m = metrics[i];
    const percentile = Number(r.percentile);
    const risk = Number(r.risk);
    const tacticRule = Number(r.tactics_recent) >= params.tacticRule.minTactics && Number(r.rules_recent) >= params.tacticRule.minRules;
    const fired = alert.evaluate(m);
    const reasons = [
      ...(fired ? [`alert: ${alert.explain(m).join(', ')}`] : []),
      ...(tacticRule ? [`ATT&CK rule: ${r.tactics_recent} tactics and ${r.rules_recent} rules in ${params.tacticRule.days} days`] : []),
      `${m.pcount} phase${m.pcount === 1 ? '' : 's'} (${String(r.phases)})${m.phasemult ? ` +${m.phasemult}` : ''}`,
      `${m.dscount} rule${m.dscount === 1 ? '' : 's'}${m.sourcemult ? ` +${m.sourcemult}` : ''}: ${String(r.rules_text)}`,
      ...(forest ? [`isolation forest ${ifScores[i].toFixed(3)}${explained.has(i) ? `: ${forest.explain(forestInput, i).slice(0, 2).map((a) => `${a.feature} ${Math.round(a.share * 100)}%`).join(', ')}` : ''}`] : []),
    ];
    return {
      window_start: r.window_start, entity: r.entity, ...m, weighted: m.weighted, alert: fired, tactic_rule: tacticRule, risk, level: riskLevel(risk),
      iforest_score: Math.round(ifScores[i] * 1e4) / 1e4, cluster: clusters[i], percentile: Math.round(percentile * 1000) / 1000,
      phases: String(r.phases).replaceAll(', ', ','), reasons, rules: String(r.rules),
    };
  });
  out.sort((a, b) => b.risk - a.risk || b.weighted - a.weighted || String(a.entity).localeCompare(String(b.entity)) || String(a.window_start).localeCompare(String(b.window_start)));
  const results: ResultRow[] = out.map((r, i) => ({
    rank: i + 1, entityType: params.by, entity: String(r.entity), score: r.risk,
    features: Object.fromEntries(HISTORY_FIELDS.map((k) => [k, (r as Record<string, unknown>)[k]])),
    reasons: r.reasons, evidence: { window_start: r.window_start, rules: rawJson(r.rules) },
  }));
  // The run, its rows and the entities' history land together, or not at all.
  const runId = await ws.transaction(async () => {
    const id = await recordRun(ws, { hunt: 'risk', parameters: params, window: { start: params.since, end: params.until }, started, rows: results });
    await keepHistory(ws, id, params);
    return id;
  });
  const printed: Row[] = out.slice(0, top).map((r, i) => {
    const { rules: _rules, reasons, ...rest } = r;
    return { rank: i + 1, ...rest, reasons: reasons.join('; ') } as Row;
  });
  const alerts = out.filter((r) => r.alert).length;
  return {
    columns: [...RISK_COLUMNS], rows: printed, runId,
    notes: [`${out.length} ${params.by}-windows of ${formatDuration(params.windowSeconds)}; ${alerts} meet the alert logic (${params.alert}); run ${runId}`],
  };
}

/** The rows whose forest attribution is written out: the most isolated ones. */
const EXPLAINED_ROWS = 2000;

/** What a result keeps as its features, and what entity_history keeps per window. */
const HISTORY_FIELDS = [...RISK_METRICS, 'alert', 'tactic_rule', 'risk', 'level', 'iforest_score', 'cluster', 'percentile', 'phases'];

/**
 * Every window's metrics per entity, replaced when the same window is scored again: taken from
 * the run's results in SQL (no second pass over the rows in JS).
 */
async function keepHistory(ws: Workspace, runId: number, params: RiskParams): Promise<void> {
  await ws.run(`CREATE OR REPLACE TEMP TABLE hb_history AS
    SELECT entity, CAST(evidence->>'window_start' AS TIMESTAMP) AS window_start, features AS metrics FROM results WHERE run_id = $1`, [runId]);
  // The same entity-window at the same window size is replaced; other sizes are other series.
  await ws.run(`DELETE FROM entity_history h WHERE hunt = 'risk' AND entity_type = $1 AND window_end - window_start = to_seconds($2::BIGINT)
    AND EXISTS (SELECT 1 FROM hb_history n WHERE n.entity = h.entity AND n.window_start = h.window_start)`, [params.by, params.windowSeconds]);
  await ws.run(`INSERT INTO entity_history SELECT 'risk', $1, entity, window_start, window_start + to_seconds($2::BIGINT), metrics, $3 FROM hb_history`, [params.by, params.windowSeconds, runId]);
  await ws.run('DROP TABLE hb_history');
}
