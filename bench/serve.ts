/**
 * bench/serve: the workbench's API on a workspace of ROWS flow rows (default 10 M) plus a month of
 * detections for 10,000 users and a hunt risk run over them (90 k ranked rows): every page's API
 * calls timed (median of 3), the slowest printed. Baseline in the same run: the time to count the
 * flow rows, so slow disks and busy machines show in the ratio.
 *
 *   npm run bench:serve -- [rows=10000000]
 */
import { join } from 'node:path';
import { mkdirSync, rmSync } from 'node:fs';
import { defaultRisk, riskHunt } from '../src/hunts/risk/risk.ts';
import { Workspace } from '../src/store/workspace.ts';
import { createApp } from '../src/workbench/server.ts';
import { setTriage } from '../src/workbench/triage.ts';

const rows = Number(process.argv[2] ?? 10_000_000);
const dir = join(process.cwd(), '.bench');
mkdirSync(dir, { recursive: true });
const db = join(dir, 'serve.duckdb');
rmSync(db, { force: true });
rmSync(`${db}.wal`, { force: true });
let started = performance.now();
const ws = await Workspace.open(db);
await ws.run(`INSERT INTO flows (ts, uid, src_ip, src_port, dest_ip, dest_port, proto, service, duration, bytes_out, bytes_in, pkts_out, pkts_in, ip_bytes_out, ip_bytes_in, conn_state, "user", file_id, extra)
  SELECT TIMESTAMP '2026-01-01' + to_microseconds((i * 259)::BIGINT), 'C' || i, '10.0.' || (i % 250) || '.' || (i % 200), 50000, '93.184.' || (i % 97) || '.' || (i % 13), 443,
    'tcp', 'ssl', 0.5, 300 + i % 700, 1000, 3, 3, 400, 1200, 'SF', NULL, 1, NULL FROM range(${rows}) t(i)`);
await ws.run("UPDATE flows SET rec = nextval('record_ids') WHERE rec IS NULL"); // as ingest keys every row
const PHASES = ['discovery', 'collection', 'packaging', 'obfuscation', 'exfiltration', 'motive', 'execution', 'persistence'];
await ws.run(`INSERT INTO detections
  WITH ud AS (SELECT u, d, hash(u * 7919 + d) AS h FROM range(10000) a(u), range(30) b(d)),
  hits AS (SELECT u, d, h, unnest(range(1 + (h % 4)::INTEGER)) AS k FROM ud WHERE h % 10 < 3),
  r AS (SELECT u, d, k, hash(h + k) AS x FROM hits)
  SELECT TIMESTAMP '2026-01-01' + to_days(d::INTEGER) + to_seconds((x % 86400)::INTEGER), 'R' || (x % 40), 'rule <b>' || (x % 40),
    [${PHASES.map((p) => `'${p}'`).join(', ')}][1 + ((x % 40) % 8)::INTEGER], 5 + (x % 40) * 2.4, 'user', 'user' || u, 'events', '1:' || row_number() OVER (), NULL, NULL FROM r`);
const risk = await riskHunt(ws, defaultRisk(), 1);
const [top] = await ws.query('SELECT entity FROM results WHERE run_id = $1 AND rank = 1', [risk.runId]);
await setTriage(ws, 'risk', String(top.entity), 'watch', { note: 'bench' });
let t = performance.now();
const flows = Number(await ws.scalar('SELECT count(*) FROM flows'));
const countSeconds = (performance.now() - t) / 1000;
ws.close();
console.log(`workspace ready in ${((performance.now() - started) / 1000).toFixed(1)} s: ${flows} flows, run ${risk.runId}`);

const app = createApp({ db, host: '127.0.0.1', port: 8484 });
const calls: Record<string, string[]> = {
  overview: ['/api/runs', '/api/threads?per_hunt=5', '/api/queue?limit=25', '/api/queue?limit=25&offset=25000&q=user4'],
  'run page': [`/api/runs/${risk.runId}?sort=rank`, `/api/runs/${risk.runId}?sort=score&desc=1`, `/api/runs/${risk.runId}?q=user42`],
  'entity page': [
    `/api/entity/user/${encodeURIComponent(String(top.entity))}`,
    `/api/chart/entity/user/${encodeURIComponent(String(top.entity))}`,
  ],
  graph: ['/api/graph?days=7'],
};
const results: { page: string; path: string; seconds: number; status: number }[] = [];
for (const [page, paths] of Object.entries(calls)) {
  for (const path of paths) {
    const times: number[] = [];
    let status = 0;
    for (let i = 0; i < 3; i++) {
      t = performance.now();
      const response = await app.request(path, { headers: { host: '127.0.0.1:8484' } });
      await response.arrayBuffer();
      status = response.status;
      times.push((performance.now() - t) / 1000);
    }
    results.push({ page, path, seconds: times.sort((a, b) => a - b)[1], status });
    console.log(`${page.padEnd(12)} ${path.padEnd(50)} ${status} ${times[1].toFixed(3)} s`);
  }
}
const pages = Object.keys(calls).map((page) => ({
  page,
  seconds: results.filter((r) => r.page === page).reduce((s, r) => s + r.seconds, 0),
}));
const slowest = results.reduce((a, b) => (b.seconds > a.seconds ? b : a));
started = 0;
console.log(
  JSON.stringify({
    bench: 'serve',
    flows,
    results_rows: Number(risk.notes[0].split(' ')[0]),
    count_flows_s: +countSeconds.toFixed(3),
    slowest_call: slowest.path,
    slowest_call_s: +slowest.seconds.toFixed(3),
    slowest_page: pages.reduce((a, b) => (b.seconds > a.seconds ? b : a)),
    all_ok: results.every((r) => r.status === 200),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
