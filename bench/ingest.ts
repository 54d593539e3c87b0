/**
 * bench/ingest: `huntbook ingest` of each common format next to DuckDB's own reader of the same
 * file into a plain table in a database file (the work ingest cannot avoid: read, parse, store),
 * measured in the same run, alternating, median of N.
 *
 *   npm run bench:ingest -- [rows=5000000] [repeat=3] [formats=proxy-csv,zeek-tsv,zeek-json,ndjson]
 *
 * Formats (all built from the same generated rows, so only the encoding differs):
 *   - proxy-csv: the peers' generated web-proxy CSV, ISO 8601 `_time` (shared/peers/gen_proxy.py);
 *   - zeek-tsv:  a Zeek conn.log in TSV with its header, epoch times;
 *   - zeek-json: the same conn rows as Zeek JSON (one object a line, dotted names, epoch ts);
 *   - ndjson:    the proxy rows as generic NDJSON (a SIEM export: CIM names, ISO times).
 *
 * The baseline is the physical limit of the approach: one CREATE TABLE AS over read_csv /
 * read_json with auto-detected types, no mapping, no reject accounting, no record keys, no registry.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { generate } from '../src/generate/generate.ts';
import { ingest } from '../src/ingest/ingest.ts';
import { Workspace } from '../src/store/workspace.ts';

const rows = Number(process.argv[2] ?? 5_000_000);
const repeat = Number(process.argv[3] ?? 3);
const chosen = (process.argv[4] ?? 'proxy-csv,zeek-tsv,zeek-json,ndjson').split(',');
const root = resolve(import.meta.dirname, '..');
const dir = join(root, '.bench', 'ingest');
mkdirSync(dir, { recursive: true });
const lit = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** A Zeek conn.log of `rows` rows: the generator's week of conn rows repeated, a week later each round. */
function zeekTsv(): string {
  const big = join(dir, `conn-${rows}.log`);
  if (existsSync(big)) return big;
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
  return big;
}

function proxyCsv(): string {
  const shared = join(root, '.bench', 'beacons', `proxy-${rows}.csv`);
  if (existsSync(shared)) return shared;
  const own = join(dir, `proxy-${rows}.csv`);
  if (existsSync(own)) return own;
  const peers = resolve(root, '..', 'shared', 'peers', 'gen_proxy.py');
  const out = spawnSync('/usr/bin/python3', [peers, '--rows', String(rows), '--seed', '1', '--out', own], { stdio: 'inherit' });
  if (out.status !== 0) throw new Error('gen_proxy.py failed');
  return own;
}

/** Another encoding of a file, written by DuckDB (COPY … (FORMAT json) writes one object a line). */
async function convert(from: string, to: string, select: string): Promise<string> {
  if (existsSync(to)) return to;
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  await connection.run(`COPY (${select.replace('$FILE', lit(from))}) TO ${lit(`${to}.part`)} (FORMAT json)`);
  connection.closeSync();
  instance.closeSync();
  spawnSync('mv', [`${to}.part`, to]);
  return to;
}

interface Format {
  name: string;
  file: () => Promise<string>;
  /** DuckDB's own reader of the file, auto-detecting types. */
  reader: (file: string) => string;
}

const zeekRead = (file: string) => `read_csv(${lit(file)}, delim='\t', header=false, skip=8, nullstr='-', ignore_errors=true)`;
const FORMATS: Format[] = [
  { name: 'proxy-csv', file: async () => proxyCsv(), reader: (file) => `read_csv(${lit(file)})` },
  { name: 'zeek-tsv', file: async () => zeekTsv(), reader: zeekRead },
  {
    name: 'zeek-json',
    file: () =>
      convert(
        zeekTsv(),
        join(dir, `conn-${rows}.json`),
        `SELECT * EXCLUDE (tunnel_parents) FROM read_csv($FILE, delim='\t', header=false, nullstr=['-', '(empty)'],
          names=['ts','uid','id.orig_h','id.orig_p','id.resp_h','id.resp_p','proto','service','duration','orig_bytes','resp_bytes',
                 'conn_state','local_orig','local_resp','missed_bytes','history','orig_pkts','orig_ip_bytes','resp_pkts','resp_ip_bytes',
                 'tunnel_parents'], comment='#')`,
      ),
    reader: (file) => `read_json(${lit(file)}, format='newline_delimited')`,
  },
  {
    name: 'ndjson',
    file: async () => convert(proxyCsv(), join(dir, `proxy-${rows}.ndjson`), `SELECT * FROM read_csv($FILE, all_varchar=true)`),
    reader: (file) => `read_json(${lit(file)}, format='newline_delimited')`,
  },
];

