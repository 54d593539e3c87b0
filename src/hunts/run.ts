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
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
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

/** JSON.stringify of an evidence object, its RawJson values (top level) spliced in as their text. */
function serialise(value: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${v instanceof RawJson ? v.text : JSON.stringify(v)}`);
  }
  return `{${parts.join(',')}}`;
}

export async function startRun(
  ws: Workspace,
  hunt: string,
  parameters: unknown,
  window: { start?: string | null; end?: string | null } = {},
): Promise<{ runId: number; started: number }> {
  const runId = Number(await ws.scalar("SELECT nextval('run_ids')"));
  await ws.run('INSERT INTO hunt_runs VALUES ($1, $2, now()::TIMESTAMP, NULL, $3, CAST($4 AS TIMESTAMP), CAST($5 AS TIMESTAMP), NULL)', [
    runId,
    hunt,
    JSON.stringify(parameters),
    window.start ?? null,
    window.end ?? null,
  ]);
  return { runId, started: performance.now() };
}

export async function finishRun(
  ws: Workspace,
  run: { runId: number; started: number },
  hunt: string,
  rows: readonly ResultRow[],
): Promise<void> {
  // Rows go through one NDJSON file read by DuckDB's JSON reader: a hunt keeps every ranked row
  // (90 k entity-windows at 10 k users × 30 days), and one call per cell through the driver
  // costs seconds where the reader takes a fraction of one.
  const dir = await mkdtemp(join(tmpdir(), 'huntbook-results-'));
  try {
    const file = join(dir, 'results.ndjson');
    const out = createWriteStream(file);
    let batch: string[] = [];
    const flush = async () => {
      if (!out.write(batch.join(''))) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      batch = [];
    };
    for (const r of rows) {
      batch.push(
        `{"rank":${r.rank},"entity_type":${JSON.stringify(r.entityType)},"entity":${JSON.stringify(r.entity)},"score":${r.score === null || !Number.isFinite(r.score) ? 'null' : r.score},` +
          `"features":${JSON.stringify(r.features)},"reasons":${JSON.stringify(r.reasons)},"evidence":${r.evidence ? serialise(r.evidence) : 'null'}}\n`,
      );
      if (batch.length === 5000) await flush();
    }
    await flush();
    out.end();
    await finished(out);
    await ws.transaction(async () => {
      if (rows.length > 0) {
        await ws.run(
          `INSERT INTO results SELECT $1, $2, rank, entity_type, entity, score, features, reasons, evidence
          FROM read_json($3, format = 'newline_delimited', columns = {rank: 'INTEGER', entity_type: 'VARCHAR', entity: 'VARCHAR', score: 'DOUBLE', features: 'JSON', reasons: 'JSON', evidence: 'JSON'},
                         maximum_object_size = 67108864)`,
          [run.runId, hunt, file],
        );
      }
      await ws.run('UPDATE hunt_runs SET seconds = $1, result_count = $2 WHERE run_id = $3', [
        (performance.now() - run.started) / 1000,
        rows.length,
        run.runId,
      ]);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** What a run record says besides its rows: the hunt, what it ran with, over which window, since when. */
export interface RunMeta {
  hunt: string;
  parameters: unknown;
  window?: { start?: string | null; end?: string | null };
  /** performance.now() when the hunt started (the run keeps how long it took). */
  started: number;
}

/**
 * A finished hunt's run record and its ranked rows, written together in one transaction, and only
 * after the hunt has checked its inputs and computed everything: a refused or failed hunt leaves
 * no run behind.
 */
export async function recordRun(ws: Workspace, run: RunMeta & { rows: readonly ResultRow[] }): Promise<number> {
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
  return ws.query(
    `SELECT entity, features FROM (
      SELECT r.entity, r.features, h.window_start, h.window_end,
             row_number() OVER (PARTITION BY r.entity, h.window_start, h.window_end ORDER BY r.run_id DESC) AS latest
        FROM results r JOIN hunt_runs h USING (run_id)
       WHERE r.hunt = $1 AND NOT (h.window_start IS NOT DISTINCT FROM CAST($2 AS TIMESTAMP) AND h.window_end IS NOT DISTINCT FROM CAST($3 AS TIMESTAMP)))
    WHERE latest = 1 ORDER BY window_start, window_end, entity`,
    [hunt, period.start, period.end],
  );
}

/**
 * A run whose ranked rows a hunt made in SQL (a query giving rank, entity, score, features,
 * reasons, evidence): kept without a trip through JS.
 */
export async function recordRunFromQuery(
  ws: Workspace,
  run: RunMeta & { ranked: { query: string; entityType: string; count: number } },
): Promise<number> {
  return ws.transaction(async () => {
    const started = await startRun(ws, run.hunt, run.parameters, run.window);
    await ws.run(
      `INSERT INTO results SELECT $1, $2, rank, $3, entity, score, features, to_json(reasons), evidence FROM (${run.ranked.query})`,
      [started.runId, run.hunt, run.ranked.entityType],
    );
    await ws.run('UPDATE hunt_runs SET seconds = $1, result_count = $2 WHERE run_id = $3', [
      (performance.now() - run.started) / 1000,
      run.ranked.count,
      started.runId,
    ]);
    return started.runId;
  });
}
