/**
 * Logs as other sensors and exports write them: a log shipper's Zeek JSON in a zip, Zeek's own
 * TSV and JSON of the same traffic, files named for people rather than for parsers, and the odd
 * cell that must cost one row, not the file.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { strToU8, zipSync } from 'fflate';
import { ingest } from '../src/ingest/ingest.ts';
import { Workspace } from '../src/store/workspace.ts';
import { cli, FIXTURES, openWorkspace, tempDir, testData } from './helpers.ts';

test("a shipper's Zeek JSON in a zip (@stream, @system, underscore keys): every log lands in its own table, never by the archive's name", async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'w.duckdb');
  const result = await cli('ingest', testData('zeek-shipper', 'conn-export.zip'), '--db', db);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  // The per-file summary says where each record went.
  assert.match(
    result.stdout,
    /kafka-zeek\.ndjson → flows 3, dns 2, zeek_files 1, http 1, zeek_pe 1, tls 1, zeek_stats 1, zeek_x509 1 \(zeek-json\): read 11, loaded 11, rejected 0/,
  );
  assert.match(result.stdout, /!export\/weird\.log → zeek_weird \(zeek-json\): read 2, loaded 2/);
  assert.match(result.stdout, /!export\/files\.json → zeek_files \(zeek-json\): read 1, loaded 1/);
  const ws = await Workspace.open(db);
  t.after(() => ws.close());
  const [conn] =
    await ws.query(`SELECT ts, src_ip, dest_ip, dest_port, proto, ip_bytes_out, extra->>'@system' AS sensor, extra->'tunnel_parents' AS tp, extra->>'@stream' AS stream
    FROM flows WHERE uid = 'CAcx1a2'`);
  assert.deepEqual(conn, {
    ts: '2024-03-04 09:00:00.123456',
    src_ip: '10.20.0.5',
    dest_ip: '203.0.113.10',
    dest_port: 443,
    proto: 'tcp',
    ip_bytes_out: 985,
    sensor: 'sensor-dmz-1',
    tp: '[]',
    stream: null,
  });
  assert.deepEqual(await ws.query('SELECT query, qtype, rcode, answers, ttls FROM dns ORDER BY ts'), [
    { query: 'update.example.net', qtype: 'A', rcode: 'NOERROR', answers: ['203.0.113.10', '203.0.113.11'], ttls: [300, 300] },
    { query: 'nxdomain-7f3a.example', qtype: 'TXT', rcode: 'NXDOMAIN', answers: null, ttls: null },
  ]);
  assert.equal(await ws.scalar("SELECT server_name FROM tls WHERE uid = 'CAcx1a2'"), 'update.example.net');
  assert.equal(await ws.scalar('SELECT count(*) FROM zeek_weird'), 2);
  assert.equal(
    await ws.scalar("SELECT count(*) FROM flows f JOIN ingested_files i USING (file_id) WHERE i.path LIKE '%conn-export.zip'"),
    3,
    'weird.log did not land in flows',
  );
  assert.deepEqual(
    (await ws.query('SELECT member FROM ingested_files ORDER BY file_id')).map((r) => r.member),
    ['export/kafka-zeek.ndjson', 'export/weird.log', 'export/files.json'],
  );
});

test('the same Zeek log gives the same rows and the same extra as TSV or JSON, plain or zipped', async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  const tsv = testData('zeek', 'wrccdc2018', 'zeek-default', 'ssl.log.gz');
  const json = testData('zeek', 'wrccdc2018', 'zeek-json', 'ssl.json.gz');
  const zip = join(dir, 'both.zip');
  writeFileSync(
    zip,
    zipSync({ 'a/ssl.log': gunzipSync(readFileSync(tsv)), 'b/ssl.json': strToU8(gunzipSync(readFileSync(json)).toString()) }),
  );
  const reports = await ingest(ws, [tsv, json, zip]);
  assert.deepEqual(
    reports.map((r) => [r.status, r.table, r.loaded, r.rejected]),
    [
      ['loaded', 'tls', 1500, 0],
      ['loaded', 'tls', 1500, 0],
      ['loaded', 'tls', 1500, 0],
      ['loaded', 'tls', 1500, 0],
    ],
  );
  // JSON's writer adds _write_ts (when the record was written), which a TSV log does not carry.
  const rows =
    await ws.query(`SELECT i.file_id, list(struct_pack(ts, uid, src_ip, src_port, dest_ip, dest_port, server_name, version, cipher, established,
      extra := json_merge_patch(t.extra, '{"_write_ts": null}')) ORDER BY ts, uid) AS r
    FROM tls t JOIN ingested_files i USING (file_id) GROUP BY i.file_id ORDER BY i.file_id`);
  assert.equal(rows.length, 4);
  const parsed = rows.map((row) => (row.r as { extra: string }[]).map((r) => ({ ...r, extra: JSON.parse(r.extra) as unknown })));
  for (const other of parsed.slice(1)) assert.deepEqual(other, parsed[0]);
  assert.deepEqual(parsed[0][0].extra, {
    curve: 'secp256r1',
    resumed: false,
    ssl_history: 'CsxknGIi',
    validation_status: 'unable to get local issuer certificate',
    cert_chain_fps: ['b2dafbcdbc75210672f137f27ce882ccb799887631655d4f11191d5a678e44fe'],
    client_cert_chain_fps: [],
  });
});

test('a folder is read by content: a Zeek log named conn.txt loads; every file not loaded is named with the reason', async (t) => {
  const dir = tempDir(t);
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  copyFileSync(join(FIXTURES, 'zeek', 'conn-remcos-excerpt.log'), join(logs, 'conn.txt'));
  writeFileSync(join(logs, 'LICENSE.csv'), 'name,licence\nhuntbook,Apache-2.0\n');
  writeFileSync(join(logs, 'README.md'), '# notes\nthese are the logs of case 42\n');
  const result = await cli('ingest', logs, '--db', join(dir, 'w.duckdb'));
  assert.equal(result.code, 0, result.stdout);
  assert.match(result.stdout, /conn\.txt → flows \(zeek\): read 12, loaded 12/);
  assert.match(
    result.stdout,
    /LICENSE\.csv: not loaded: .*LICENSE\.csv:1: cannot tell which table these columns belong to \(name, licence\)/,
  );
  assert.match(result.stdout, /README\.md: not loaded: unknown format/);
});

test('one odd cell costs its row, never the file: quoted newlines, bare CRs, impossible Zeek times, AM/PM times', async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  const csv = join(dir, 'proxy.csv');
  writeFileSync(
    csv,
    [
      '_time,src_ip,dest,url,bytes_out,note', // 1
      '2024-03-04T09:00:00Z,10.0.0.1,a.example,/,1,"one',
      'line two"', // 2-3: a quoted newline is data
      '2024-03-04T09:01:00Z,10.0.0.1,a.example,/,2,plain', // 4
      '2024-03-04T09:02:00Z,10.0.0.1,a.example,/,3,cr\rinside', // 5: a bare CR
      '2024-03-04T09:03:00Z,10.0.0.1,a.example,/,x,bad number', // 6
      '2024-03-04T09:05:00Z,10.0.0.1,a.example,/,5,ok', // 7
    ].join('\n'),
  );
  const header = [
    '#separator \\x09',
    '#set_separator\t,',
    '#empty_field\t(empty)',
    '#unset_field\t-',
    '#path\tconn',
    '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto',
    '#types\ttime\tstring\taddr\tport\taddr\tport\tenum',
  ];
  const conn = join(dir, 'conn.log');
  writeFileSync(
    conn,
    `${[...header, ...['1700000000.1', '1e20', 'nan', 'inf', '-inf', '1700000001.123456'].map((ts, i) => `${ts}\tC${i}\t10.0.0.1\t1\t8.8.8.8\t53\tudp`)].join('\n')}\n`,
  );
  const us = join(dir, 'us.csv');
  writeFileSync(
    us,
    'time,src_ip,dest_ip,bytes_out\n3/4/2024 9:00:00 AM,10.0.0.1,8.8.8.8,1\n3/14/2024 1:00:00 PM,10.0.0.1,8.8.8.8,1\n3/15/2024 11:59:59 PM,10.0.0.1,8.8.8.8,1\n',
  );
  const [a, b, c] = await ingest(ws, [csv, conn, us]);
  assert.deepEqual([a.status, a.read, a.loaded, a.rejected], ['loaded', 5, 3, 2]);
  assert.deepEqual(
    a.rejects.map((r) => [r.line, r.field, r.reason.split(':')[0]]),
    [
      [5, null, 'carriage return (CR) inside an unquoted value'],
      [6, 'bytes_out', 'cannot read "x" as a whole number'],
    ],
  );
  assert.equal(await ws.scalar("SELECT extra->>'note' FROM http WHERE bytes_out = 1"), 'one\nline two');
  assert.deepEqual([b.status, b.read, b.loaded, b.rejected], ['loaded', 6, 2, 4]);
  assert.deepEqual(
    b.rejects.map((r) => [r.line, r.field, r.reason]),
    [
      [9, 'ts', 'cannot read "1e20" as a time (epoch seconds)'],
      [10, 'ts', 'cannot read "nan" as a time (epoch seconds)'],
      [11, 'ts', 'cannot read "inf" as a time (epoch seconds)'],
      [12, 'ts', 'cannot read "-inf" as a time (epoch seconds)'],
    ],
  );
  assert.deepEqual(
    (await ws.query('SELECT CAST(ts AS VARCHAR) AS ts FROM flows WHERE dest_port = 53 ORDER BY ts')).map((r) => r.ts),
    ['2023-11-14 22:13:20.1', '2023-11-14 22:13:21.123456'],
  );
  assert.deepEqual([c.status, c.loaded, c.rejected], ['loaded', 3, 0]);
  assert.deepEqual(
    (await ws.query('SELECT CAST(ts AS VARCHAR) AS ts FROM flows WHERE bytes_out = 1 ORDER BY ts')).map((r) => r.ts),
    ['2024-03-04 09:00:00', '2024-03-14 13:00:00', '2024-03-15 23:59:59'],
  );
});

test('a member that cannot be loaded fails inside a zip as it does outside (exit 1); a README in the zip is skipped by name', async (t) => {
  const dir = tempDir(t);
  const bad = 'src_host,target,count\na,b,1\n'; // a CSV no table takes
  writeFileSync(join(dir, 'odd.csv'), bad);
  writeFileSync(
    join(dir, 'bundle.zip'),
    zipSync({
      'odd.csv': strToU8(bad),
      'README.txt': strToU8('exported by hand\n'),
      'conn.log': readFileSync(join(FIXTURES, 'zeek', 'conn-remcos-excerpt.log')),
    }),
  );
  const outside = await cli('ingest', join(dir, 'odd.csv'), '--db', join(dir, 'a.duckdb'));
  const inside = await cli('ingest', join(dir, 'bundle.zip'), '--db', join(dir, 'b.duckdb'));
  assert.equal(outside.code, 1);
  assert.equal(inside.code, 1, inside.stdout);
  assert.match(inside.stdout, /bundle\.zip!odd\.csv: FAILED: .*cannot tell which table/);
  assert.match(inside.stdout, /bundle\.zip!README\.txt: not loaded: unknown format/);
  assert.match(inside.stdout, /bundle\.zip!conn\.log → flows \(zeek\): read 12, loaded 12/);
});

test('the same records under another file name warn: they would count twice in every hunt', async (t) => {
  const dir = tempDir(t);
  const original = join(FIXTURES, 'zeek', 'conn-remcos-excerpt.log');
  // The same flows with one more column (as labelled copies of a log have): other bytes, same records.
  const widen = (line: string) => {
    if (line.startsWith('#fields')) return `${line}\tnote`;
    if (line.startsWith('#types')) return `${line}\tstring`;
    return line && !line.startsWith('#') ? `${line}\tseen` : line;
  };
  const text = readFileSync(original, 'utf8').split('\n').map(widen).join('\n');
  writeFileSync(join(dir, 'labeled-conn.log'), text);
  writeFileSync(join(dir, 'conn.log.gz'), gzipSync(readFileSync(original)));
  const result = await cli('ingest', join(dir, 'conn.log.gz'), join(dir, 'labeled-conn.log'), '--db', join(dir, 'w.duckdb'));
  assert.equal(result.code, 0, result.stdout);
  assert.match(
    result.stdout,
    /labeled-conn\.log → flows[^\n]*\n {2}warning: 12 of 12 sampled flows records \(same uid and time\) are already in the workspace from .*conn\.log\.gz/,
  );
});
