/**
 * bench/rules: every runnable SigmaHQ Windows rule over ≥ 1 M events (the OTRF captures,
 * repeated), events per second, next to one DuckDB scan of the same table that reads every
 * event's JSON (the floor for any rule engine that looks at the data), as a ratio.
 *
 *   npm run bench:rules -- [copies=16]
 */
import { join, resolve } from 'node:path';
import { rmSync } from 'node:fs';
import { ingest } from '../src/ingest/ingest.ts';
import { planRules, runRules } from '../src/rules/engine.ts';
import { loadSigma } from '../src/rules/sigma/load.ts';
import { Workspace } from '../src/store/workspace.ts';

const copies = Number(process.argv[2] ?? 16);
const data = resolve(process.cwd(), '..', 'shared', 'data');
const db = join(process.cwd(), '.bench', 'rules.duckdb');
rmSync(db, { force: true });
const ws = await Workspace.open(db);
await ingest(ws, [join(data, 'windows', 'otrf-atomic', 'windows')]);
const base = Number(await ws.scalar('SELECT count(*) FROM events'));
for (let i = 1; i < copies; i++) await ws.run('INSERT INTO events SELECT * FROM events WHERE file_id IS NOT NULL LIMIT $1', [base]);
const events = Number(await ws.scalar('SELECT count(*) FROM events'));
const { rules } = await loadSigma(join(data, 'sigma', 'sigma-rules.tar.gz'));
const windows = rules.filter((r) => r.logsource?.product?.toLowerCase() === 'windows');
const { planned } = planRules(windows);
const t0 = performance.now();
await ws.scalar('SELECT count(*), sum(length(CAST(raw AS VARCHAR))), count(DISTINCT json_extract_string(raw, \'$.Image\')) FROM events');
const scan = (performance.now() - t0) / 1000;
const report = await runRules(ws, planned.map((p) => p.rule));
const detections = Number(await ws.scalar('SELECT count(*) FROM detections'));
ws.close();
console.log(JSON.stringify({
  bench: 'rules', events, windows_rules: windows.length, rules_run: report.rules, scans: report.groups, rules_s: +report.seconds.toFixed(2),
  events_per_s: Math.round(events / report.seconds), one_scan_s: +scan.toFixed(3), ratio_rules_over_one_scan: +(report.seconds / scan).toFixed(1),
  detections, peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
}));
