/**
 * bench/rules: every runnable SigmaHQ Windows rule over the OTRF captures repeated to ≥ 1 M
 * events (each copy on its own hosts and days, so detections do not collapse), events per
 * second and the rule run's own peak memory, next to one DuckDB scan of the same table that reads
 * every event's JSON (the floor for any engine that looks at the data), as a ratio.
 *
 *   npm run bench:rules -- [copies=16] [--build-only]   # 16 copies ≈ 1.06 M events, 160 ≈ 10.6 M
 *
 * The workspace is built once per copy count (.bench/rules-<copies>.duckdb) and the rules run in
 * a child process, so its peak RSS is the engine's, not the build's.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ingest } from '../src/ingest/ingest.ts';
import { planRules, RULES_MEMORY_LIMIT, runRules } from '../src/rules/engine.ts';
import { loadSigma } from '../src/rules/sigma/load.ts';
import { Workspace } from '../src/store/workspace.ts';

const data = resolve(process.cwd(), '..', 'shared', 'data');

async function build(copies: number, db: string): Promise<void> {
  const tmp = `${db}.building`;
  rmSync(tmp, { force: true });
  const ws = await Workspace.open(tmp);
  await ingest(ws, [join(data, 'windows', 'otrf-atomic', 'windows')]);
  const base = Number(await ws.scalar('SELECT count(*) FROM events'));
  // Copy i: the captures again, i days later, on hosts renamed "<host>-c<i>".
  await ws.run('CREATE TEMP TABLE base AS SELECT * FROM events');
  for (let i = 1; i < copies; i++) {
    await ws.run(
      `INSERT INTO events SELECT * REPLACE (ts + INTERVAL (${i}) DAY AS ts, host || '-c${i}' AS host, nextval('record_ids') AS rec) FROM base`,
    );
    if (i % 20 === 0) process.stderr.write(`built ${((i + 1) * base).toLocaleString('en-US')} events\n`);
  }
  await ws.run('DROP TABLE base');
  ws.close();
  execFileSync('mv', [tmp, db]);
}

async function runChild(db: string): Promise<void> {
  const ws = await Workspace.open(db);
  // The floor scan runs under the same memory limit as the rules (else it alone fills DuckDB's cache).
  await ws.run(`SET memory_limit = '${process.env.HB_MEM ?? RULES_MEMORY_LIMIT}'`);
  await ws.run('DELETE FROM detections');
  const events = Number(await ws.scalar('SELECT count(*) FROM events'));
  const { rules } = await loadSigma(join(data, 'sigma', 'sigma-rules.tar.gz'));
  const windows = rules.filter((r) => r.logsource?.product?.toLowerCase() === 'windows');
  const { planned } = planRules(windows);
  const rssBefore = Math.round(process.memoryUsage().rss / 1048576);
  const t0 = performance.now();
  await ws.scalar("SELECT count(*), sum(length(CAST(raw AS VARCHAR))), count(DISTINCT json_extract_string(raw, '$.Image')) FROM events");
  const scan = (performance.now() - t0) / 1000;
  let last = 0;
  const report = await runRules(
    ws,
    planned.map((p) => p.rule),
    {
      memoryLimit: process.env.HB_MEM,
      onProgress: ({ eventsDone, eventsTotal }) => {
        const now = performance.now();
        if (now - last > 30_000) {
          last = now;
          process.stderr.write(`  ${Math.round((100 * eventsDone) / eventsTotal)}% of ${eventsTotal.toLocaleString('en-US')} events\n`);
        }
      },
    },
  );
  const detections = Number(await ws.scalar('SELECT count(*) FROM detections'));
  ws.close();
  console.log(
    JSON.stringify({
      bench: 'rules',
      events,
      windows_rules: windows.length,
      rules_run: report.rules,
      sources: report.groups,
      rules_s: +report.seconds.toFixed(2),
      events_per_s: Math.round(events / report.seconds),
      one_scan_s: +scan.toFixed(3),
      ratio_rules_over_one_scan: +(report.seconds / scan).toFixed(1),
      candidate_pairs: report.candidates,
      detections,
      rss_with_rules_loaded_mb: rssBefore,
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    }),
  );
}

if (process.argv[2] === '--run') await runChild(process.argv[3]);
else {
  const copies = Number(process.argv[2] ?? 16);
  const db = join(process.cwd(), '.bench', `rules-${copies}.duckdb`);
  if (!existsSync(db)) await build(copies, db);
  if (!process.argv.includes('--build-only'))
    execFileSync(process.execPath, ['--import', 'tsx', 'bench/rules.ts', '--run', db], { stdio: 'inherit' });
}
