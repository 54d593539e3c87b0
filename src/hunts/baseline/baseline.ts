/**
 * `huntbook hunt baseline`: the seed's "Measuring User Behavior". Each user's day is a row of
 * numbers (matrix.ts, in SQL); each day is scored against that user's own earlier days and the
 * peer group's same day (score.ts); the days of interest are ranked, each with the features that
 * deviated, by how much, and what that user's normal is ("removable_count 1 vs usual 0–0").
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { defaultConfig, PEER_KEYS, type BaselineConfig, type Config } from '../../config.ts';
import { UsageError } from '../../errors.ts';
import { loadRuleSources, SHIPPED_PACKS_DIR } from '../../rules/catalog.ts';
import type { Row, Workspace } from '../../store/workspace.ts';
import { runHunt, type Hunt, type HuntContext, type HuntOutput, type Stage } from '../contract.ts';
import type { Dialect } from '../../store/dialect.ts';
import type { LogStore } from '../../store/logs.ts';
import type { ResultRow } from '../run.ts';
import { choice, integer, requireInteger, requireNumber, text, timeRange, type Flags } from '../../model/flags.ts';
import type { WeightedParams } from '../risk/weighted.ts';
import {
  buildMatrix,
  MATRIX_TABLE,
  type MatrixShape,
  type MatrixSpec,
  matrixShape,
  matrixStages,
  PEER_TABLE,
  dropMatrix,
} from './matrix.ts';
import { scoreDays, type DayScore, type Deviation } from './score.ts';

export interface BaselineParams extends BaselineConfig {
  /** The day's weighted score is the risk hunt's (config risk: cap_k, phase_step, source_step). */
  weighted: WeightedParams;
  since?: string;
  until?: string;
  seed: number;
}

export function baselineParams(config: Config, overrides: Partial<BaselineParams> = {}): BaselineParams {
  const { capK, phaseStep, sourceStep } = config.risk;
  return { ...config.baseline, weighted: { capK, phaseStep, sourceStep }, seed: 1, ...overrides };
}

/** The shipped configuration's values (read when asked, not at import). */
export function defaultBaseline(): BaselineParams {
  return baselineParams(defaultConfig());
}

export interface BaselineOptions extends BaselineParams {
  /** Rows printed (every day of interest is kept). */
  top?: number;
  /** Only this user's days. */
  user?: string;
}

/** The flags shared by hunt baseline and hunt insider, over the configuration in force. */
export function readBaselineFlags(config: Config, flags: Flags): BaselineParams {
  const warmupDays = text(flags, 'warmupDays');
  const minHistoryDays = text(flags, 'minHistoryDays');
  const z = text(flags, 'z');
  const packs = text(flags, 'packs');
  return baselineParams(config, {
    ...timeRange(flags),
    seed: integer(flags, 'seed', '--seed', 1, 0),
    ...(warmupDays !== undefined ? { warmupDays: requireInteger('--warmup-days', warmupDays, 1, 365) } : {}),
    ...(minHistoryDays !== undefined ? { minHistoryDays: requireInteger('--min-history-days', minHistoryDays, 2, 3650) } : {}),
    ...(z !== undefined ? { zThreshold: requireNumber('--z', z, 0.1) } : {}),
    ...(text(flags, 'peerKey') !== undefined ? { peerKey: choice(flags, 'peerKey', '--peer-key', PEER_KEYS, 'role') } : {}),
    ...(packs !== undefined
      ? {
          packs: packs
            .split(',')
            .map((x) => x.trim())
            .filter(Boolean),
        }
      : {}),
  });
}

export const BASELINE_COLUMNS = ['rank', 'user', 'day', 'score', 'peer_group', 'forest', 'deviations', 'reasons'] as const;

/** Features left out of the scoring: volume alone (a busy day) is not behaviour. They stay in the matrix. */
const QUIET = new Set(['day_count']);

export interface BaselineResult {
  shape: MatrixShape;
  users: string[];
  dayNames: string[];
  peerGroups: (string | null)[];
  days: DayScore[];
}

/** A pack named like a shipped one ("insider") is that file; anything else is a path. */
function packPath(name: string): string {
  const shipped = join(SHIPPED_PACKS_DIR, `${name}.yml`);
  return existsSync(shipped) ? shipped : name;
}

