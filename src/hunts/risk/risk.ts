/**
 * `huntbook hunt risk`: the seed's "It's all in the numbers" and "Insider Threat Hunting" over
 * the detections table, per entity (user or host) and window (default one day):
 *   tweight   sum of detection weights (each rule's sum capped at k × its largest weight, as
 *             Splunk RBA caps a noisy rule)
 *   scount    detections; dscount distinct rules; pcount distinct phases
 *   phasemult (pcount − 1) × phase step when pcount > 1; sourcemult (dscount − 1) × source step
 *   weighted  tweight + scount + phasemult + sourcemult (weighted.ts: the baseline's too)
 *   alert     the seed's logic as a configurable expression over these names
 * plus an ATT&CK-tactic rule (≥ 3 tactics and ≥ 4 rules in 7 days), Elastic's 0–100 entity
 * risk score with its levels, an isolation forest over tweight, pcount, scount, weighted and
 * k-means over tweight, phasemult, scount. Every window's metrics are kept in entity_history.
 */
import { timeWindow, type SqlValue } from '../../store/sql.ts';
import { UsageError } from '../../errors.ts';
import { IsolationForest } from '../../ml/iforest.ts';
import { clusterStandardised } from '../../ml/kmeans.ts';
import type { Matrix } from '../../ml/matrix.ts';
import { TACTICS } from '../../model/attack.ts';
import { formatDuration } from '../../model/durations.ts';
import { RISK_METRICS } from '../../model/features.ts';
import { defaultConfig, type Config } from '../../config.ts';
import type { Workspace } from '../../store/workspace.ts';
import { parseExpression } from '../../model/expression.ts';
import { runHunt, type Hunt, type HuntContext, type HuntOutput } from '../contract.ts';
import { choice, integer, requireInteger, requireNumber, text, timeRange, type Flags } from '../../model/flags.ts';
import { parseDuration } from '../../model/durations.ts';
import { weightedAggregates, type WeightedParams } from './weighted.ts';

export interface RiskParams extends WeightedParams {
  by: string;
  windowSeconds: number;
  since?: string;
  until?: string;
  alert: string;
  tacticRule: { minTactics: number; minRules: number; days: number };
  seed: number;
  clusters: number;
}

/** Risk parameters from the configuration in force (config/huntbook.yml's `risk`), per user and day. */
export function riskParams(config: Config, overrides: Partial<RiskParams> = {}): RiskParams {
  return { by: 'user', windowSeconds: 86400, seed: 1, ...config.risk, ...overrides };
}

/** The shipped configuration's values (read when asked, not at import): the defaults live in config/huntbook.yml only. */
export function defaultRisk(): RiskParams {
  return riskParams(defaultConfig());
}

export interface RiskOptions extends RiskParams {
  /** Rows printed (every row is kept). */
  top: number;
}

/** `hunt risk`: the flags over the configuration in force. */
function readRiskFlags(config: Config, flags: Flags): RiskOptions {
  const alert = text(flags, 'alert');
  const phaseStep = text(flags, 'phaseStep');
  const sourceStep = text(flags, 'sourceStep');
  const capK = text(flags, 'capK');
  return {
    ...riskParams(config, {
      by: choice(flags, 'by', '--by', ['user', 'host'], 'user'),
      windowSeconds: parseDuration('--window', text(flags, 'window') ?? '1d'),
      ...timeRange(flags),
      seed: integer(flags, 'seed', '--seed', 1, 0),
      ...(alert !== undefined ? { alert } : {}),
      ...(phaseStep !== undefined ? { phaseStep: requireNumber('--phase-step', phaseStep, 0) } : {}),
      ...(sourceStep !== undefined ? { sourceStep: requireNumber('--source-step', sourceStep, 0) } : {}),
      ...(capK !== undefined ? { capK: requireInteger('--cap-k', capK, 1, 1_000_000) } : {}),
    }),
    top: integer(flags, 'top', '--top', 20, 1),
  };
}

/** One risk run over the workspace (the library's and the tests' entry; the CLI runs RISK itself). */
export async function riskHunt(ws: Workspace, params: RiskParams, top = 20): Promise<HuntOutput> {
  return runHunt(ws, RISK, { ...params, top });
}

