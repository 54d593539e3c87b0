/**
 * The seed's two beacon searches as hunts: flow mode ("Hunting for Beacons Part 2", first
 * search) and scored mode (its risk-scoring update, ranked by "Dynamic Correlation").
 */
import { Bindings } from '../../store/sql.ts';
import { UsageError } from '../../errors.ts';
import type { Config } from '../../config.ts';
import type { Dialect } from '../../store/dialect.ts';
import { ident, join, type Sql, sql } from '../../store/sql-template.ts';
import { timeRangeSql } from '../../store/time-range.ts';
import type { Row, Workspace } from '../../store/workspace.ts';
import { choice, integer, text, timeRange, type Flags } from '../../model/flags.ts';
import { previousFeatures, type ResultRow } from '../run.ts';
import { runHunt, type Hunt, type HuntContext, type HuntOutput, type Stage } from '../contract.ts';
import { explainMultiplier } from '../../model/tiers.ts';
import { correlate } from './correlate.ts';
import { DEFAULT_FLOW, scoredParams, type FlowParams, type ScoredParams } from './params.ts';
import { SCORED_COLUMNS, SCORED_STAGE, SCORED_STAGE_COLUMNS, scoredFinishSql, scoredStage, type ScoredSource } from './scored.ts';

export type { HuntOutput } from '../contract.ts';

/** A beacon row's triage thread, as the hunts name it in results: src→dest (flow mode: src→dest:bytes). */
export function beaconThread(row: Row): string {
  if (row.entity !== undefined) return String(row.entity);
  if (row.src !== undefined) return `${String(row.src)}→${String(row.dest)}`;
  return `${String(row.src_ip)}→${String(row.dest ?? row.dest_ip)}${row.bytes_out !== undefined && row.dest === undefined ? `:${String(row.bytes_out)}` : ''}`;
}

const SCORED_PERIOD = 'hb_scored_period';

/** How many rows the table holds, and the period its rows cover within --since/--until (a stage: it reads the raw table). */
function periodStage(source: ScoredSource, dialect: Dialect): Stage {
  const table = dialect.table(source.table);
  const filters = join([sql`dest_ip IS NOT NULL`, ...timeRangeSql(source, dialect)], ' AND ');
  const text = (x: Sql) => (dialect.name === 'duckdb' ? sql`CAST(${x} AS VARCHAR)` : sql`toString(${x})`);
  return {
    table: SCORED_PERIOD,
    sql: sql`SELECT (SELECT count(*) FROM ${table}) AS table_rows, ${text(sql`min(ts)`)} AS start, ${text(sql`max(ts)`)} AS ${ident('end')} FROM ${table} WHERE ${filters}`,
    columns: [
      ['table_rows', 'BIGINT'],
      ['start', 'VARCHAR'],
      ['end', 'VARCHAR'],
    ],
  };
}

export interface ScoredOptions extends ScoredSource {
  params: ScoredParams;
  model: 'iforest' | 'kmeans';
  topFraction: number;
  seed: number;
  /** Print every scored row, not only the top fraction. */
  all: boolean;
}

async function finishScored({ ws, record }: HuntContext, options: ScoredOptions): Promise<HuntOutput> {
  const [stats] = await ws.query(`SELECT * FROM ${SCORED_PERIOD}`);
  if (Number(stats.table_rows) === 0)
    throw new UsageError(`the ${options.table} table is empty: ingest proxy or Zeek http logs (or use --source flows)`);
  const period = { start: stats.start === null ? null : String(stats.start), end: stats.end === null ? null : String(stats.end) };
  const finish = scoredFinishSql(options, options.params, SCORED_STAGE);
  const { rows } = await ws.queryWithColumns(finish.sql, finish.params);
  const features = rows.map((r) => Object.fromEntries(SCORED_COLUMNS.map((c) => [c, Number(r[c])])) as Record<string, number>);
  const history = (await previousFeatures(ws, 'beacons.scored', period)).map(
    (r) => JSON.parse(String(r.features)) as Record<string, number>,
  );
  const correlated = correlate(features, history, options.model, options.seed);
  const order = rows
    .map((_, i) => i)
    .sort(
      (a, b) =>
        correlated.scores[b] - correlated.scores[a] ||
        Number(rows[b].addedweight) - Number(rows[a].addedweight) ||
        String(rows[a].dest).localeCompare(String(rows[b].dest)),
    );
  const topCount = Math.ceil(rows.length * options.topFraction);
  const results: ResultRow[] = [];
  const out: Row[] = order.map((i, rank) => {
    const row = rows[i];
    const fired = options.params.multipliers
      .map((m) => explainMultiplier(m, Number(row[m.metric])))
      .filter((s): s is string => s !== undefined);
    const reasons = [...fired, ...correlated.reasons[i]];
    results.push({
      rank: rank + 1,
      entityType: 'pair',
      entity: `${row.src_ip}→${row.dest}`,
      score: correlated.scores[i],
      features: features[i],
      reasons,
    });
    return {
      rank: rank + 1,
      [options.model === 'iforest' ? 'iforest_score' : 'cluster_rarity']: Math.round(correlated.scores[i] * 1e6) / 1e6,
      top: rank < topCount,
      ...row,
      ...(correlated.clusters ? { cluster: correlated.clusters[i].cluster } : {}),
      reasons: reasons.join('; '),
    };
  });
  const runId = await record({ window: period, results });
  const modelColumn = options.model === 'iforest' ? 'iforest_score' : 'cluster_rarity';
  return {
    columns: ['rank', modelColumn, 'top', ...SCORED_COLUMNS, ...(correlated.clusters ? ['cluster'] : []), 'reasons'],
    rows: options.all ? out : out.slice(0, topCount),
    runId,
    notes: [
      `${rows.length} pairs scored above addedweight ${options.params.minWeight} in ${period.start} – ${period.end}; top ${(options.topFraction * 100).toFixed(1)} % = ${topCount} by ${options.model}${history.length ? ` (with ${history.length} pairs from earlier periods)` : ''}; run ${runId}`,
    ],
  };
}