async function ruleIdsOf(packs: readonly string[]): Promise<string[]> {
  if (packs.length === 0) return [];
  const { rules } = await loadRuleSources(packs.map(packPath), []);
  return [...new Set(rules.map((r) => r.id))].sort();
}

/** The matrix and every day's score, without keeping a run (hunt insider builds on this). */
export async function scoreBaseline(ws: Workspace, params: BaselineParams, options: { staged?: boolean } = {}): Promise<BaselineResult> {
  const shape = options.staged ? await matrixShape(ws) : await buildMatrix(ws, await matrixSpec(params));
  if (shape.users === 0) {
    throw new UsageError(
      'no user activity to baseline: ingest activity (CERT logon/device/file/email), Windows events or proxy logs with a user field',
    );
  }
  const users = (await ws.query(`SELECT DISTINCT "user" FROM ${MATRIX_TABLE} ORDER BY "user"`)).map((r) => String(r.user));
  const dayNames = (await ws.query(`SELECT DISTINCT CAST(day AS VARCHAR) AS day FROM ${MATRIX_TABLE} ORDER BY day`)).map((r) =>
    String(r.day),
  );
  const values = await ws.columns(
    `SELECT ${shape.columns.map((c) => `CAST("${c.replaceAll('"', '""')}" AS DOUBLE)`).join(', ')} FROM ${MATRIX_TABLE} ORDER BY "user", day`,
  );
  // Peer groups: each user's latest directory row (the configured column: role by default), as the stage landed them.
  const peerRows = await ws.query(`SELECT u, g FROM ${PEER_TABLE} WHERE u IS NOT NULL`);
  const groupOf = new Map(peerRows.map((r) => [String(r.u), String(r.g)]));
  const groupNames = [...new Set(groupOf.values())].sort();
  const peerGroups = users.map((u) => groupOf.get(u) ?? null);
  const peers = Int32Array.from(peerGroups, (g) => (g === null ? -1 : groupNames.indexOf(g)));
  const days = scoreDays({ users: users.length, days: dayNames.length, features: shape.columns, values, peers, quiet: QUIET }, params);
  return { shape, users, dayNames, peerGroups, days };
}

export function describeDeviation(d: Deviation): string {
  const usual = d.usual[0] === d.usual[1] ? `${fmt(d.usual[0])}` : `${fmt(d.usual[0])}–${fmt(d.usual[1])}`;
  const peer = d.peerZ === null ? '' : `, peers z ${fmt(Math.min(d.peerZ, 99))}`;
  let first = '';
  if (d.firstInPeers) first = ', first time, first in peer group';
  else if (d.first) first = ', first time';
  return `${d.feature} ${fmt(d.value)} vs usual ${usual} (z ${fmt(Math.min(d.z, 99))}${peer}${first}) +${fmt(d.points)}`;
}

/** "removable_files 4 (usual 0)": the printed list; the kept reasons say the rest. */
function shortDeviation(d: Deviation): string {
  return `${d.feature} ${fmt(d.value)} (usual ${d.usual[0] === d.usual[1] ? fmt(d.usual[0]) : `${fmt(d.usual[0])}–${fmt(d.usual[1])}`}${d.first ? ', first' : ''})`;
}

export function forestText(day: DayScore, params: BaselineParams): string {
  if (day.forest === null) return `forest learning (${day.day} of ${params.minHistoryDays} days)`;
  return `forest ${day.forest.toFixed(3)}${day.forestPoints > 0 ? ` +${fmt(day.forestPoints)}` : ''}`;
}

function fmt(x: number): string {
  return String(Math.round(x * 10) / 10);
}

export function historyNote(result: BaselineResult, params: BaselineParams): string {
  const { shape, dayNames } = result;
  const from = dayNames[Math.min(params.warmupDays, dayNames.length - 1)];
  const forest = dayNames[params.minHistoryDays];
  return (
    `${shape.users} users × ${shape.days} days (${shape.first} .. ${shape.last}), ${shape.columns.length} features; ` +
    (shape.days <= params.warmupDays
      ? `history too short: scores and first-time flags start after ${params.warmupDays} days`
      : `scores and first-time flags from ${from}${forest ? `, per-user forests from ${forest}` : `; per-user forests need ${params.minHistoryDays} days (learning)`}`)
  );
}

async function finishBaseline({ ws, record }: HuntContext, p: BaselineOptions): Promise<HuntOutput> {
  const { top, user, ...params } = p;
  const options = { top, user };
  const result = await scoreBaseline(ws, params, { staged: true });
  const { users, dayNames, peerGroups } = result;
  const only = options.user?.toLowerCase();
  const ranked = result.days
    .filter((d) => only === undefined || users[d.user] === only)
    .sort((a, b) => b.score - a.score || users[a.user].localeCompare(users[b.user]) || a.day - b.day);
  const rows: ResultRow[] = ranked.map((d, i) => ({
    rank: i + 1,
    entityType: 'user',
    entity: users[d.user],
    score: d.score,
    features: { day: dayNames[d.day], ...Object.fromEntries(d.deviations.map((x) => [x.feature, x.value])), forest: d.forest },
    reasons: [...d.deviations.map(describeDeviation), forestText(d, params)],
    evidence: { day: dayNames[d.day], peer_group: peerGroups[d.user], deviations: d.deviations },
  }));
  const runId = await record({
    parameters: { ...params, user: options.user },
    window: { start: params.since, end: params.until },
    results: rows,
  });
  const printed: Row[] = rows.slice(0, options.top ?? rows.length).map((r, i) => {
    const d = ranked[i];
    return {
      rank: r.rank,
      user: r.entity,
      day: dayNames[d.day],
      score: d.score,
      peer_group: peerGroups[d.user],
      forest: d.forest === null ? 'learning' : Math.round(d.forest * 1000) / 1000,
      deviations: d.deviations.map(shortDeviation).join(', '),
      reasons: r.reasons.join('; '),
    };
  });
  return {
    columns: [...BASELINE_COLUMNS],
    rows: printed,
    runId,
    notes: [`${historyNote(result, params)}; ${rows.length} days of interest; run ${runId}`],
  };
}

/** What the matrix is made of: the configured features, one column per rule of the packs, peers, the window. */
async function matrixSpec(params: BaselineParams): Promise<MatrixSpec> {
  return {
    features: params.features,
    ruleIds: await ruleIdsOf(params.packs),
    peerKey: params.peerKey,
    weighted: params.weighted,
    since: params.since,
    until: params.until,
  };
}

/** The daily matrix itself (--matrix): every user-day with every feature, for a notebook or a check. */
export async function baselineMatrix(
  ws: Workspace,
  params: BaselineParams,
  options: { user?: string; logs?: LogStore } = {},
): Promise<{ columns: string[]; rows: Row[] }> {
  await buildMatrix(ws, await matrixSpec(params), options.logs);
  const result = await ws.queryWithColumns(
    `SELECT "user", CAST(day AS VARCHAR) AS day, * EXCLUDE ("user", day) FROM ${MATRIX_TABLE}
    ${options.user ? 'WHERE "user" = lower($1)' : ''} ORDER BY "user", day`,
    options.user ? [options.user] : [],
  );
  await dropMatrix(ws);
  return result;
}

/**
 * The stages: the daily matrix (matrix.ts), aggregated per user and day where the logs are
 * (activity, events, http, directory), finished in the workspace with the detections.
 */
export async function baselineStages(p: BaselineParams, dialect: Dialect): Promise<Stage[]> {
  return matrixStages(await matrixSpec(p), dialect);
}

export const BASELINE: Hunt<BaselineOptions> = {
  name: 'baseline',
  columns: BASELINE_COLUMNS,
  params: (config, flags) => ({
    ...readBaselineFlags(config, flags),
    top: integer(flags, 'top', '--top', 20, 1),
    user: text(flags, 'user'),
  }),
  stage: baselineStages,
  finish: finishBaseline,
  thread: (row) => String(row.user),
};

/** One baseline run (the library's and the tests' entry; the CLI runs BASELINE itself). */
export async function baselineHunt(
  ws: Workspace,
  params: BaselineParams,
  options: { top?: number; user?: string } = {},
): Promise<HuntOutput> {
  return runHunt(ws, BASELINE, { ...params, ...options });
}
