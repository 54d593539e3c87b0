/**
 * Every hunt run is recorded with its parameters, and its ranked rows are kept with their
 * features, reasons and evidence, so behaviour can be followed across runs (the seed kept its
 * beacon metadata in MySQL for the same reason).
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

export async function startRun(ws: Workspace, hunt: string, parameters: unknown, window: { start?: string | null; end?: string | null } = {}): Promise<{ runId: number; started: number }> {
  const runId = Number(await ws.scalar("SELECT nextval('run_ids')"));
  await ws.run('INSERT INTO hunt_runs VALUES ($1, $2, now()::TIMESTAMP, NULL, $3, CAST($4 AS TIMESTAMP), CAST($5 AS TIMESTAMP), NULL)', [
    runId, hunt, JSON.stringify(parameters), window.start ?? null, window.end ?? null,
  ]);
  return { runId, started: performance.now() };
}

export async function finishRun(ws: Workspace, run: { runId: number; started: number }, hunt: string, rows: readonly ResultRow[]): Promise<void> {
  await ws.transaction(async () => {
    const batch = rows.map((r) => [run.runId, hunt, r.rank, r.entityType, r.entity, r.score, JSON.stringify(r.features), JSON.stringify(r.reasons), r.evidence ? JSON.stringify(r.evidence) : null]);
    for (let i = 0; i < batch.length; i += 500) {
      const chunk = batch.slice(i, i + 500);
      const placeholders = chunk.map((_, k) => `(${Array.from({ length: 9 }, (_, c) => `$${k * 9 + c + 1}`).join(', ')})`).join(', ');
      await ws.run(`INSERT INTO results VALUES ${placeholders}`, chunk.flat());
    }
    await ws.run('UPDATE hunt_runs SET seconds = $1, result_count = $2 WHERE run_id = $3', [(performance.now() - run.started) / 1000, rows.length, run.runId]);
  });
}

/** Feature rows of earlier runs of a hunt (the population an outlier model compares against). */
export async function previousFeatures(ws: Workspace, hunt: string, beforeRun: number): Promise<Row[]> {
  return ws.query('SELECT entity, features FROM results WHERE hunt = $1 AND run_id < $2', [hunt, beforeRun]);
}
