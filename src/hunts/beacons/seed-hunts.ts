/**
 * The seed's two beacon searches as hunts: flow mode ("Hunting for Beacons Part 2", first
 * search) and scored mode (its risk-scoring update, ranked by "Dynamic Correlation").
 */
import { Bindings, timeWindow, type SqlValue } from '../../store/sql.ts';
import { UsageError } from '../../errors.ts';
import type { Row, Workspace } from '../../store/workspace.ts';
import { previousFeatures, recordRun, type ResultRow } from '../run.ts';
import { explainMultiplier } from '../../model/tiers.ts';
import { correlate } from './correlate.ts';
import type { FlowParams, ScoredParams } from './params.ts';
import { SCORED_COLUMNS, scoredSql, type ScoredSource } from './scored.ts';

export interface HuntOutput {
  columns: string[];
  rows: Row[];
  runId: number;
  notes: string[];
}

async function tableRows(ws: Workspace, table: string): Promise<number> {
  return Number(await ws.scalar(`SELECT count(*) FROM ${table === 'http' ? 'http' : 'flows'}`));
}

export interface ScoredOptions extends ScoredSource {
  params: ScoredParams;
  model: 'iforest' | 'kmeans';
  topFraction: number;
  seed: number;
  /** Print every scored row, not only the top fraction. */
  all: boolean;
}

export async function scoredHunt(ws: Workspace, options: ScoredOptions): Promise<HuntOutput> {
  if ((await tableRows(ws, options.table)) === 0) throw new UsageError(`the ${options.table} table is empty: ingest proxy or Zeek http logs (or use --source flows)`);
  const started = performance.now();
  const period = await periodOf(ws, options);
  const { sql, params } = scoredSql(options, options.params);
  const { rows } = await ws.queryWithColumns(sql, params);
  const features = rows.map((r) => Object.fromEntries(SCORED_COLUMNS.map((c) => [c, Number(r[c])])) as Record<string, number>);
  const history = (await previousFeatures(ws, 'beacons.scored', period)).map((r) => JSON.parse(String(r.features)) as Record<string, number>);
  const correlated = correlate(features, history, options.model, options.seed);
  const order = rows.map((_, i) => i).sort((a, b) => correlated.scores[b] - correlated.scores[a] || Number(rows[b].addedweight) - Number(rows[a].addedweight) || String(rows[a].dest).localeCompare(String(rows[b].dest)));
  const topCount = Math.ceil(rows.length * options.topFraction);
  const results: ResultRow[] = [];
  const out: Row[] = order.map((i, rank) => {
    const row = rows[i];
    const fired = options.params.multipliers.map((m) => explainMultiplier(m, Number(row[m.metric]))).filter((s): s is string => s !== undefined);
    const reasons = [...fired, ...correlated.reasons[i]];
    results.push({ rank: rank + 1, entityType: 'pair', entity: `${row.src_ip}→${row.dest}`, score: correlated.scores[i], features: features[i], reasons });
    return {
      rank: rank + 1, [options.model === 'iforest' ? 'iforest_score' : 'cluster_rarity']: Math.round(correlated.scores[i] * 1e6) / 1e6,
      top: rank < topCount, ...row, ...(correlated.clusters ? { cluster: correlated.clusters[i].cluster } : {}), reasons: reasons.join('; '),
    };
  });
  const runId = await recordRun(ws, { hunt: 'beacons.scored', parameters: options, window: period, started, rows: results });
  const modelColumn = options.model === 'iforest' ? 'iforest_score' : 'cluster_rarity';
  return {
    columns: ['rank', modelColumn, 'top', ...SCORED_COLUMNS, ...(correlated.clusters ? ['cluster'] : []), 'reasons'],
    rows: options.all ? out : out.slice(0, topCount),
    runId,
    notes: [`${rows.length} pairs scored above addedweight ${options.params.minWeight} in ${period.start} – ${period.end}; top ${(options.topFraction * 100).toFixed(1)} % = ${topCount} by ${options.model}${history.length ? ` (with ${history.length} pairs from earlier periods)` : ''}; run ${runId}`],
  };
}