export interface FlowOptions {
  params: FlowParams;
  since?: string;
  until?: string;
  top?: number;
}

export const FLOW_COLUMNS = [
  'src_ip',
  'dest_ip',
  'bytes_out',
  'beacon_count',
  'beacon_avg',
  'beacon_percentage',
  'overall_average',
  'unique_count',
  'total_count',
  'incount',
  'login_count',
] as const;

/**
 * The first search: per (src_ip, dest_ip, bytes_out) how often that exact size repeats
 * (beacon_count), against all traffic of the pair (total_count, unique_count) and against the
 * average over every row (beacon_percentage = beacon_count / overall_average).
 */
const FLOW_STAGE = 'hb_flow_stage';
const FLOW_LOGINS = 'hb_flow_logins';
const FLOW_COUNT = 'hb_flow_count';

/** The stages: per (src_ip, dest_ip, bytes_out) beacon_count and incount; per dest_ip login_count; the table's size. */
function flowStages(options: FlowOptions, d: Dialect): Stage[] {
  // One text for both engines: plain GROUP BY lists, count(DISTINCT), no windows (those are the finisher's).
  const flows = d.table('flows');
  const filters = [sql`src_ip IS NOT NULL`, sql`dest_ip IS NOT NULL`, sql`bytes_out IS NOT NULL`];
  if (options.params.ports.length > 0) filters.push(sql`dest_port IN (${join(options.params.ports)})`);
  filters.push(...timeRangeSql(options, d));
  const beaconCount = d.name === 'duckdb' ? sql`CAST(sum(n) AS BIGINT)` : sql`toInt64(sum(n))`;
  return [
    { table: FLOW_COUNT, sql: sql`SELECT count(*) AS n FROM ${flows}`, columns: [['n', 'BIGINT']] },
    {
      table: FLOW_STAGE,
      sql: sql`SELECT src_ip, dest_ip, bytes_out, ${beaconCount} AS beacon_count, count(bytes_in) AS incount
FROM (SELECT src_ip, dest_ip, bytes_out, bytes_in, count(*) AS n FROM ${flows} WHERE ${join(filters, ' AND ')} GROUP BY src_ip, dest_ip, bytes_out, bytes_in) sizes
GROUP BY src_ip, dest_ip, bytes_out`,
      columns: [
        ['src_ip', 'VARCHAR'],
        ['dest_ip', 'VARCHAR'],
        ['bytes_out', 'BIGINT'],
        ['beacon_count', 'BIGINT'],
        ['incount', 'BIGINT'],
      ],
    },
    {
      table: FLOW_LOGINS,
      sql: sql`SELECT dest_ip, count(DISTINCT ${ident('user')}) AS login_count FROM ${flows} WHERE dest_ip IS NOT NULL GROUP BY dest_ip`,
      columns: [
        ['dest_ip', 'VARCHAR'],
        ['login_count', 'BIGINT'],
      ],
    },
  ];
}

