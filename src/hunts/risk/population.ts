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
import { fromRecords } from '../../ml/matrix.ts';
import type { Row, Workspace } from '../../store/workspace.ts';
import { runHunt, type Hunt, type HuntContext, type HuntOutput } from '../contract.ts';
import type { ResultRow } from '../run.ts';
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
  const rows = await ws.query(
    `
WITH u AS (
  SELECT entity AS "user", list(DISTINCT phase ORDER BY phase) AS phases, count(phase) AS detection_count,
         count(DISTINCT phase) AS dc_phase_count, list(DISTINCT rule_id ORDER BY rule_id) AS sources, count(DISTINCT rule_id) AS dc_detection_count
  FROM detections WHERE ${filters.join(' AND ')} GROUP BY entity
), h AS (
  SELECT *, array_to_string(phases, chr(10)) AS phase_id, array_to_string(sources, chr(10)) AS source_id FROM u
), c AS (
  SELECT *, count(*) OVER (PARTITION BY phase_id) AS user_count, count(*) OVER (PARTITION BY source_id) AS user_source_count FROM h
)
SELECT "user", md5("user") AS userhash, md5(phase_id) AS phase_hash, md5(source_id) AS source_hash, phase_id, source_id,
       user_count, user_source_count, detection_count, dc_phase_count, dc_detection_count, ${tiers.join(', ')}
FROM c ORDER BY "user"`,
    values,
  );
  if (rows.length === 0) throw new UsageError('no user detections in this time range');
  for (const r of rows) r.addedweight = multipliers.reduce((sum, m) => sum + Number(r[m.name]), 0);
  const { labels, k } = clusterUsers(rows, options);
  const risk = new Map<number, { sum: number; n: number }>();
  rows.forEach((r, i) => {
    const c = risk.get(labels[i]) ?? { sum: 0, n: 0 };
    risk.set(labels[i], { sum: c.sum + Number(r.addedweight), n: c.n + 1 });
  });
  const clusterRisk = (c: number) => Math.round((risk.get(c)!.sum / risk.get(c)!.n) * 10) / 10;
  const outlier = [...risk.keys()].sort((a, b) => clusterRisk(b) - clusterRisk(a) || risk.get(a)!.n - risk.get(b)!.n)[0];
  const out = rows.map((r, i) => {
    const reasons = [
      `${r.user_count === 1 ? 'the only user' : `one of ${r.user_count} users`} with phases {${String(r.phase_id).replaceAll('\n', ', ')}} (+${r.user_count_mult})`,
      `${r.dc_phase_count} phase${Number(r.dc_phase_count) === 1 ? '' : 's'} (+${r.dc_phase_count_mult})`,
      `${r.dc_detection_count} distinct rule${Number(r.dc_detection_count) === 1 ? '' : 's'} (+${r.dc_detection_count_mult})`,
      `cluster ${labels[i]} of ${k}: risk score ${clusterRisk(labels[i])}${labels[i] === outlier ? ' (the outlier cluster)' : ''}`,
    ];
    return {
      row: { ...r, cluster: labels[i], cluster_risk: clusterRisk(labels[i]), outlier_cluster: labels[i] === outlier } as Row,
      reasons,
    };
  });
  out.sort((x, y) => {
    const a = x.row;
    const b = y.row;
    return (
      Number(b.cluster_risk) - Number(a.cluster_risk) ||
      Number(b.addedweight) - Number(a.addedweight) ||
      Number(b.detection_count) - Number(a.detection_count) ||
      String(a.user).localeCompare(String(b.user))
    );
  });
  const results: ResultRow[] = out.map(({ row: r, reasons }, i) => ({
    rank: i + 1,
    entityType: 'user',
    entity: String(r.user),
    score: Number(r.addedweight),
    features: Object.fromEntries(FEATURES.map((f) => [f, r[f]])),
    reasons,
    evidence: { phases: r.phase_id, sources: r.source_id, cluster: r.cluster },
  }));
  const runId = await record({
    parameters: { ...options, multipliers },
    window: { start: options.since, end: options.until },
    results: results,
  });
  const members = out.filter((r) => r.row.outlier_cluster).map((r) => r.row.user);
  return {
    columns: [...POPULATION_COLUMNS],
    rows: out.slice(0, options.top ?? out.length).map(({ row, reasons }, i) => ({ rank: i + 1, ...row, reasons: reasons.join('; ') })),
    runId,
    notes: [
      `${out.length} users in ${k} clusters; outlier cluster ${outlier} (risk score ${clusterRisk(outlier)}): ${members.slice(0, 10).join(', ')}${members.length > 10 ? ', ...' : ''}; run ${runId}`,
    ],
  };
}

function clusterUsers(rows: Row[], options: { k: number | 'auto'; seed: number }): { labels: number[]; k: number } {
  const result = rows.length < 3 ? undefined : clusterStandardised(fromRecords(rows, FEATURES), { k: options.k, seed: options.seed });
  return result ? { labels: Array.from(result.labels), k: result.k } : { labels: rows.map(() => 0), k: 1 };
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
