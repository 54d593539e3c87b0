/**
 * bench/ingest: rows/s of `huntbook ingest` on a large Zeek conn log next to DuckDB's raw
 * read_csv of the same file into a table, measured in the same run (alternating, median of N).
 *
 *   npm run bench:ingest -- [rows=5000000] [repeat=3]
 *
 * The baseline is the physical limit of the approach: one CREATE TABLE AS over read_csv with
 * auto-detected types, no mapping, no reject accounting, no hash, no registry.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { generate } from '../src/generate/generate.ts';
import { ingest } from '../src/ingest/ingest.ts';
import { Workspace } from '../src/store/workspace.ts';

const rows = Number(process.argv[2] ?? 5_000_000);
const repeat = Number(process.argv[3] ?? 3);
const dir = join(process.cwd(), '.bench', 'ingest');
const big = join(dir, `conn-${rows}.log`);

function buildLog(): void {
  if (existsSync(big)) return;
  mkdirSync(dir, { recursive: true });
  const seedDir = join(dir, 'seed');
  generate({ seed: 1, users: 300, days: 7, out: seedDir });
  const lines = readFileSync(join(seedDir, 'conn.log'), 'utf8').split('\n');
  const header = lines.filter((l) => l.startsWith('#') && !l.startsWith('#close'));
  const data = lines.filter((l) => l !== '' && !l.startsWith('#'));
  const fd = openSync(big, 'w');
  writeSync(fd, `${header.join('\n')}\n`);
  const week = 7 * 86400;
  let written = 0;
  for (let round = 0; written < rows; round++) {
    const chunk: string[] = [];
    for (const line of data) {
      if (written >= rows) break;
      const tab = line.indexOf('\t');
      chunk.push(`${(Number(line.slice(0, tab)) + round * week).toFixed(6)}${line.slice(tab)}`);
      written++;
    }
    writeSync(fd, `${chunk.join('\n')}\n`);
  }
  writeSync(fd, '#close\t2026-02-01-00-00-00\n');
  closeSync(fd);
}

async function baseline(): Promise<number> {
  const db = join(dir, 'baseline.duckdb');
  rmSync(db, { force: true });
  const instance = await DuckDBInstance.create(db);
  const connection = await instance.connect();
  const started = performance.now();
  await connection.run(
    `CREATE TABLE raw AS SELECT * FROM read_csv('${big}', delim='\t', header=false, skip=8, nullstr='-', ignore_errors=true)`,
  );
  const seconds = (performance.now() - started) / 1000;
  const count = Number((await connection.runAndReadAll('SELECT count(*) FROM raw')).getRows()[0][0]);
  connection.closeSync();
  instance.closeSync();
  if (count !== rows) throw new Error(`baseline loaded ${count} rows, expected ${rows}`);
  return seconds;
}

async function huntbook(): Promise<number> {
  const db = join(dir, 'huntbook.duckdb');
  rmSync(db, { force: true });
  const ws = await Workspace.open(db);
  const started = performance.now();
  const [report] = await ingest(ws, [big]);
  const seconds = (performance.now() - started) / 1000;
  ws.close();
  if (report.loaded !== rows || report.rejected !== 0)
    throw new Error(`huntbook loaded ${report.loaded}, rejected ${report.rejected}: ${report.message}`);
  return seconds;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

buildLog();
const size = statSync(big).size;
console.log(`file: ${big} (${rows} rows, ${(size / 1e6).toFixed(0)} MB)`);
const base: number[] = [];
const ours: number[] = [];
for (let i = 0; i < repeat; i++) {
  base.push(await baseline());
  ours.push(await huntbook());
  console.log(`run ${i + 1}: read_csv ${base[i].toFixed(2)} s, huntbook ingest ${ours[i].toFixed(2)} s`);
}
const b = median(base);
const o = median(ours);
console.log(
  JSON.stringify({
    bench: 'ingest',
    rows,
    mb: Math.round(size / 1e6),
    read_csv_s: +b.toFixed(2),
    read_csv_rows_per_s: Math.round(rows / b),
    huntbook_s: +o.toFixed(2),
    huntbook_rows_per_s: Math.round(rows / o),
    ratio_huntbook_over_read_csv_speed: +(b / o).toFixed(2),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