async function finishFlow({ ws, record }: HuntContext, options: FlowOptions): Promise<HuntOutput> {
  if (Number(await ws.scalar(`SELECT n FROM ${FLOW_COUNT}`)) === 0)
    throw new UsageError('the flows table is empty: ingest Zeek conn logs or flow CSVs');
  const { values, bind } = new Bindings();
  const sql = `
WITH w AS (SELECT *, sum(beacon_count) OVER pair ::BIGINT AS total_count, count(*) OVER pair AS unique_count FROM ${FLOW_STAGE} WINDOW pair AS (PARTITION BY src_ip, dest_ip))
SELECT src_ip, dest_ip, bytes_out, beacon_count, beacon_count / total_count AS beacon_avg,
       beacon_count / avg(beacon_count) OVER () AS beacon_percentage, avg(beacon_count) OVER () AS overall_average,
       unique_count, total_count, incount, coalesce(login_count, 0) AS login_count
FROM w LEFT JOIN ${FLOW_LOGINS} USING (dest_ip)
QUALIFY ${options.params.minPercentage > 0 ? `beacon_count / avg(beacon_count) OVER () > ${bind(options.params.minPercentage)}` : 'true'}
ORDER BY beacon_percentage DESC, src_ip, dest_ip, bytes_out`;
  const { rows } = await ws.queryWithColumns(sql, values);
  const top = options.top ?? 50;
  const results: ResultRow[] = rows.slice(0, Math.max(top, 1000)).map((r, i) => ({
    rank: i + 1,
    entityType: 'pair',
    entity: `${r.src_ip}→${r.dest_ip}:${r.bytes_out}`,
    score: Number(r.beacon_percentage),
    features: r as Record<string, unknown>,
    reasons: [
      `${r.beacon_count} connections of exactly ${r.bytes_out} payload bytes sent (bytes_out, no IP or TCP headers), ${Number(r.beacon_percentage).toFixed(1)}× the average`,
    ],
  }));
  const runId = await record({ window: { start: options.since, end: options.until }, results });
  return {
    columns: ['rank', ...FLOW_COLUMNS],
    rows: rows.slice(0, top).map((r, i) => ({ rank: i + 1, ...r })),
    runId,
    notes: [
      `${rows.length} (src_ip, dest_ip, bytes_out) rows${options.params.ports.length ? ` on ports ${options.params.ports.join(',')}` : ''}; run ${runId}`,
    ],
  };
}

/** --top-fraction: a share in (0, 1]. */
function fraction(name: string, value: string): number {
  const x = Number(value);
  if (!(x > 0 && x <= 1)) throw new UsageError(`${name} must be a fraction in (0, 1], got "${value}"`);
  return x;
}

export const SCORED: Hunt<ScoredOptions> = {
  name: 'beacons.scored',
  columns: ['rank', 'iforest_score', 'cluster_rarity', 'top', ...SCORED_COLUMNS, 'cluster', 'reasons'],
  params: (config: Config, flags: Flags) => ({
    table: choice(flags, 'source', '--source', ['http', 'flows'] as const, 'http'),
    ...timeRange(flags),
    params: scoredParams(config, choice(flags, 'join', '--join', ['dest', 'splunk'] as const, 'dest')),
    model: choice(flags, 'model', '--model', ['iforest', 'kmeans'] as const, 'iforest'),
    topFraction: fraction('--top-fraction', text(flags, 'topFraction') ?? '0.003'),
    seed: integer(flags, 'seed', '--seed', 1, 0),
    all: flags.all === true,
  }),
  stage: (p, dialect) => [
    periodStage(p, dialect),
    { table: SCORED_STAGE, sql: scoredStage(p, p.params, dialect), columns: SCORED_STAGE_COLUMNS },
  ],
  finish: finishScored,
  thread: beaconThread,
};

/** Flow mode's ports: a comma list, or 'all'; the seed's 80 and 443 by default. */
function ports(value: string): number[] {
  if (value === 'all' || value === '') return [];
  return value.split(',').map((p) => integer({ p: p.trim() }, 'p', '--ports', 0, 0, 65535));
}

export const FLOW: Hunt<FlowOptions> = {
  name: 'beacons.flow',
  columns: ['rank', ...FLOW_COLUMNS],
  params: (_config: Config, flags: Flags) => ({
    params: {
      ports: ports(text(flags, 'ports') ?? DEFAULT_FLOW.ports.join(',')),
      minPercentage: Number(text(flags, 'minPercentage') ?? 0) || 0,
    },
    ...timeRange(flags),
    top: integer(flags, 'top', '--top', 20, 1),
  }),
  stage: flowStages,
  finish: finishFlow,
  thread: beaconThread,
};

/** One scored run (the library's and the tests' entry; the CLI runs SCORED itself). */
export async function scoredHunt(ws: Workspace, options: ScoredOptions): Promise<HuntOutput> {
  return runHunt(ws, SCORED, options);
}

/** One flow run (the library's and the tests' entry; the CLI runs FLOW itself). */
export async function flowHunt(ws: Workspace, options: FlowOptions): Promise<HuntOutput> {
  return runHunt(ws, FLOW, options);
}
