/**
 * `huntbook hunt insider`: who is stealing data, and what is the story. One ranked list of users
 * from the three views the seed builds for insider data theft, each kept as its own run:
 *   baseline    the user's days against their own history and peers (hunt baseline):
 *               the sum of their three highest day scores
 *   risk        the highest Elastic 0–100 risk of any of their day windows (hunt risk), halved
 *   population  how rare their set of phases and rules is (hunt population): addedweight / 10,
 *               +10 in the outlier cluster
 *   order       the seed's phase ordering: packaging (collection, staging) before exfiltration
 *               within `orderDays` days: +25; exfiltration on two or more days: +10
 *   red flags   the directory's and watch-list's dated flags (left, role changed): +15 each kind
 * Each user's story lists the phases in the order they first appeared, with their days, the
 * days of interest with what deviated, the red flags and the heaviest detections.
 */
import { defaultConfig, type Config, type InsiderWeights } from '../../config.ts';
import { UsageError } from '../../errors.ts';
import { RED_FLAG_PHASE } from '../../rules/directory-flags.ts';
import { Bindings, timeWindow } from '../../store/sql.ts';
import { listValue, type Row, type Workspace } from '../../store/workspace.ts';
import { runHunt, type Hunt, type HuntContext, type HuntOutput } from '../contract.ts';
import { integer, text, timeRange, type Flags } from '../../model/flags.ts';
import {
  baselineStages,
  scoreBaseline,
  describeDeviation,
  historyNote,
  readBaselineFlags,
  type BaselineParams,
} from '../baseline/baseline.ts';
import { dropMatrix } from '../baseline/matrix.ts';
import { populationHunt, type PopulationOptions } from '../risk/population.ts';
import { riskHunt, riskParams, type RiskParams } from '../risk/risk.ts';
import type { ResultRow } from '../run.ts';

export interface InsiderParams {
  baseline: BaselineParams;
  risk: RiskParams;
  population: Omit<PopulationOptions, 'top' | 'since' | 'until'>;
  /** Packaging counts for the order bonus when exfiltration follows within this many days. */
  orderDays: number;
  /** How the parts add up (config/huntbook.yml `insider`, the shipped file's when not given). */
  weights?: Omit<InsiderWeights, 'orderDays'>;
  since?: string;
  until?: string;
}

export interface InsiderOptions extends InsiderParams {
  /** Rows printed (every user is kept). */
  top: number;
}

export const INSIDER_COLUMNS = [
  'rank',
  'user',
  'score',
  'baseline',
  'risk',
  'population',
  'order',
  'red_flags',
  'story',
  'reasons',
] as const;

const PACKAGING = ['packaging', 'collection', 'staging'];
const EXFILTRATION = ['exfiltration'];

interface Candidate {
  user: string;
  baseline: number;
  days: { day: string; score: number; what: string[] }[];
  risk: number;
  population: number;
  outlier: boolean;
  order: number;
  orderWhy: string[];
  flags: string[];
  phases: { phase: string; first: string; last: string; days: number; rules: string[] }[];
  evidence: Row[];
}

