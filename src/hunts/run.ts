/**
 * The one way a hunt runs and is kept. Every hunt (beacons in each mode, risk, population, and
 * the hunts to come) has the same shape:
 *
 *   (workspace, params) → HuntOutput { columns, rows, runId, notes } for the view, and
 *                         ResultRow[] { rank, entity, score, features, reasons[], evidence } kept
 *
 * and the same order: check the inputs (a refused hunt throws and records nothing), compute
 * everything (SQL features, models), then recordRun() writes the run with its parameters and
 * window and every ranked row in one transaction; a hunt with more to keep (risk's entity
 * history) writes it inside that transaction too. Reasons stay arrays until printed. The
 * workbench lists and shows runs from these two tables alone (the seed kept its beacon metadata
 * in MySQL for the same reason: to follow behaviour across runs).
 */
import type { Row, Workspace } from '../store/workspace.ts';

export interface ResultRow {
  rank: number;
  entityType: string;
  entity: string;
  score: number | null;
  features: Record<string, unknown>;
  reasons: string[];
  evidence?: Record<string, unknown>;
}

/**
 * JSON text made in SQL that a result keeps as it is (evidence of many rows): stored without a
 * parse and a second serialisation in JS.
 */
export class RawJson {
  constructor(readonly text: string) {}
  toJSON(): unknown {
    return JSON.parse(this.text) as unknown;
  }
}

export function rawJson(text: string): RawJson {
  return new RawJson(text);
}

/** JSON.stringify, with RawJson values spliced in as their text. */
function serialise(value: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_key, v: unknown) => (v instanceof RawJson ? `\u0000raw${raws.push(v.text) - 1}\u0000` : v));
  return raws.length === 0 ? text : text.replace(/"\\u0000raw(\d+)\\u0000"/g, (_m, i: string) => raws[Number(i)]);
}

export async function startRun(ws: Workspace, hunt: string, parameters: unknown, window: { start?: string | null; end?: string | null } = {}): Promise<{ runId: number; started: number }> {
  const runId = Number(await ws.scalar("SELECT nextval('run_ids')"));
  await ws.run('INSERT INTO hunt_runs VALUES ($1, $2, now()::TIMESTAMP, NULL, $3, CAST($4 AS TIMESTAMP), CAST($5 AS TIMESTAMP), NULL)', [
    runId, hunt, JSON.stringify(parameters), window.start ?? null, window.end ?? null,
  ]);
  return { runId, started: performance.now() };
}

export async function finishRun(ws: Workspace, run: { runId: number; started: number }, hunt: string, rows: readonly ResultRow[]): Promise<void> {
  await ws.transaction(async () => {
    // Through the appender: hundreds of thousands of entity-windows are kept in a second or two.
    await ws.append('results', rows.map((r) => [run.runId, hunt, r.rank, r.entityType, r.entity, r.score, JSON.stringify(r.features), JSON.stringify(r.reasons), r.evidence ? serialise(r.evidence) : null]));
    await ws.run('UPDATE hunt_runs SET seconds = $1, result_count = $2 WHERE run_id = $3', [(performance.now() - run.started) / 1000, rows.length, run.runId]);
  });
}

/**
 * A finished hunt's run record and its ranked rows, written together in one transaction, and only
 * after the hunt has checked its inputs and computed everything: a refused or failed hunt leaves
 * no run behind.
 */
export async function recordRun(ws: Workspace, run: { hunt: string; parameters: unknown; window?: { start?: string | null; end?: string | null }; started: number; rows: readonly ResultRow[] }): Promise<number> {
  return ws.transaction(async () => {
    const started = await startRun(ws, run.hunt, run.parameters, run.window);
    await finishRun(ws, { runId: started.runId, started: run.started }, run.hunt, run.rows);
    return started.runId;
  });
}

/**
 * Feature rows of earlier runs of a hunt (the population an outlier model compares against):
 * one row per entity per period, from the latest run over that period. The current period is
 * left out (this run supersedes it), so running again on unchanged data finds the same history
 * and ranks the same way.
 */
export async function previousFeatures(ws: Workspace, hunt: string, period: { start: string | null; end: string | null }): Promise<Row[]> {
  return ws.query(`SELECT entity, features FROM (
      SELECT r.entity, r.features, h.window_start, h.window_end,
             row_number() OVER (PARTITION BY r.entity, h.window_start, h.window_end ORDER BY r.run_id DESC) AS latest
        FROM results r JOIN hunt_runs h USING (run_id)
       WHERE r.hunt = $1 AND NOT (h.window_start IS NOT DISTINCT FROM CAST($2 AS TIMESTAMP) AND h.window_end IS NOT DISTINCT FROM CAST($3 AS TIMESTAMP)))
    WHERE latest = 1 ORDER BY window_start, window_end, entity`, [hunt, period.start, period.end]);
}
