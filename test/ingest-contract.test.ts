/**
 * The reader contract: every ingest format passes the same suite. Each case is a small file of
 * good records with one bad record at a known line; every reader must account for every record
 * (read = loaded + rejected), refuse the bad one with its line and field, land it whole, load the
 * same content only once, and keep nothing of a file whose every record is refused.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ingest } from '../src/ingest/ingest.ts';
import type { Format } from '../src/ingest/detect.ts';
import { openWorkspace, tempDir } from './helpers.ts';

interface Case {
  format: Format;
  file: string;
  table: string;
  /** The file: header lines, then records; `bad` replaces record `badIndex`. */
  header: string[];
  records: string[];
  bad: string;
  badIndex: number;
  /** Field the bad record is refused for (null: the whole record). */
  field: string | null;
  /** Line numbers apply (line-oriented formats); JSON documents name the record instead. */
  lines: boolean;
  /** Lines after the records (a JSON array's closing bracket). */
  trailer?: string[];
}

const zeekHeader = [
  '#separator \\x09',
  '#set_separator\t,',
  '#empty_field\t(empty)',
  '#unset_field\t-',
  '#path\tconn',
  '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\torig_bytes',
  '#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tcount',
];
const times = (n: number) => Array.from({ length: n }, (_, i) => 1_709_542_800 + i * 60);

const CASES: Case[] = [
  {
    format: 'zeek',
    file: 'conn.log',
    table: 'flows',
    header: zeekHeader,
    lines: true,
    field: 'orig_bytes',
    badIndex: 2,
    records: times(5).map((t, i) => `${t}.000001\tC${i}\t10.0.0.1\t${4000 + i}\t198.51.100.1\t443\ttcp\t${100 + i}`),
    bad: `${times(3)[2]}.5\tCbad\t10.0.0.1\t4002\t198.51.100.1\t443\ttcp\tmany`,
  },
  {
    format: 'zeek-json',
    file: 'conn.json',
    table: 'flows',
    header: [],
    lines: true,
    field: 'ts',
    badIndex: 1,
    records: times(5).map((t, i) =>
      JSON.stringify({
        ts: t,
        uid: `C${i}`,
        'id.orig_h': '10.0.0.1',
        'id.orig_p': 4000 + i,
        'id.resp_h': '198.51.100.1',
        'id.resp_p': 443,
        proto: 'tcp',
      }),
    ),
    bad: JSON.stringify({
      ts: 'yesterday',
      uid: 'Cbad',
      'id.orig_h': '10.0.0.1',
      'id.orig_p': 1,
      'id.resp_h': '198.51.100.1',
      'id.resp_p': 443,
    }),
  },
  {
    format: 'csv',
    file: 'proxy.csv',
    table: 'http',
    header: ['_time,src_ip,dest,url,bytes_out'],
    lines: true,
    field: 'bytes_out',
    badIndex: 3,
    records: times(5).map((t, i) => `${t},10.0.0.2,a.example,/p${i},${i}`),
    bad: `${times(4)[3]},10.0.0.2,a.example,/bad,lots`,
  },
  {
    format: 'ndjson',
    file: 'flows.ndjson',
    table: 'flows',
    header: [],
    lines: true,
    field: 'dest_port',
    badIndex: 0,
    records: times(5).map((t, i) =>
      JSON.stringify({ timestamp: t, src_ip: '10.0.0.3', dest_ip: '198.51.100.2', dest_port: 443, bytes_out: i }),
    ),
    bad: JSON.stringify({ timestamp: times(1)[0], src_ip: '10.0.0.3', dest_ip: '198.51.100.2', dest_port: 'https', bytes_out: 1 }),
  },
  {
    format: 'windows',
    file: 'sysmon.ndjson',
    table: 'events',
    header: [],
    lines: true,
    field: null,
    badIndex: 4,
    records: times(5).map((t, i) =>
      JSON.stringify({
        '@timestamp': new Date(t * 1000).toISOString(),
        EventID: 1,
        Channel: 'Microsoft-Windows-Sysmon/Operational',
        Hostname: 'ws1',
        Image: `C:\\x${i}.exe`,
      }),
    ),
    bad: '{"@timestamp": "2024-03-04T09:04:00Z", "EventID": 1, "Channel": broken json',
  },
  {
    // A JSON document (an array of objects): records have no lines of their own; the reject names the record.
    format: 'json',
    file: 'export.json',
    table: 'flows',
    header: ['['],
    lines: false,
    field: 'dest_port',
    badIndex: 1,
    records: times(5).map(
      (t, i) =>
        `${JSON.stringify({ timestamp: t, src_ip: '10.0.0.4', dest_ip: '198.51.100.3', dest_port: 443, bytes_out: i })}${i < 4 ? ',' : ''}`,
    ),
    bad: `${JSON.stringify({ timestamp: times(2)[1], src_ip: '10.0.0.4', dest_ip: '198.51.100.3', dest_port: 'https', bytes_out: 1 })},`,
    trailer: [']'],
  },
  {
    format: 'cert',
    file: 'logon.csv',
    table: 'activity',
    header: ['id,date,user,pc,activity'],
    lines: true,
    field: 'date',
    badIndex: 2,
    records: times(5).map((_t, i) => `{L${i}},01/0${i + 2}/2010 07:11:45,DTAA/alice,PC-1,Logon`),
    bad: '{Lbad},not a date,DTAA/alice,PC-1,Logon',
  },
];