/** Wall and CPU seconds (all threads of this process: DuckDB's workers and the hashing pass alike). */
interface Timing {
  seconds: number;
  cpu: number;
}
const clock = () => ({ wall: performance.now(), cpu: process.cpuUsage() });
const since = (start: ReturnType<typeof clock>): Timing => {
  const used = process.cpuUsage(start.cpu);
  return { seconds: (performance.now() - start.wall) / 1000, cpu: (used.user + used.system) / 1e6 };
};

async function baseline(format: Format, file: string): Promise<Timing> {
  const db = join(dir, 'baseline.duckdb');
  rmSync(db, { force: true });
  const instance = await DuckDBInstance.create(db);
  const connection = await instance.connect();
  const started = clock();
  await connection.run(`CREATE TABLE raw AS SELECT * FROM ${format.reader(file)}`);
  await connection.run('CHECKPOINT');
  const timing = since(started);
  const count = Number((await connection.runAndReadAll('SELECT count(*) FROM raw')).getRows()[0][0]);
  connection.closeSync();
  instance.closeSync();
  rmSync(db, { force: true });
  if (count !== rows) throw new Error(`${format.name}: the baseline loaded ${count} rows, expected ${rows}`);
  return timing;
}

async function huntbook(format: Format, file: string): Promise<Timing> {
  const db = join(dir, 'huntbook.duckdb');
  rmSync(db, { force: true });
  const ws = await Workspace.open(db);
  const started = clock();
  const [report] = await ingest(ws, [file]);
  const timing = since(started);
  ws.close();
  rmSync(db, { force: true });
  if (report.loaded !== rows || report.rejected !== 0)
    throw new Error(`${format.name}: huntbook loaded ${report.loaded}, rejected ${report.rejected}: ${report.message}`);
  return timing;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const results: Record<string, unknown>[] = [];
for (const format of FORMATS.filter((f) => chosen.includes(f.name))) {
  const file = await format.file();
  const mb = Math.round(statSync(file).size / 1e6);
  const base: Timing[] = [];
  const ours: Timing[] = [];
  for (let i = 0; i < repeat; i++) {
    base.push(await baseline(format, file));
    ours.push(await huntbook(format, file));
    console.log(
      `${format.name} run ${i + 1}: DuckDB reader ${base[i].seconds.toFixed(2)} s (CPU ${base[i].cpu.toFixed(2)} s), huntbook ingest ${ours[i].seconds.toFixed(2)} s (CPU ${ours[i].cpu.toFixed(2)} s)`,
    );
  }
  const b = median(base.map((t) => t.seconds));
  const o = median(ours.map((t) => t.seconds));
  // On a machine whose cores are all busy, wall time follows CPU time: the CPU ratio says how much
  // more work ingest does than the reader, whatever the noise of the wall clock.
  const bCpu = median(base.map((t) => t.cpu));
  const oCpu = median(ours.map((t) => t.cpu));
  const row = {
    format: format.name,
    rows,
    mb,
    reader_s: +b.toFixed(2),
    huntbook_s: +o.toFixed(2),
    huntbook_rows_per_s: Math.round(rows / o),
    ratio: +(o / b).toFixed(2),
    reader_cpu_s: +bCpu.toFixed(2),
    huntbook_cpu_s: +oCpu.toFixed(2),
    cpu_ratio: +(oCpu / bCpu).toFixed(2),
  };
  results.push(row);
  console.log(
    `${format.name.padEnd(10)} ${mb} MB  reader ${b.toFixed(2)} s  huntbook ${o.toFixed(2)} s  ratio ${row.ratio}× (goal ≤ 1.3×); CPU ${bCpu.toFixed(2)} s vs ${oCpu.toFixed(2)} s = ${row.cpu_ratio}×`,
  );
}
console.log(JSON.stringify({ bench: 'ingest', results, peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) }));