export const METRICS = RISK_METRICS;

export const RISK_COLUMNS = [
  'rank',
  'window_start',
  'entity',
  'tweight',
  'scount',
  'dscount',
  'pcount',
  'phasemult',
  'sourcemult',
  'weighted',
  'alert',
  'tactic_rule',
  'risk',
  'level',
  'iforest_score',
  'cluster',
  'percentile',
  'phases',
  'reasons',
] as const;

async function finishRisk({ ws, record }: HuntContext, params: RiskOptions): Promise<HuntOutput> {
  const top = params.top;
  const alert = parseExpression(params.alert, [...METRICS]);
  if (Number(await ws.scalar('SELECT count(*) FROM detections WHERE entity_type = $1', [params.by])) === 0) {
    throw new UsageError(`no detections for entity type "${params.by}": run rules first (huntbook rules run)`);
  }
  const values: SqlValue[] = [params.by, params.windowSeconds, params.capK, params.phaseStep, params.sourceStep, params.tacticRule.days];
  const filters = ['entity_type = $1'];
  filters.push(...timeWindow((value) => `$${values.push(value)}`, params));
  const agg = weightedAggregates({ capK: '$3', phaseStep: '$4', sourceStep: '$5' });
  const tactics = [...new Set(Object.values(TACTICS))].map((t) => `'${t}'`).join(', ');
  // Features in SQL, into a temporary table; only the numbers the models need come to JS, as
  // typed columns, and what the models add goes back to join the features in SQL. Nothing is
  // converted row by row into JS objects: a month of 10 k users is 90 k entity-windows.
  await ws.run(
    `CREATE OR REPLACE TEMP TABLE hb_risk AS 
WITH d AS (
  SELECT entity, rule_id, rule, phase, weight, ts, time_bucket(to_seconds($2::BIGINT), ts) AS window_start
  FROM detections WHERE ${filters.join(' AND ')}
), per_rule AS (
  SELECT entity, window_start, rule_id, any_value(rule) AS rule, any_value(phase) AS phase, count(*) AS n, sum(weight) AS w, max(weight) AS mx,
         list(weight) AS weights
  FROM d GROUP BY entity, window_start, rule_id
), per_entity AS (
  SELECT entity, window_start, ${agg.tweight} AS tweight, sum(w) AS tweight_uncapped, ${agg.scount} AS scount,
         ${agg.dscount} AS dscount, ${agg.pcount} AS pcount, ${agg.phasemult} AS phasemult, ${agg.sourcemult} AS sourcemult, ${agg.weighted} AS weighted, array_to_string(list_sort(list_distinct(list(phase))), ', ') AS phases,
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
  FROM per_entity JOIN tactic USING (entity, window_start)
)
-- percentile: the share of the window's other entities with a lower weighted score
SELECT *,
       CASE WHEN count(*) OVER win > 1 THEN (rank() OVER (win ORDER BY weighted) - 1) / (count(*) OVER win - 1) ELSE 1 END AS percentile,
       -- windows with the same metrics get the same models' verdicts: v numbers the distinct vectors
       (dense_rank() OVER (ORDER BY tweight, scount, dscount, pcount, phasemult, sourcemult) - 1)::INTEGER AS v
FROM scored WINDOW win AS (PARTITION BY window_start)`,
    values,
  );
  // Every window's metrics come to JS as typed columns (the models fit on all of them); what the
  // models and the alert logic say depends only on the metrics, so it is worked out once per
  // distinct vector (90 k windows of a month hold ~3 k) and joined back in SQL.
  const [v, tweight, scount, dscount, pcount, phasemult, sourcemult, weighted] = await ws.columns(
    'SELECT v, tweight, scount, dscount, pcount, phasemult, sourcemult, weighted FROM hb_risk',
  );
  const n = tweight?.length ?? 0;
  const firstRow = new Int32Array(n === 0 ? 0 : Number(v.reduce((a, b) => Math.max(a, b), 0)) + 1).fill(-1);
  const multiplicity = new Float64Array(firstRow.length);
  for (let r = 0; r < n; r++) {
    if (firstRow[v[r]] < 0) firstRow[v[r]] = r;
    multiplicity[v[r]]++;
  }
  const column = (rows: ArrayLike<number>, ...cols: Float64Array[]): Matrix => {
    const data = new Float64Array(rows.length * cols.length);
    for (let r = 0; r < rows.length; r++) for (let c = 0; c < cols.length; c++) data[r * cols.length + c] = cols[c][rows[r]];
    return { rows: rows.length, cols: cols.length, data, names: [] };
  };
  const allRows = Int32Array.from({ length: n }, (_, r) => r);
  const forestNames = ['tweight', 'pcount', 'scount', 'weighted'];
  const forest =
    n >= 2
      ? new IsolationForest({ seed: params.seed }).fit({ ...column(allRows, tweight, pcount, scount, weighted), names: forestNames })
      : undefined;
  const distinct = { ...column(firstRow, tweight, pcount, scount, weighted), names: forestNames };
  const ifScores = forest ? forest.scoreSamples(distinct) : new Float64Array(distinct.rows);
  const clustered = clusterStandardised(
    { ...column(firstRow, tweight, phasemult, scount), names: ['tweight', 'phasemult', 'scount'] },
    { k: params.clusters, seed: params.seed, weights: multiplicity },
  );
  const scores: (string | number | null)[][] = [];
  const m: Record<string, number> = {};
  for (let d = 0; d < firstRow.length; d++) {
    const i = firstRow[d];
    Object.assign(m, {
      tweight: tweight[i],
      scount: scount[i],
      dscount: dscount[i],
      pcount: pcount[i],
      phasemult: phasemult[i],
      sourcemult: sourcemult[i],
      weighted: weighted[i],
    });
    const fired = alert.evaluate(m);
    const attribution = forest
      ? forest
          .explain(distinct, d)
          .slice(0, 2)
          .map((a) => `${a.feature} ${Math.round(a.share * 100)}%`)
          .join(', ')
      : '';
    scores.push([
      d,
      Math.round(ifScores[d] * 1e4) / 1e4,
      clustered ? clustered.labels[d] : 0,
      fired ? 'true' : 'false',
      fired ? `alert: ${alert.explain(m).join(', ')}` : null,
      forest ? `isolation forest ${ifScores[d].toFixed(3)}${attribution ? `: ${attribution}` : ''}` : null,
    ]);
  }
  let alerts = 0;
  for (let r = 0; r < n; r++) if (scores[v[r]][3] === 'true') alerts++;
  await ws.run(
    'CREATE OR REPLACE TEMP TABLE hb_risk_scores (v INTEGER, iforest_score DOUBLE, cluster INTEGER, alert BOOLEAN, alert_text VARCHAR, forest_text VARCHAR)',
  );
  await ws.append('hb_risk_scores', scores);
  const num = (x: string) => `rtrim(rtrim(printf('%.6f', CAST(${x} AS DOUBLE)), '0'), '.')`;
  // Every row with its level, rank and reasons, in SQL; the same texts the CLI prints.
  await ws.run(
    `CREATE OR REPLACE TEMP TABLE hb_risk_rows AS
    SELECT row_number() OVER (ORDER BY risk DESC, weighted DESC, entity, window_start) AS rank, CAST(window_start AS VARCHAR) AS window_start, entity,
           tweight, scount, dscount, pcount, phasemult, sourcemult, weighted, s.alert, tactics_recent >= $2 AND rules_recent >= $3 AS tactic_rule, risk,
           CASE WHEN risk >= 90 THEN 'critical' WHEN risk >= 70 THEN 'high' WHEN risk >= 40 THEN 'moderate' WHEN risk >= 20 THEN 'low' ELSE 'unknown' END AS level,
           s.iforest_score, s.cluster, round(percentile, 3) AS percentile, replace(phases, ', ', ',') AS phases, rules,
           list_filter([s.alert_text,
             CASE WHEN tactics_recent >= $2 AND rules_recent >= $3 THEN 'ATT&CK rule: ' || tactics_recent || ' tactics and ' || rules_recent || ' rules in ' || $1 || ' days' END,
             pcount || ' phase' || CASE WHEN pcount = 1 THEN '' ELSE 's' END || ' (' || phases || ')' || CASE WHEN phasemult <> 0 THEN ' +' || ${num('phasemult')} ELSE '' END,
             dscount || ' rule' || CASE WHEN dscount = 1 THEN '' ELSE 's' END || CASE WHEN sourcemult <> 0 THEN ' +' || ${num('sourcemult')} ELSE '' END || ': ' || rules_text,
             s.forest_text], x -> x IS NOT NULL) AS reasons
    FROM hb_risk JOIN hb_risk_scores s USING (v)`,
    [params.tacticRule.days, params.tacticRule.minTactics, params.tacticRule.minRules],
  );
  const total = Number(await ws.scalar('SELECT count(*) FROM hb_risk_rows'));
  // What a result keeps: the risk score, the metrics as features, the window and its heaviest rules as evidence.
  const ranked = `SELECT rank, entity, risk AS score,
      json_object(${HISTORY_FIELDS.map((f) => `'${f}', ${f}`).join(', ')}) AS features, reasons, json_object('window_start', window_start, 'rules', CAST(rules AS JSON)) AS evidence
    FROM hb_risk_rows`;
  // The run, its rows and the entities' history land together, or not at all.
  const { top: _top, ...parameters } = params;
  const runId = await record({
    parameters,
    window: { start: params.since, end: params.until },
    results: { query: ranked, entityType: params.by, count: total },
    keep: (id) => keepHistory(ws, id, params),
  });
  const printed = await ws.query(
    `SELECT ${RISK_COLUMNS.filter((c) => c !== 'reasons').join(', ')}, array_to_string(reasons, '; ') AS reasons
    FROM hb_risk_rows ORDER BY rank LIMIT $1`,
    [top],
  );
  for (const table of ['hb_risk', 'hb_risk_scores', 'hb_risk_rows']) await ws.run(`DROP TABLE IF EXISTS ${table}`);
  return {
    columns: [...RISK_COLUMNS],
    rows: printed,
    runId,
    notes: [
      `${total} ${params.by}-windows of ${formatDuration(params.windowSeconds)}; ${alerts} meet the alert logic (${params.alert}); run ${runId}`,
    ],
  };
}