function write(dir: string, c: Case, records: string[], gzip = false): string {
  const path = join(dir, gzip ? `${c.file}.gz` : c.file);
  const text = `${[...c.header, ...records, ...(c.trailer ?? [])].join('\n')}\n`;
  writeFileSync(path, gzip ? gzipSync(text) : text);
  return path;
}

for (const c of CASES) {
  test(`reader contract: ${c.format} (${c.file} → ${c.table})`, async (t) => {
    const dir = tempDir(t);
    const ws = await openWorkspace(t, dir);
    const records = c.records.map((r, i) => (i === c.badIndex ? c.bad : r));
    for (const gzip of [false, true]) {
      const path = write(dir, c, records, gzip);
      const [report] = await ingest(ws, [path], { force: true });
      assert.equal(report.status, 'loaded', `${path}: ${report.message}`);
      assert.equal(report.format, c.format);
      assert.equal(report.table, c.table);
      // Every record accounted for, the bad one refused with its line and field.
      assert.deepEqual([report.read, report.loaded, report.rejected], [5, 4, 1], JSON.stringify(report.rejects));
      const [reject] = report.rejects;
      if (c.lines) assert.equal(reject.line, c.header.length + c.badIndex + 1, JSON.stringify(reject));
      else assert.match(reject.reason, new RegExp(`^record ${c.badIndex + 1}: `), JSON.stringify(reject));
      if (c.field) assert.equal(reject.field, c.field, JSON.stringify(reject));
      assert.equal(
        Number(await ws.scalar(`SELECT count(*) FROM ${c.table} t JOIN ingested_files USING (file_id) WHERE path = $1`, [path])),
        4,
      );
      assert.equal(
        Number(await ws.scalar('SELECT count(*) FROM rejects WHERE path = $1', [path])),
        1,
        'the reject is kept in the workspace',
      );
      // The same content again is a no-op.
      const [again] = await ingest(ws, [path]);
      assert.equal(again.status, 'skipped');
      assert.match(again.message ?? '', /already ingested/);
    }
    // A file whose every record is refused fails and leaves nothing behind.
    const before = Number(await ws.scalar(`SELECT count(*) FROM ${c.table}`));
    const allBad = join(dir, `bad-${c.file}`);
    writeFileSync(allBad, `${[...c.header, c.bad, c.trailer ? c.bad.replace(/,$/, '') : c.bad, ...(c.trailer ?? [])].join('\n')}\n`);
    const [failed] = await ingest(ws, [allBad]);
    assert.equal(failed.status, 'failed', JSON.stringify(failed));
    assert.equal(Number(await ws.scalar(`SELECT count(*) FROM ${c.table}`)), before);
    assert.equal(Number(await ws.scalar('SELECT count(*) FROM ingested_files WHERE path = $1', [allBad])), 0);
  });
}

test('JSON lines: record keys follow the file and two loads of it number it alike (no INSERT sorts for it)', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'order.ndjson');
  // Enough lines for DuckDB to convert them on several threads.
  const lines = Array.from({ length: 300_000 }, (_, n) =>
    JSON.stringify({ _time: '2024-01-01T00:00:00Z', src_ip: '10.0.0.1', dest: 'a.example', url: '/x', n }),
  );
  lines[7] = 'not json';
  writeFileSync(file, `${lines.join('\n')}\n`);
  const keys: string[] = [];
  for (const name of ['a', 'b']) {
    mkdirSync(join(dir, name));
    const ws = await openWorkspace(t, join(dir, name));
    const [report] = await ingest(ws, [file]);
    assert.equal(report.loaded, 299_999, JSON.stringify({ ...report, rejects: undefined }));
    const [row] = await ws.query(
      `SELECT count(*) FILTER (WHERE by_key <> by_line) AS out_of_place, min(rec) AS lo FROM (
         SELECT rec, row_number() OVER (ORDER BY rec) AS by_key,
                row_number() OVER (ORDER BY CAST(json_extract_string(extra, '$.n') AS BIGINT)) AS by_line FROM http)`,
    );
    assert.equal(Number(row.out_of_place), 0);
    keys.push(String(row.lo));
  }
  assert.equal(keys[0], keys[1]);
});