/** The period a scored run covers: the rows' own first and last times within --since/--until. */
async function periodOf(ws: Workspace, source: ScoredSource): Promise<{ start: string | null; end: string | null }> {
  const { values, bind } = new Bindings();
  const filters = ['dest_ip IS NOT NULL', ...timeWindow(bind, source)];
  const [row] = await ws.query(`SELECT CAST(min(ts) AS VARCHAR) AS start, CAST(max(ts) AS VARCHAR) AS "end" FROM ${source.table === 'http' ? 'http' : 'flows'} WHERE ${filters.join(' AND ')}`, values);
  return { start: row.start === null ? null : String(row.start), end: row.end === null ? null : String(row.end) };
}

export interface FlowOptions {
  params: FlowParams;
  since?: string;
  until?: string;
  top?: number;
}

export const FLOW_COLUMNS = ['src_ip', 'dest_ip', 'bytes_out', 'beacon_count', 'beacon_avg', 'beacon_percentage', 'overall_average', 'unique_count', 'total_count', 'incount', 'login_count'] as const;

/**
 * The first search: per (src_ip, dest_ip, bytes_out) how often that exact size repeats
 * (beacon_count), against all traffic of the pair (total_count, unique_count) and against the
 * average over every row (beacon_percentage = beacon_count / overall_average).
 */
export async function flowHunt(ws: Workspace, options: FlowOptions): Promise<HuntOutput> {
  if ((await tableRows(ws, 'flows')) === 0) throw new UsageError('the flows table is empty: ingest Zeek conn logs or flow CSVs');
  const started = performance.now();
  const { values, bind } = new Bindings();
  const filters = ['src_ip IS NOT NULL', 'dest_ip IS NOT NULL', 'bytes_out IS NOT NULL'];
  if (options.params.ports.length > 0) filters.push(`dest_port IN (${options.params.ports.map((p) => bind(p)).join(', ')})`);
  filters.push(...timeWindow(bind, options));
  const sql = `
WITH f AS (SELECT src_ip, dest_ip, bytes_out, bytes_in, "user" FROM flows WHERE ${filters.join(' AND ')}),
sizes AS (SELECT src_ip, dest_ip, bytes_out, bytes_in, count(*) AS n FROM f GROUP BY ALL),
s AS (SELECT src_ip, dest_ip, bytes_out, sum(n)::BIGINT AS beacon_count, count(bytes_in) AS incount FROM sizes GROUP BY ALL),
logins AS (SELECT dest_ip, count(DISTINCT "user") AS login_count FROM flows WHERE dest_ip IS NOT NULL GROUP BY ALL),
w AS (SELECT *, sum(beacon_count) OVER pair ::BIGINT AS total_count, count(*) OVER pair AS unique_count FROM s WINDOW pair AS (PARTITION BY src_ip, dest_ip))
SELECT src_ip, dest_ip, bytes_out, beacon_count, beacon_count / total_count AS beacon_avg,
       beacon_count / avg(beacon_count) OVER () AS beacon_percentage, avg(beacon_count) OVER () AS overall_average,
       unique_count, total_count, incount, coalesce(login_count, 0) AS login_count
FROM w LEFT JOIN logins USING (dest_ip)
QUALIFY ${options.params.minPercentage > 0 ? `beacon_count / avg(beacon_count) OVER () > ${bind(options.params.minPercentage)}` : 'true'}
ORDER BY beacon_percentage DESC, src_ip, dest_ip, bytes_out`;
  const { rows } = await ws.queryWithColumns(sql, values);
  const top = options.top ?? 50;
  const results: ResultRow[] = rows.slice(0, Math.max(top, 1000)).map((r, i) => ({
    rank: i + 1, entityType: 'pair', entity: `${r.src_ip}→${r.dest_ip}:${r.bytes_out}`, score: Number(r.beacon_percentage),
    features: r as Record<string, unknown>, reasons: [`${r.beacon_count} connections of exactly ${r.bytes_out} payload bytes sent (bytes_out, no IP or TCP headers), ${Number(r.beacon_percentage).toFixed(1)}× the average`],
  }));
  const runId = await recordRun(ws, { hunt: 'beacons.flow', parameters: options, window: { start: options.since, end: options.until }, started, rows: results });
  return {
    columns: ['rank', ...FLOW_COLUMNS], rows: rows.slice(0, top).map((r, i) => ({ rank: i + 1, ...r })), runId,
    notes: [`${rows.length} (src_ip, dest_ip, bytes_out) rows${options.params.ports.length ? ` on ports ${options.params.ports.join(',')}` : ''}; run ${runId}`],
  };
}