async function finishInsider({ ws, record }: HuntContext, options: InsiderOptions): Promise<HuntOutput> {
  const { top, ...params } = options;
  const weights = params.weights ?? defaultConfig().insider;
  const baseline = await scoreBaseline(ws, { ...params.baseline, since: params.since, until: params.until }, { staged: true });
  await dropMatrix(ws);
  const byUser = new Map<string, Candidate>();
  const candidate = (user: string): Candidate => {
    let c = byUser.get(user);
    if (!c) {
      c = {
        user,
        baseline: 0,
        days: [],
        risk: 0,
        population: 0,
        outlier: false,
        order: 0,
        orderWhy: [],
        flags: [],
        phases: [],
        evidence: [],
      };
      byUser.set(user, c);
    }
    return c;
  };
  const perUser = new Map<number, typeof baseline.days>();
  for (const d of baseline.days) perUser.set(d.user, [...(perUser.get(d.user) ?? []), d]);
  for (const [u, days] of perUser) {
    const c = candidate(baseline.users[u]);
    const best = [...days].sort((a, b) => b.score - a.score || a.day - b.day).slice(0, 3);
    c.baseline = Math.round(best.reduce((s, d) => s + d.score, 0) * 10) / 10;
    c.days = best.map((d) => ({ day: baseline.dayNames[d.day], score: d.score, what: d.deviations.slice(0, 4).map(describeDeviation) }));
  }

  const notes = [historyNote(baseline, params.baseline)];
  const hasDetections = Number(await ws.scalar("SELECT count(*) FROM detections WHERE entity_type = 'user'")) > 0;
  if (hasDetections) {
    const risk = await riskHunt(ws, { ...params.risk, by: 'user', since: params.since, until: params.until }, 1);
    for (const r of await ws.query('SELECT entity, max(score) AS risk FROM results WHERE run_id = $1 GROUP BY entity', [risk.runId])) {
      candidate(String(r.entity)).risk = Math.round(Number(r.risk) * weights.riskFactor * 10) / 10;
    }
    const population = await populationHunt(ws, { ...params.population, since: params.since, until: params.until, top: 1 });
    for (const r of await ws.query(
      `SELECT entity, score, CAST(reasons AS VARCHAR) LIKE '%the outlier cluster%' AS outlier FROM results WHERE run_id = $1`,
      [population.runId],
    )) {
      const c = candidate(String(r.entity));
      c.outlier = r.outlier === true;
      c.population = Number(r.score) / weights.populationDivisor + (c.outlier ? weights.outlierBonus : 0);
    }
    notes.push(`risk run ${risk.runId}, population run ${population.runId}`);
    await storyFromDetections(ws, byUser, params, weights);
  } else {
    notes.push('no detections: only the baseline speaks (huntbook rules run adds risk, population, phases and red flags)');
  }
  if (byUser.size === 0) throw new UsageError('nothing to rank: no user has a day of interest or a detection');

  const ranked = [...byUser.values()]
    .map((c) => ({
      c,
      score:
        Math.round(
          (c.baseline + c.risk + c.population + c.order + weights.redFlagBonus * new Set(c.flags.map((f) => f.split(' ')[0])).size) * 10,
        ) / 10,
    }))
    .sort((a, b) => b.score - a.score || a.c.user.localeCompare(b.c.user));
  const rows: ResultRow[] = ranked.map(({ c, score }, i) => ({
    rank: i + 1,
    entityType: 'user',
    entity: c.user,
    score,
    features: {
      baseline: c.baseline,
      risk: c.risk,
      population: Math.round(c.population * 10) / 10,
      order: c.order,
      red_flags: c.flags.length,
    },
    reasons: explain(c, weights),
    evidence: { days: c.days, phases: c.phases, red_flags: c.flags, detections: c.evidence },
  }));
  const runId = await record({ parameters: params, window: { start: params.since, end: params.until }, results: rows });
  const printed = ranked.slice(0, top).map(({ c, score }, i) => ({
    rank: i + 1,
    user: c.user,
    score,
    baseline: c.baseline,
    risk: c.risk,
    population: Math.round(c.population * 10) / 10,
    order: c.order,
    red_flags: c.flags.join('; '),
    story: story(c),
    reasons: rows[i].reasons.join('; '),
  }));
  notes.push(`${rows.length} users ranked; run ${runId}`);
  return { columns: [...INSIDER_COLUMNS], rows: printed, runId, notes };
}

/** Phases in the order they first appeared, the order bonus, red flags and the heaviest detections, in SQL. */
async function storyFromDetections(
  ws: Workspace,
  byUser: Map<string, Candidate>,
  params: InsiderParams,
  weights: Omit<InsiderWeights, 'orderDays'>,
): Promise<void> {
  const inWindow = () => {
    const b = new Bindings();
    return { b, where: ["entity_type = 'user'", ...timeWindow(b.bind, params)].join(' AND ') };
  };
  const p1 = inWindow();
  const phases = await ws.query(
    `SELECT entity, phase, CAST(min(ts) AS VARCHAR) AS first, CAST(max(ts) AS VARCHAR) AS last,
      count(DISTINCT CAST(ts AS DATE)) AS days, list(DISTINCT rule ORDER BY rule) AS rules
    FROM detections WHERE ${p1.where} AND phase IS NOT NULL AND phase <> ${p1.b.bind(RED_FLAG_PHASE)}
    GROUP BY ALL ORDER BY entity, min(ts), phase`,
    p1.b.values,
  );
  for (const p of phases) {
    const c = byUser.get(String(p.entity));
    if (c)
      c.phases.push({
        phase: String(p.phase),
        first: String(p.first),
        last: String(p.last),
        days: Number(p.days),
        rules: p.rules as string[],
      });
  }
  // Packaging, then exfiltration within orderDays (the seed's phase ordering).
  const ordered = await ws.query(
    `SELECT e.entity, CAST(min(p.ts) AS VARCHAR) AS packed, arg_min(p.phase, p.ts) AS packed_phase, CAST(min(e.ts) AS VARCHAR) AS sent
    FROM detections p JOIN detections e ON e.entity = p.entity AND e.entity_type = 'user' AND p.entity_type = 'user'
     AND list_contains($1::VARCHAR[], p.phase) AND list_contains($2::VARCHAR[], e.phase)
     AND e.ts >= p.ts AND e.ts <= p.ts + to_days(CAST($3 AS INTEGER))
    GROUP BY e.entity`,
    [listValue(PACKAGING), listValue(EXFILTRATION), params.orderDays],
  );
  for (const o of ordered) {
    const c = byUser.get(String(o.entity));
    if (!c) continue;
    c.order += weights.orderBonus;
    // Named by the phase that opened it, so the reason and the phase list agree on the day.
    c.orderWhy.push(
      `${String(o.packed_phase)} (${String(o.packed).slice(0, 16)}, the first of ${PACKAGING.join('/')}) then exfiltration (${String(o.sent).slice(0, 16)}) within ${params.orderDays} days +${weights.orderBonus}`,
    );
  }
  for (const c of byUser.values()) {
    const exfilDays = c.phases.filter((p) => EXFILTRATION.includes(p.phase)).reduce((n, p) => n + p.days, 0);
    if (exfilDays >= 2) {
      c.order += weights.exfilDaysBonus;
      c.orderWhy.push(`exfiltration on ${exfilDays} days +${weights.exfilDaysBonus}`);
    }
  }
  const flags = await ws.query(`SELECT entity, rule_id, rule, CAST(ts AS VARCHAR) AS ts, CAST(details AS VARCHAR) AS details FROM detections
    WHERE entity_type = 'user' AND phase = '${RED_FLAG_PHASE}' ORDER BY entity, ts`);
  for (const f of flags) {
    // The watch list's flag is already the rule's name, its file is provenance: neither is news here.
    const details = f.details
      ? Object.entries(JSON.parse(String(f.details)) as Record<string, unknown>)
          .filter(([k]) => k !== 'file' && k !== 'flag')
          .map(([k, v]) => `${k.replaceAll('_', ' ')} ${String(v).replace(/ 00:00:00$/, '')}`)
          .join(', ')
      : '';
    byUser.get(String(f.entity))?.flags.push(`${f.rule_id} ${String(f.ts).slice(0, 10)}${details ? ` (${details})` : ''}`);
  }
  const p2 = inWindow();
  const evidence = await ws.query(
    `SELECT entity, CAST(ts AS VARCHAR) AS ts, rule, phase, weight, source_table, event_ref FROM (
      SELECT *, row_number() OVER (PARTITION BY entity ORDER BY weight DESC, ts) AS n FROM detections WHERE ${p2.where})
    WHERE n <= 5 ORDER BY entity, n`,
    p2.b.values,
  );
  for (const e of evidence) {
    const c = byUser.get(String(e.entity));
    if (c) c.evidence.push({ ts: e.ts, rule: e.rule, phase: e.phase, weight: e.weight, table: e.source_table, ref: e.event_ref });
  }
}

