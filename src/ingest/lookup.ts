/**
 * `ingest FILE.csv --as lookup:NAME`: a CSV a hunter keeps (assets, users, known-good
 * destinations) as the table lookup_NAME, every column text, for SPL's lookup and inputlookup.
 * Loading it again replaces it. Every data line is a row (read = loaded); a line the CSV reader
 * cannot read fails the file, naming the line.
 */
import { InputError, UsageError } from '../errors.ts';
import { quoteIdent } from '../store/schema.ts';
import type { Workspace } from '../store/workspace.ts';
import type { FileReport } from './ingest.ts';

/** lookup:NAME → NAME (lower case letters, digits, underscores), or undefined when --as names no lookup. */
export function lookupName(as: string | undefined): string | undefined {
  if (!as?.toLowerCase().startsWith('lookup:')) return undefined;
  const name = as.slice('lookup:'.length).toLowerCase();
  if (!/^[a-z][a-z0-9_]{0,62}$/.test(name))
    throw new UsageError(`--as lookup:NAME: "${name}" is not a name (letters, digits, _; a letter first)`);
  return name;
}

/** The table a lookup lives in. */
export const lookupTable = (name: string) => `lookup_${name}`;

export async function ingestLookup(ws: Workspace, path: string, name: string): Promise<FileReport> {
  const started = performance.now();
  const table = lookupTable(name);
  const source = `read_csv($1, header = true, all_varchar = true, strict_mode = true, sample_size = -1)`;
  let read: number;
  try {
    read = Number(await ws.scalar(`SELECT count(*) FROM ${source}`, [path]));
    await ws.transaction(async () => {
      await ws.run(`CREATE OR REPLACE TABLE ${quoteIdent(table)} AS SELECT * FROM ${source}`, [path]);
    });
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new InputError(`cannot be read as a CSV lookup: ${message}`, { location: { file: path }, cause: error });
  }
  const loaded = Number(await ws.scalar(`SELECT count(*) FROM ${quoteIdent(table)}`));
  return {
    path,
    status: 'loaded',
    format: 'csv',
    table,
    read,
    loaded,
    rejected: read - loaded,
    seconds: (performance.now() - started) / 1000,
    rejects: [],
  };
}
