/**
 * bench/clickhouse: the scored beacon hunt with the logs in ClickHouse (chdb, ClickHouse 26 in
 * this process) next to the same hunt on the workspace, on the same generated proxy rows
 * (shared/peers/gen_proxy.py), in one run: seconds for each, rows the stage read vs rows it sent
 * back to the workspace, and whether the ranked rows are identical.
 *
 *   npm run bench:clickhouse -- [rows=2000000]
 * Needs chdb (npm install --no-save chdb) and Debian's python3 for the generator.
 * Not yet here (issue 25): the timing hunt, the two-shard server cluster, the 10 M-row memory curve.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defaultConfig } from '../src/config.ts';
import { runHunt } from '../src/hunts/contract.ts';
import { SCORED } from '../src/hunts/registry.ts';
import { ingest } from '../src/ingest/ingest.ts';
import { clickhouseTables } from '../src/store/clickhouse-ddl.ts';
import { clickhouseFor } from '../src/store/dialect-clickhouse.ts';
import { type ClickHouseRunner, clickhouseLogs, type LogStore, type Stage } from '../src/store/logs.ts';
import { CANONICAL_COLUMNS } from '../src/store/schema.ts';
import { Workspace } from '../src/store/workspace.ts';

const rows = Number(process.argv[2] ?? 2_000_000);
const root = process.cwd();
const dir = join(root, '.bench', 'clickhouse');
mkdirSync(dir, { recursive: true });
const csv = join(root, '.bench', 'beacons', `proxy-${rows}.csv`);
if (!existsSync(csv)) {
  mkdirSync(join(root, '.bench', 'beacons'), { recursive: true });
  console.log(`generating ${rows} rows with peers/gen_proxy.py ...`);
  execFileSync('/usr/bin/python3', [
    resolve(root, '..', 'shared', 'peers', 'gen_proxy.py'),
    '--rows',
    String(rows),
    '--seed',
    '1',
    '--out',
    csv,
  ]);
}
const chdb = (await import('chdb' as string)) as { query: (q: string, format: string) => string };
/** Seconds in ClickHouse itself, and in reading its answer, for the last hunt. */
const spent = { query: 0, parse: 0 };
const run: ClickHouseRunner = async (statement) => {
  const t0 = performance.now();
  const text = chdb.query(statement, 'JSONEachRow');
  const t1 = performance.now();
  const rows = text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  spent.query += (t1 - t0) / 1000;
  spent.parse += (performance.now() - t1) / 1000;
  return rows;
};

const db = join(dir, 'w.duckdb');
rmSync(db, { force: true });
rmSync(`${db}.wal`, { force: true });
const ws = await Workspace.open(db);
let t = performance.now();
await ingest(ws, [csv]);
const ingestS = (performance.now() - t) / 1000;
await ws.run("UPDATE http SET ts = date_trunc('second', ts)"); // ClickHouse keeps whole seconds: both sides alike

// The same rows into ClickHouse, through a Parquet file (chdb reads it directly).
const parquet = join(dir, 'http.parquet');
const columns = ['file_id', 'rec', ...CANONICAL_COLUMNS.http.map((c) => c.name), 'extra'];
await ws.run(
  `COPY (SELECT ${columns.map((c) => (c === 'extra' ? 'CAST(extra AS VARCHAR) AS extra' : `"${c}"`)).join(', ')} FROM http) TO '${parquet}' (FORMAT PARQUET)`,
);
for (const statement of clickhouseTables({ database: 'hb_bench' })) await run(statement);
await run('TRUNCATE TABLE hb_bench.http');
t = performance.now();
chdb.query(`INSERT INTO hb_bench.http SELECT ${columns.map((c) => `\`${c}\``).join(', ')} FROM file('${parquet}', Parquet)`, 'CSV');
const loadS = (performance.now() - t) / 1000;

/** A store that counts what each stage sent back. */
function counting(inner: LogStore, returned: Record<string, number>): LogStore {
  return { ...inner, land: async (w: Workspace, stage: Stage) => (returned[stage.table] = await inner.land(w, stage)) };
}

const params = SCORED.params(defaultConfig(), { all: true });
const alone = async (logs?: LogStore) => {
  spent.query = 0;
  spent.parse = 0;
  await ws.run('DELETE FROM results');
  await ws.run('DELETE FROM hunt_runs');
  const started = performance.now();
  const out = await runHunt(ws, SCORED, params, logs);
  return { out, seconds: (performance.now() - started) / 1000 };
};
const duck = await alone();
const returned: Record<string, number> = {};
const ch = await alone(counting(clickhouseLogs(clickhouseFor('hb_bench'), run, 'chdb'), returned));
const duck2 = await alone();
const ch2 = await alone(counting(clickhouseLogs(clickhouseFor('hb_bench'), run, 'chdb'), returned));
const inClickHouse = { ...spent };
const scanned = Number(await ws.scalar('SELECT count(*) FROM http'));
const pairs = Number(await ws.scalar('SELECT count(DISTINCT (src_ip, dest)) FROM http'));
ws.close();
const best = (a: number, b: number) => Math.min(a, b);
const result = {
  bench: 'clickhouse',
  rows,
  ingest_workspace_s: +ingestS.toFixed(3),
  load_chdb_s: +loadS.toFixed(3),
  scored_duckdb_s: +best(duck.seconds, duck2.seconds).toFixed(3),
  scored_chdb_s: +best(ch.seconds, ch2.seconds).toFixed(3),
  chdb_stage_query_s: +inClickHouse.query.toFixed(3),
  chdb_answer_parse_s: +inClickHouse.parse.toFixed(3),
  ratio_chdb_vs_duckdb: +(best(ch.seconds, ch2.seconds) / best(duck.seconds, duck2.seconds)).toFixed(2),
  rows_scanned: scanned,
  rows_returned: returned,
  src_dest_pairs: pairs,
  identical_ranked_rows: JSON.stringify(duck.out.rows) === JSON.stringify(ch.out.rows),
  scored_pairs: duck.out.rows.length,
  peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
};
console.log(
  `scored hunt on ${rows} proxy rows: DuckDB ${result.scored_duckdb_s} s, chdb ${result.scored_chdb_s} s (${result.ratio_chdb_vs_duckdb}×); ` +
    `stage read ${scanned} rows, sent back ${JSON.stringify(returned)} (pairs: ${pairs}); identical: ${result.identical_ranked_rows}`,
);
console.log(JSON.stringify(result));
