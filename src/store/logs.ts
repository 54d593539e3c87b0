/**
 * Where the log tables live: the workspace itself (the default), or a ClickHouse database. A
 * hunt's stage is rendered for the store's dialect and run there; only what it yields lands in
 * the workspace, as a temporary table the finisher reads. The one place that knows the difference.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { duckdb } from './dialect-duckdb.ts';
import type { Dialect } from './dialect.ts';
import { quoteIdent, quoteLiteral, type SqlType } from './schema.ts';
import { render, type Sql } from './sql-template.ts';
import type { Workspace } from './workspace.ts';

/** One stage statement: its result becomes temporary table `table` in the workspace. */
export interface Stage {
  table: string;
  sql: Sql;
  /** The result's columns and types: what a stage run elsewhere lands as (required to run it on ClickHouse). */
  columns?: readonly (readonly [string, SqlType])[];
  /** Runs in the workspace wherever the logs are: it reads what earlier stages landed (a stage run elsewhere sends back arrays; this unrolls them). */
  local?: boolean;
}

export interface LogStore {
  readonly dialect: Dialect;
  /** The dialect a stage is written in for this workspace, when the workspace changes it (files it hides). */
  dialectFor?(ws: Workspace): Promise<Dialect>;
  /** Where the logs are, for messages ("the workspace", "ClickHouse default@host/db"). */
  readonly where: string;
  /** Runs the stage where the logs are and lands its rows in the workspace; returns how many came back. */
  land(ws: Workspace, stage: Stage): Promise<number>;
}

/** The logs are the workspace's own tables: a stage is a temporary table made in place. */
export const WORKSPACE_LOGS: LogStore = {
  dialect: duckdb,
  where: 'the workspace',
  async land(ws, stage) {
    const { text, params } = render(stage.sql, duckdb);
    await ws.run(`CREATE OR REPLACE TEMP TABLE ${quoteIdent(stage.table)} AS ${text}`, params);
    return Number(await ws.scalar(`SELECT count(*) FROM ${quoteIdent(stage.table)}`));
  },
};

/** Lands stages in order: a local one in the workspace, the others where the logs are. */
export async function landStages(ws: Workspace, stages: readonly Stage[], logs: LogStore = WORKSPACE_LOGS): Promise<void> {
  for (const stage of stages) await (stage.local ? WORKSPACE_LOGS : logs).land(ws, stage);
}

/** The dialect a hunt's stages are written in for this workspace and store. */
export async function stageDialect(ws: Workspace, logs: LogStore = WORKSPACE_LOGS): Promise<Dialect> {
  return logs.dialectFor ? logs.dialectFor(ws) : logs.dialect;
}

/** A statement's rows from ClickHouse (JSONEachRow objects). */
export type ClickHouseRunner = (statement: string) => Promise<Record<string, unknown>[]>;
/** The formats ingest sends rows in: text every server reads, Parquet where the writer takes it. */
export type ShipFormat = 'CSV' | 'JSONEachRow' | 'Parquet';
/**
 * Rows into ClickHouse: `into` is the table and its columns as huntbook wrote them (names quoted by
 * it: `db.table (a, b)`), `file` holds the rows in `format`; statement and rows travel apart (a
 * server gets the file as the request body, chdb reads it FROM INFILE), so no row is ever read as SQL.
 */
export type ClickHouseInserter = (into: string, format: ShipFormat, file: string) => Promise<void>;

/**
 * The logs are in ClickHouse: a stage runs there, its rows come back (never more than the stage
 * yields: one per pair or user-day) and land through one NDJSON file, typed by the stage's columns;
 * with `download`, the answer goes to that file as the server streams it, so memory stays flat
 * however many rows come back.
 */
/** A statement's answer, as ClickHouse wrote it (JSONEachRow), streamed into a file: never parsed in JS. */
export type ClickHouseDownload = (statement: string, file: string) => Promise<void>;

export function clickhouseLogs(
  dialect: Dialect,
  run: ClickHouseRunner,
  where: string,
  dialectFor?: LogStore['dialectFor'],
  download?: ClickHouseDownload,
): LogStore {
  /** The answer into `file`: straight from the server when it can stream, else written from the runner's rows. */
  const fetch = async (statement: string, file: string) => {
    if (download) return download(statement, file);
    const out = createWriteStream(file);
    for (const row of await run(statement)) out.write(`${JSON.stringify(row)}\n`);
    out.end();
    await finished(out);
  };
  return {
    dialect,
    where,
    dialectFor,
    async land(ws, stage) {
      if (!stage.columns) throw new Error(`stage ${stage.table} says no columns: it cannot run on ClickHouse`);
      const table = quoteIdent(stage.table);
      await ws.run(`CREATE OR REPLACE TEMP TABLE ${table} (${stage.columns.map(([n, t]) => `${quoteIdent(n)} ${t}`).join(', ')})`);
      const dir = await mkdtemp(join(tmpdir(), 'huntbook-stage-'));
      try {
        const file = join(dir, 'rows.ndjson');
        await fetch(render(stage.sql, dialect).text, file);
        if ((await stat(file)).size === 0) return 0;
        const columns = stage.columns.map(([n, t]) => `${quoteLiteral(n)}: ${quoteLiteral(t)}`).join(', ');
        await ws.run(`INSERT INTO ${table} SELECT * FROM read_json($1, format = 'newline_delimited', columns = {${columns}})`, [file]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      return Number(await ws.scalar(`SELECT count(*) FROM ${table}`));
    },
  };
}