test('JSON lines: every key of every record is kept when the file has more kinds of record than the survey numbers', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'kinds.ndjson');
  // 40 key lists: the survey numbers at most 16 it finds in a sample; the rest are grouped by the list itself.
  const lines = Array.from({ length: 4000 }, (_, n) =>
    JSON.stringify({
      _time: '2024-01-01T00:00:00Z',
      src_ip: '10.0.0.1',
      dest: 'a.example',
      url: '/x',
      [`k${String(n % 40).padStart(2, '0')}`]: n,
    }),
  );
  lines.push(JSON.stringify({ _time: '2024-01-01T00:00:01Z', src_ip: '10.0.0.2', dest: 'b.example', url: '/y', only_here: 'last line' }));
  writeFileSync(file, `${lines.join('\n')}\n`);
  const ws = await openWorkspace(t, dir);
  const [report] = await ingest(ws, [file]);
  assert.equal(report.loaded, 4001, JSON.stringify({ ...report, rejects: report.rejects.slice(0, 3) }));
  const keys = await ws.query('SELECT k, count(*) AS n FROM (SELECT unnest(json_keys(extra)) AS k FROM http) GROUP BY k ORDER BY k');
  assert.deepEqual(
    keys.map((row) => [row.k, Number(row.n)]),
    [...Array.from({ length: 40 }, (_, i) => [`k${String(i).padStart(2, '0')}`, 100]), ['only_here', 1]],
  );
  const [last] = await ws.query("SELECT src_ip, json_extract_string(extra, '$.only_here') AS v FROM http WHERE dest = 'b.example'");
  assert.deepEqual({ ...last }, { src_ip: '10.0.0.2', v: 'last line' });
});

test('JSON lines: blank and refused lines take no other file its record keys', async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  const row = (n: number) => JSON.stringify({ _time: '2024-01-01T00:00:00Z', src_ip: '10.0.0.1', dest: 'a.example', url: `/${n}` });
  writeFileSync(join(dir, 'a.ndjson'), `${row(1)}\n\n\n{bad\n${row(2)}\n\n${row(3)}\n`);
  writeFileSync(join(dir, 'b.ndjson'), `${row(4)}\n${row(5)}\n${row(6)}\n`);
  const reports = await ingest(ws, [join(dir, 'a.ndjson'), join(dir, 'b.ndjson')]);
  assert.deepEqual(
    reports.map((r) => [r.read, r.loaded, r.rejected]),
    [
      [4, 3, 1],
      [3, 3, 0],
    ],
  );
  assert.deepEqual(
    reports[0].rejects.map((r) => [r.line, r.reason]),
    [[4, 'not valid JSON']],
  );
  const [keys] = await ws.query('SELECT count(*) AS n, count(DISTINCT rec) AS distinct_keys FROM http');
  assert.deepEqual([Number(keys.n), Number(keys.distinct_keys)], [6, 6]);
  const order = await ws.query('SELECT url FROM http ORDER BY rec');
  assert.deepEqual(
    order.map((r) => r.url),
    ['/1', '/2', '/3', '/4', '/5', '/6'],
  );
});

test('JSON lines: an empty object is a record with no values, even as the first line the survey samples', async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  const file = join(dir, 'empty.ndjson');
  writeFileSync(file, `{}\n${JSON.stringify({ _time: '2024-01-01T00:00:00Z', src_ip: '10.0.0.1', dest: 'a.example', url: '/a' })}\n{}\n`);
  const [report] = await ingest(ws, [file]);
  assert.deepEqual([report.status, report.read, report.loaded, report.rejected], ['loaded', 3, 3, 0]);
  const rows = await ws.query('SELECT url FROM http ORDER BY rec');
  assert.deepEqual(
    rows.map((r) => r.url),
    [null, '/a', null],
  );
});

test('JSON lines: a refused value names its field as the file spells it, colon and all, and says what it should have been', async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  const file = join(dir, 'proxy.ndjson');
  const row = (sent: unknown) =>
    JSON.stringify({ _time: '2024-01-01T00:00:00Z', src_ip: '10.0.0.1', dest: 'a.example', 'sent:bytes': sent });
  writeFileSync(file, `${[row(12), row('lots'), row(13)].join('\n')}\n`);
  const [report] = await ingest(ws, [file], { table: 'http', map: 'bytes_out=sent:bytes' });
  assert.deepEqual([report.status, report.read, report.loaded, report.rejected], ['loaded', 3, 2, 1]);
  assert.deepEqual(
    report.rejects.map((r) => [r.line, r.field, r.reason]),
    [[2, 'sent:bytes', 'cannot read "lots" as a whole number']],
  );
});