/** What a result keeps as its features, and what entity_history keeps per window. */
const HISTORY_FIELDS = [...RISK_METRICS, 'alert', 'tactic_rule', 'risk', 'level', 'iforest_score', 'cluster', 'percentile', 'phases'];

/**
 * Every window's metrics per entity, replaced when the same window is scored again: taken from
 * the run's results in SQL (no second pass over the rows in JS).
 */
async function keepHistory(ws: Workspace, runId: number, params: RiskParams): Promise<void> {
  await ws.run(
    `CREATE OR REPLACE TEMP TABLE hb_history AS
    SELECT entity, CAST(evidence->>'window_start' AS TIMESTAMP) AS window_start, features AS metrics FROM results WHERE run_id = $1`,
    [runId],
  );
  // The same entity-window at the same window size is replaced; other sizes are other series.
  await ws.run(
    `DELETE FROM entity_history h WHERE hunt = 'risk' AND entity_type = $1 AND window_end - window_start = to_seconds($2::BIGINT)
    AND EXISTS (SELECT 1 FROM hb_history n WHERE n.entity = h.entity AND n.window_start = h.window_start)`,
    [params.by, params.windowSeconds],
  );
  await ws.run(
    `INSERT INTO entity_history SELECT 'risk', $1, entity, window_start, window_start + to_seconds($2::BIGINT), metrics, $3 FROM hb_history`,
    [params.by, params.windowSeconds, runId],
  );
  await ws.run('DROP TABLE hb_history');
}

/**
 * Risk reads detections (what rules derived, kept in the workspace): no stage over raw logs.
 * Its ranked rows are made in SQL and kept from there, with each entity's history.
 */
export const RISK: Hunt<RiskOptions> = {
  name: 'risk',
  columns: RISK_COLUMNS,
  params: readRiskFlags,
  stage: () => [],
  readsLogs: false,
  finish: (context, p) => finishRisk(context, p),
  thread: (row) => String(row.entity),
};
