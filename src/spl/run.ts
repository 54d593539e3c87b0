/**
 * `huntbook spl`: a search parsed, translated and run over the workspace (read-only, files out of
 * reach: the same sandbox as `huntbook sql`); rows as Splunk gives them, every value as text, a
 * multivalue field as a list (one value: that value).
 */
import type { Row, Workspace } from '../store/workspace.ts';
import { parsePipeline } from './parse.ts';
import { type SplOptions, translate } from './translate.ts';

export interface SplResult {
  columns: string[];
  rows: Row[];
  /** Fields the search named that exist nowhere (null, as in Splunk). */
  warnings: string[];
  /** The statement it ran, with its values. */
  sql: { text: string; values: unknown[] };
}

/** The statement a search runs as, without running it (--explain). */
export function explainSpl(text: string, options: SplOptions): SplResult['sql'] & { fields: string[]; warnings: string[] } {
  const translation = translate(text, parsePipeline(text), options);
  return { text: translation.text, values: translation.values, fields: translation.fields, warnings: translation.warnings };
}

export async function runSpl(ws: Workspace, text: string, options: SplOptions): Promise<SplResult> {
  const translation = translate(text, parsePipeline(text), options);
  const rows = await ws.query(translation.text, translation.values);
  for (const row of rows) {
    for (const [key, value] of Object.entries(row)) if (Array.isArray(value) && value.length === 1) row[key] = value[0];
  }
  return {
    columns: translation.fields,
    rows,
    warnings: translation.warnings,
    sql: { text: translation.text, values: translation.values },
  };
}
