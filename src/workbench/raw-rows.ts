/**
 * The workbench reads a few raw log rows by key (who is behind a beacon's source address, a pair's
 * first and last time, a detection's own row) from the workspace's tables. Rows ingest sent on to
 * ClickHouse are not there: this says so, where those lookups come back blank, instead of leaving
 * a hunter to guess why.
 */
import type { Workspace } from '../store/workspace.ts';

export async function rawRowsElsewhere(ws: Workspace): Promise<string | undefined> {
  const kept = await ws.query(
    "SELECT logs, count(*) AS files FROM clickhouse_files WHERE state = 'stored' AND rows > 0 GROUP BY logs ORDER BY logs",
  );
  if (kept.length === 0) return undefined;
  const files = kept.reduce((n, r) => n + Number(r.files), 0);
  return `the raw rows of ${files} file${files === 1 ? '' : 's'} are in ClickHouse (${kept.map((r) => String(r.logs)).join(', ')}), not here: who is behind a beacon's source, a pair's first and last time and a detection's own row are looked up in the workspace's rows, so they are blank for ${files === 1 ? 'it' : 'those'} (huntbook threads --logs counts who is behind a source there)`;
}
