/**
 * What `huntbook demo` runs after ingest, in order. Each hunt that lands adds itself here, so the
 * demo always shows every hunt there is.
 */
import type { Row, Workspace } from '../store/workspace.ts';

export interface DemoResult {
  columns: string[];
  rows: Row[];
  notes: string[];
}

export interface DemoHunt {
  title: string;
  run: (ws: Workspace, context: { truth: string }) => Promise<DemoResult>;
}

export const DEMO_HUNTS: DemoHunt[] = [
  {
    title: 'workspace overview: rows per table and the busiest single-user web destinations',
    run: async (ws) => {
      const { columns, rows } = await ws.queryWithColumns(
        `SELECT dest, any_value(src_ip) AS src_ip, count(*) AS requests, count(DISTINCT "user") AS users,
                count(DISTINCT date_trunc('hour', ts)) AS hours_seen
           FROM http GROUP BY dest HAVING count(DISTINCT "user") = 1 ORDER BY hours_seen DESC, requests DESC, dest LIMIT 10`,
      );
      const counts = await ws.query('SELECT target_table, sum(loaded) AS n FROM ingested_files GROUP BY ALL ORDER BY ALL');
      return { columns, rows, notes: [counts.map((r) => `${r.target_table}: ${r.n}`).join(', ')] };
    },
  },
];
