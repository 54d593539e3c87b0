/**
 * One measured huntbook run for bench/beacons.ts, in its own process so that its peak memory is
 * its own: ingest a proxy CSV into a fresh workspace, run the scored beacon hunt, dump features.
 *   tsx bench/beacons-stage.ts CSV WORKSPACE JOIN DUMP [both|ingest|hunt]
 * "ingest" and "hunt" measure the two steps in separate processes, as `huntbook ingest` and
 * `huntbook hunt beacons` run them.
 */
import { rmSync } from 'node:fs';
import { defaultScored } from '../src/hunts/beacons/params.ts';
import { SCORED_COLUMNS, scoredSql } from '../src/hunts/beacons/scored.ts';
import { scoredHunt } from '../src/hunts/beacons/seed-hunts.ts';
import { ingest } from '../src/ingest/ingest.ts';
import { Workspace } from '../src/store/workspace.ts';

const [csv, db, join, dump, step = 'both'] = process.argv.slice(2);
if (step !== 'hunt') {
  rmSync(db, { force: true });
  rmSync(`${db}.wal`, { force: true });
}
const ws = await Workspace.open(db);
// Optional cap on DuckDB's buffer pool (e.g. 1.5GB): cached table pages are evicted before a query spills.
if (process.env.HUNTBOOK_MEMORY_LIMIT)
  await ws.run(`SET memory_limit = '${process.env.HUNTBOOK_MEMORY_LIMIT.replace(/[^0-9A-Za-z.%]/g, '')}'`);
const t0 = performance.now();
const report =
  step === 'hunt'
    ? { loaded: Number(await ws.scalar('SELECT count(*) FROM http')), status: 'loaded', rejected: 0, message: '' }
    : (await ingest(ws, [csv]))[0];
if (report.status !== 'loaded' || report.rejected !== 0) throw new Error(`ingest: ${report.status} ${report.message}`);
const t1 = performance.now();
if (step === 'ingest') {
  ws.close();
  console.log(
    JSON.stringify({
      step,
      rows: report.loaded,
      ingest_s: +((t1 - t0) / 1000).toFixed(3),
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    }),
  );
  process.exit(0);
}
const params = { ...defaultScored(), join: join as 'dest' | 'splunk' };
// The feature stage alone (what the peers' DuckDB statement does), then the whole hunt.
const { sql, params: values } = scoredSql({ table: 'http' }, params);
await ws.run(`CREATE OR REPLACE TEMP TABLE feats AS ${sql}`, values);
const t2 = performance.now();
const hunt = await scoredHunt(ws, { table: 'http', params, model: 'iforest', topFraction: 0.003, seed: 0, all: true });
const t3 = performance.now();
await ws.run(`COPY (SELECT ${SCORED_COLUMNS.join(', ')} FROM feats) TO '${dump.replaceAll("'", "''")}' (HEADER, DELIMITER ',')`);
ws.close();
console.log(
  JSON.stringify({
    step,
    rows: report.loaded,
    ingest_s: +((t1 - t0) / 1000).toFixed(3),
    features_s: +((t2 - t1) / 1000).toFixed(3),
    hunt_s: +((t3 - t2) / 1000).toFixed(3),
    scored_pairs: hunt.rows.length,
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
