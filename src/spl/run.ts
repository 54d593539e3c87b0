/**
 * `huntbook spl`: a search parsed, translated and run over the workspace (read-only, files out of
 * reach: the same sandbox as `huntbook sql`); rows as Splunk gives them, every value as text, a
 * multivalue field as a list (one value: that value).
 */
import { quoteIdent } from '../store/schema.ts';
import type { Row, Workspace } from '../store/workspace.ts';
import type { Pipeline } from './ast.ts';
import { parsePipeline } from './parse.ts';
import { SplError } from './parse.ts';
import { type SplOptions, type Translation, translate } from './translate.ts';
import { PivotNeeded, type Series } from './translator.ts';

export interface SplResult {
  columns: string[];
  rows: Row[];
  /** Rows past maxRows, left out. */
  more: number;
  /** Fields the search named that exist nowhere (null, as in Splunk). */
  warnings: string[];
  /** The statement it ran, with its values. */
  sql: { text: string; values: unknown[] };
}

/**
 * The statement a search runs as (--explain; runSpl runs it). A command whose columns come from
 * the data (timechart … by) asks the workspace first; without one it cannot be written.
 */
export async function explainSpl(ws: Workspace | undefined, text: string, options: SplOptions): Promise<Translation> {
  const pipeline = parsePipeline(text);
  const lookups = ws ? await lookupsOf(ws, pipeline) : options.lookups;
  const pivots: Record<number, Series> = { ...options.pivots };
  for (;;) {
    try {
      return translate(text, pipeline, { ...options, lookups, pivots });
    } catch (error) {
      if (!(error instanceof PivotNeeded)) throw error;
      if (!ws || pivots[error.at]) throw new SplError(text, error.at, 'timechart … by reads its series from the workspace: give --db');
      const rows = await ws.query(error.text, error.values);
      pivots[error.at] = {
        ranked: rows.filter((r) => r.s !== null).map((r) => String(r.s)),
        hasNull: rows.some((r) => r.s === null),
      };
    }
  }
}

/** The lookups a pipeline names (lookup NAME, | inputlookup NAME), anywhere in it. */
function lookupNames(pipeline: Pipeline): string[] {
  const names: string[] = [];
  for (const command of pipeline.commands) {
    if ((command.name === 'lookup' || command.name === 'inputlookup') && command.args[0]) names.push(command.args[0].value.toLowerCase());
    for (const sub of command.subsearches) names.push(...lookupNames(sub));
  }
  return names;
}

/** The workspace's lookups a pipeline uses, with their columns (those not there are left out: the translator says so). */
async function lookupsOf(ws: Workspace, pipeline: Pipeline): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const name of new Set(lookupNames(pipeline))) {
    const rows = await ws.query(
      "SELECT column_name FROM duckdb_columns() WHERE table_name = $1 AND schema_name = 'main' ORDER BY column_index",
      [`lookup_${name}`],
    );
    if (rows.length > 0) out[name] = rows.map((r) => String(r.column_name));
  }
  return out;
}

/**
 * Runs a search. With `maxRows`, at most that many rows come back (the rest are counted, not
 * held: a search without stats over a day of proxy logs is millions of events, which would not
 * fit in memory as objects); `more` says how many were left out.
 */
export async function runSpl(ws: Workspace, text: string, options: SplOptions & { maxRows?: number }): Promise<SplResult> {
  const translation = await explainSpl(ws, text, options);
  const limit = options.maxRows;
  const rows =
    limit === undefined || limit <= 0
      ? await ws.query(translation.text, translation.values)
      : await ws.query(`${translation.text} LIMIT ${Math.floor(limit) + 1}`, translation.values);
  let more = 0;
  if (limit !== undefined && limit > 0 && rows.length > limit) {
    rows.length = limit;
    more = Number(await ws.scalar(`SELECT count(*) - ${Math.floor(limit)} FROM (${translation.text})`, translation.values));
  }
  for (const row of rows) {
    for (const [key, value] of Object.entries(row)) if (Array.isArray(value) && value.length === 1) row[key] = value[0];
  }
  // A field read from the events' JSON that no event has is one that exists nowhere (said, as a missing column is).
  const nowhere: string[] = [];
  for (const name of translation.fromExtra.fields) {
    let found = false;
    for (const [table, column] of translation.fromExtra.sources) {
      const hit = await ws.query(`SELECT 1 FROM ${quoteIdent(table)} WHERE json_exists(${quoteIdent(column)}, $1) LIMIT 1`, [
        `$.${JSON.stringify(name)}`,
      ]);
      if (hit.length > 0) {
        found = true;
        break;
      }
    }
    if (!found) nowhere.push(name);
  }
  return {
    columns: translation.fields,
    rows,
    more,
    warnings: [...new Set([...translation.warnings, ...nowhere])].sort(),
    sql: { text: translation.text, values: translation.values },
  };
}