function story(c: Candidate): string {
  const phases = c.phases.map((p) => `${p.phase} ${p.first.slice(0, 10)}${p.days > 1 ? ` (+${p.days - 1} days)` : ''}`);
  const days = c.days.map((d) => `${d.day} ${d.score}`);
  return [phases.length ? `phases: ${phases.join(' → ')}` : '', days.length ? `days: ${days.join(', ')}` : ''].filter(Boolean).join('; ');
}

function explain(c: Candidate, weights: Omit<InsiderWeights, 'orderDays'>): string[] {
  const out: string[] = [];
  if (c.baseline > 0) out.push(`baseline +${c.baseline}: ${c.days.map((d) => `${d.day} (${d.score}: ${d.what.join(', ')})`).join('; ')}`);
  if (c.risk > 0) out.push(`risk +${c.risk} (highest day risk ${Math.round(c.risk / weights.riskFactor)} / 100 × ${weights.riskFactor})`);
  if (c.population > 0)
    out.push(`population +${Math.round(c.population * 10) / 10}${c.outlier ? ` (in the outlier cluster +${weights.outlierBonus})` : ''}`);
  out.push(...c.orderWhy);
  if (c.phases.length > 0)
    out.push(
      `phases in order: ${c.phases.map((p) => `${p.phase} ${p.first.slice(0, 16)}..${p.last.slice(0, 16)} (${p.rules.slice(0, 3).join(', ')})`).join(' → ')}`,
    );
  for (const kind of new Set(c.flags.map((f) => f.split(' ')[0])))
    out.push(`red flag ${kind} +${weights.redFlagBonus}: ${c.flags.filter((f) => f.startsWith(`${kind} `)).join('; ')}`);
  return out;
}

/** `hunt insider`: the baseline's flags, the order window, and risk and population as the configuration sets them. */
function readInsiderFlags(config: Config, flags: Flags): InsiderOptions {
  if (text(flags, 'user') !== undefined) throw new UsageError('--user is for hunt baseline');
  const baseline = readBaselineFlags(config, flags);
  return {
    baseline,
    risk: riskParams(config, { seed: baseline.seed }),
    population: { k: 'auto', seed: baseline.seed, multipliers: config.population.multipliers },
    orderDays: integer(flags, 'orderDays', '--order-days', config.insider.orderDays, 0, 365),
    weights: config.insider,
    ...timeRange(flags),
    top: integer(flags, 'top', '--top', 20, 1),
  };
}

/**
 * Insider composes the others: baseline's days (its stage is baseline's: the daily matrix), and
 * risk and population as runs of their own (through runHunt).
 */
export const INSIDER: Hunt<InsiderOptions> = {
  name: 'insider',
  columns: INSIDER_COLUMNS,
  params: readInsiderFlags,
  stage: (p, dialect) => baselineStages({ ...p.baseline, since: p.since, until: p.until }, dialect),
  finish: finishInsider,
  thread: (row) => String(row.user),
};

/** One insider run (the library's and the tests' entry; the CLI runs INSIDER itself). */
export async function insiderHunt(ws: Workspace, params: InsiderParams, top = 20): Promise<HuntOutput> {
  return runHunt(ws, INSIDER, { ...params, top });
}
