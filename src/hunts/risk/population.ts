/**
 * `huntbook hunt population`, the seed's "More Behavioral Hunting and Insider Data Theft": per
 * user, the set of phases and the set of rules (sources) they were seen in; how many users share
 * exactly that phase set (user_count) and rule set (user_source_count); md5 of each set (as the
 * seed hashed Splunk's nomv values, newline-joined, sorted); the multipliers, as tiers from
 * config/huntbook.yml (the seed's values):
 *   user_count_mult         user_count = 1 → 200, < 5 → 150, < 10 → 50, else 0
 *   dc_phase_count_mult     dc_phase_count ≥ 2 → 100, else 0
 *   dc_detection_count_mult dc_detection_count > 2 → 100, = 2 → 50, = 1 → 0
 * addedweight = their sum; then k-means over the output with a risk score per cluster (the mean
 * addedweight of its users) and the outlier cluster named.
 */
import { UsageError } from '../../errors.ts';
import { clusterStandardised } from '../../ml/kmeans.ts';
import type { Workspace } from '../../store/workspace.ts';
import { runHunt, type Hunt, type HuntContext, type HuntOutput } from '../contract.ts';
import { integer, requireInteger, text, timeRange, type Flags } from '../../model/flags.ts';
import type { Config } from '../../config.ts';
import { Bindings, timeWindow } from '../../store/sql.ts';
import { defaultConfig } from '../../config.ts';
import { POPULATION_TIER_FEATURES } from '../../model/features.ts';
import { multiplierSql, type Multiplier } from '../../model/tiers.ts';
import { quoteIdent } from '../../store/schema.ts';

export const POPULATION_COLUMNS = [
  'rank',
  'user',
  'userhash',
  'phase_hash',
  'source_hash',
  'phase_id',
  'source_id',
  'user_count',
  'user_source_count',
  'detection_count',
  'dc_phase_count',
  'dc_detection_count',
  'user_count_mult',
  'dc_phase_count_mult',
  'dc_detection_count_mult',
  'addedweight',
  'cluster',
  'cluster_risk',
  'outlier_cluster',
  'reasons',
] as const;

const FEATURES = ['user_count', 'user_source_count', 'detection_count', 'dc_phase_count', 'dc_detection_count', 'addedweight'];

export interface PopulationOptions {
  since?: string;
  until?: string;
  k: number | 'auto';
  seed: number;
  top?: number;
  /** The three multipliers (default: config/huntbook.yml's `population`). */
  multipliers?: Multiplier[];
}

