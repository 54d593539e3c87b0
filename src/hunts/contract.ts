/**
 * The one shape every hunt has, and the one way it runs.
 *
 *   params(config, flags) → P     every parameter, from the configuration in force and the flags
 *                                 (defaults and checks live here only; a bad flag is a usage error)
 *   stage(P, dialect) → stages    the aggregation over raw log tables: the only part of a hunt
 *                                 that reads them, written once in `sql` for any dialect; its
 *                                 results land in the workspace as temporary tables
 *   finish(context, P) → output   models, ranking and reasons over what the stages left (and the
 *                                 workspace's own tables: detections, directory, earlier runs);
 *                                 each ranked list it keeps goes through context.record()
 *   thread(row)                   the triage thread a printed row belongs to
 *
 * runHunt() runs the stages, the finisher and the records, and always drops the staged tables.
 * The stage/finish split is the seam for engines past one machine: a stage can run where the
 * logs are (ClickHouse) and bring back only its aggregate; finish always runs in the workspace.
 */
import type { Config } from '../config.ts';
import type { Flags } from '../model/flags.ts';
import type { Dialect } from '../store/dialect.ts';
import { type LogStore, landStages, type Stage, stageDialect, WORKSPACE_LOGS } from '../store/logs.ts';
import { quoteIdent } from '../store/schema.ts';
import type { Row, Workspace } from '../store/workspace.ts';
import { recordRun, recordRunFromQuery, type ResultRow } from './run.ts';

export interface HuntOutput {
  columns: string[];
  rows: Row[];
  runId: number;
  notes: string[];
}

export type { Stage };

/**
 * Ranked rows a hunt made in SQL: a query over its workspace tables giving rank, entity, score,
 * features (JSON), reasons (VARCHAR[]), evidence (JSON); kept straight from it, never through JS.
 */
export interface ResultQuery {
  query: string;
  entityType: string;
  count: number;
}

/** One run to keep: its window, its ranked rows, and what else the hunt keeps with it (risk's entity history). */
export interface RunRecord {
  window?: { start?: string | null; end?: string | null };
  /** What the run record says it ran with (default: the hunt's parameters). */
  parameters?: unknown;
  results: readonly ResultRow[] | ResultQuery;
  /** Runs inside the run's transaction, with its id. */
  keep?: (runId: number) => Promise<void>;
}

export interface HuntContext {
  ws: Workspace;
  /** Keeps a run (parameters, window, rows) in one transaction; returns its id. */
  record(run: RunRecord): Promise<number>;
}

export interface Hunt<P> {
  /** The name runs are kept under ('beacons.timing', 'risk', ...). */
  readonly name: string;
  /** Every column a printed row may have, in order. */
  readonly columns: readonly string[];
  params(config: Config, flags: Flags): P;
  stage(p: P, dialect: Dialect): Stage[] | Promise<Stage[]>;
  /** false for a hunt with no stage (it reads what the workspace derived): --logs is no business of it. */
  readonly readsLogs?: boolean;
  finish(context: HuntContext, p: P): Promise<HuntOutput>;
  thread(row: Row): string;
}

/** A hunt of any parameter type, as the registry lists them. */
// biome-ignore lint/suspicious/noExplicitAny: a registry of hunts with different parameter types; each is used with its own params() result
export type AnyHunt = Hunt<any>;

/**
 * Runs a hunt: its stages where the logs are (`logs`: the workspace by default, or ClickHouse),
 * landing in the workspace; then its finisher; every ranked list kept through record().
 */
export async function runHunt<P>(ws: Workspace, hunt: Hunt<P>, p: P, logs: LogStore = WORKSPACE_LOGS): Promise<HuntOutput> {
  const started = performance.now();
  const stages = await hunt.stage(p, await stageDialect(ws, logs));
  try {
    await landStages(ws, stages, logs);
    const record = (run: RunRecord) => {
      const kept = { hunt: hunt.name, parameters: run.parameters ?? p, window: run.window, started };
      return ws.transaction(async () => {
        const runId =
          'query' in run.results
            ? await recordRunFromQuery(ws, { ...kept, ranked: run.results })
            : await recordRun(ws, { ...kept, rows: run.results });
        if (run.keep) await run.keep(runId);
        return runId;
      });
    };
    return await hunt.finish({ ws, record }, p);
  } finally {
    for (const stage of stages) await ws.run(`DROP TABLE IF EXISTS ${quoteIdent(stage.table)}`);
  }
}