async function finishPopulation({ ws, record }: HuntContext, options: PopulationOptions): Promise<HuntOutput> {
  const multipliers = options.multipliers ?? defaultConfig().population.multipliers;
  const { values, bind } = new Bindings();
  const filters = ["entity_type = 'user'"];
  filters.push(...timeWindow(bind, options));
  if (Number(await ws.scalar("SELECT count(*) FROM detections WHERE entity_type = 'user'")) === 0) {
    throw new UsageError('no user detections: run rules first (huntbook rules run)');
  }
  const tiers = multipliers.map((m) => `${multiplierSql(m, bind, POPULATION_TIER_FEATURES)} AS ${quoteIdent(m.name)}`);
  const added = multipliers.length > 0 ? multipliers.map((m) => quoteIdent(m.name)).join(' + ') : '0';
  // Features in SQL, into a temporary table; only the numbers k-means needs come to JS (typed
  // columns, users in name order as the clustering's seed expects), its labels go back to SQL,
  // and reasons, ranks and the kept rows are made there: 100 k users are never 100 k JS objects.
  await ws.run(
    `CREATE OR REPLACE TEMP TABLE hb_population AS
WITH u AS (
  SELECT entity AS "user", list(DISTINCT phase ORDER BY phase) AS phases, count(phase) AS detection_count,
         count(DISTINCT phase) AS dc_phase_count, list(DISTINCT rule_id ORDER BY rule_id) AS sources, count(DISTINCT rule_id) AS dc_detection_count
  FROM detections WHERE ${filters.join(' AND ')} GROUP BY entity
), h AS (
  SELECT *, array_to_string(phases, chr(10)) AS phase_id, array_to_string(sources, chr(10)) AS source_id FROM u
), c AS (
  SELECT *, count(*) OVER (PARTITION BY phase_id) AS user_count, count(*) OVER (PARTITION BY source_id) AS user_source_count FROM h
), t AS (
  SELECT "user", md5("user") AS userhash, md5(phase_id) AS phase_hash, md5(source_id) AS source_hash, phase_id, source_id,
         user_count, user_source_count, detection_count, dc_phase_count, dc_detection_count, ${tiers.join(', ')}
  FROM c
)
SELECT (row_number() OVER (ORDER BY "user") - 1)::INTEGER AS i, *, ${added} AS addedweight FROM t`,
    values,
  );
  const n = Number(await ws.scalar('SELECT count(*) FROM hb_population'));
  if (n === 0) throw new UsageError('no user detections in this time range');
  const features = await ws.columns(`SELECT ${FEATURES.join(', ')} FROM hb_population ORDER BY i`);
  const { labels, k } = clusterUsers(n, features, options);
  await ws.run('CREATE OR REPLACE TEMP TABLE hb_population_labels (i INTEGER, cluster INTEGER)');
  await ws.append(
    'hb_population_labels',
    Array.from(labels, (label, i) => [i, label]),
  );
  // A cluster's risk score is its users' mean addedweight; the outlier cluster has the highest,
  // the smaller one on a tie, then the one whose first user comes first.
  const clusters = await ws.query(
    `SELECT cluster, round(sum(addedweight) / count(*) * 10) / 10 AS risk, count(*) AS n, min(i) AS first
     FROM hb_population JOIN hb_population_labels USING (i) GROUP BY cluster ORDER BY risk DESC, n, first`,
  );
  const outlier = Number(clusters[0].cluster);
  const outlierRisk = Number(clusters[0].risk);
  const num = (x: string) => `rtrim(rtrim(printf('%.6f', CAST(${x} AS DOUBLE)), '0'), '.')`;
  const plural = (x: string) => `CASE WHEN ${x} = 1 THEN '' ELSE 's' END`;
  await ws.run(
    `CREATE OR REPLACE TEMP TABLE hb_population_rows AS
WITH r AS (
  SELECT p.*, l.cluster, round(sum(addedweight) OVER (PARTITION BY l.cluster) / count(*) OVER (PARTITION BY l.cluster) * 10) / 10 AS cluster_risk,
         l.cluster = $1 AS outlier_cluster
  FROM hb_population p JOIN hb_population_labels l USING (i)
)
SELECT row_number() OVER (ORDER BY cluster_risk DESC, addedweight DESC, detection_count DESC, "user") AS rank, * EXCLUDE (i),
  [CASE WHEN user_count = 1 THEN 'the only user' ELSE 'one of ' || user_count || ' users' END || ' with phases {' || replace(phase_id, chr(10), ', ') || '} (+' || ${num('user_count_mult')} || ')',
   dc_phase_count || ' phase' || ${plural('dc_phase_count')} || ' (+' || ${num('dc_phase_count_mult')} || ')',
   dc_detection_count || ' distinct rule' || ${plural('dc_detection_count')} || ' (+' || ${num('dc_detection_count_mult')} || ')',
   'cluster ' || cluster || ' of ' || $2 || ': risk score ' || ${num('cluster_risk')} || CASE WHEN outlier_cluster THEN ' (the outlier cluster)' ELSE '' END] AS reasons
FROM r`,
    [outlier, k],
  );
  // (a whole addedweight is kept as an integer, as JSON written from JS numbers has it)
  const feature = (f: string) =>
    f === 'addedweight' ? 'CASE WHEN addedweight = trunc(addedweight) THEN to_json(addedweight::BIGINT) ELSE to_json(addedweight) END' : f;
  const ranked = `SELECT rank, "user" AS entity, addedweight AS score, json_object(${FEATURES.map((f) => `'${f}', ${feature(f)}`).join(', ')}) AS features, reasons,
      json_object('phases', phase_id, 'sources', source_id, 'cluster', cluster) AS evidence FROM hb_population_rows`;
  const runId = await record({
    parameters: { ...options, multipliers },
    window: { start: options.since, end: options.until },
    results: { query: ranked, entityType: 'user', count: n },
  });
  const printed = await ws.query(
    `SELECT ${POPULATION_COLUMNS.filter((c) => c !== 'reasons')
      .map(quoteIdent)
      .join(', ')}, array_to_string(reasons, '; ') AS reasons FROM hb_population_rows ORDER BY rank LIMIT $1`,
    [options.top ?? n],
  );
  const members = (await ws.query('SELECT "user" FROM hb_population_rows WHERE outlier_cluster ORDER BY rank LIMIT 11')).map((r) =>
    String(r.user),
  );
  for (const table of ['hb_population', 'hb_population_labels', 'hb_population_rows']) await ws.run(`DROP TABLE IF EXISTS ${table}`);
  return {
    columns: [...POPULATION_COLUMNS],
    rows: printed,
    runId,
    notes: [
      `${n} users in ${k} clusters; outlier cluster ${outlier} (risk score ${outlierRisk}): ${members.slice(0, 10).join(', ')}${members.length > 10 ? ', ...' : ''}; run ${runId}`,
    ],
  };
}

function clusterUsers(
  n: number,
  features: Float64Array[],
  options: { k: number | 'auto'; seed: number },
): { labels: Int32Array; k: number } {
  const data = new Float64Array(n * features.length);
  for (let r = 0; r < n; r++) for (let c = 0; c < features.length; c++) data[r * features.length + c] = features[c][r];
  const result =
    n < 3
      ? undefined
      : clusterStandardised({ rows: n, cols: features.length, data, names: FEATURES }, { k: options.k, seed: options.seed });
  return result ? { labels: Int32Array.from(result.labels), k: result.k } : { labels: new Int32Array(n), k: 1 };
}

/** `hunt population`: the flags over the configuration in force. */
function readPopulationFlags(config: Config, flags: Flags): PopulationOptions {
  const k = text(flags, 'k');
  const top = text(flags, 'top');
  return {
    multipliers: config.population.multipliers,
    ...timeRange(flags),
    k: k === undefined || k === 'auto' ? 'auto' : requireInteger('--k', k, 1, 50),
    seed: integer(flags, 'seed', '--seed', 1, 0),
    ...(top !== undefined ? { top: requireInteger('--top', top, 1) } : {}),
  };
}

/** Population reads detections (derived in the workspace): no stage over raw logs. */
export const POPULATION: Hunt<PopulationOptions> = {
  name: 'population',
  columns: POPULATION_COLUMNS,
  params: readPopulationFlags,
  stage: () => [],
  readsLogs: false,
  finish: finishPopulation,
  thread: (row) => String(row.user),
};

/** One population run (the library's and the tests' entry; the CLI runs POPULATION itself). */
export async function populationHunt(ws: Workspace, options: PopulationOptions): Promise<HuntOutput> {
  return runHunt(ws, POPULATION, options);
}
