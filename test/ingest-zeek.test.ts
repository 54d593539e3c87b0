import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ingest } from '../src/ingest/ingest.ts';
import { cli, FIXTURES, openWorkspace, testData, tempDir } from './helpers.ts';

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

function dataLines(path: string): number {
  const raw = readFileSync(path);
  const text = (path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
  return text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
}

test('every Zeek log in test/data ingests with no rejects and exactly its data lines', async (t) => {
  const ws = await openWorkspace(t);
  const root = testData('zeek');
  const logs = walk(root).filter((p) => /\.(log|labeled|gz)$/.test(p));
  assert.ok(logs.length >= 29, `found ${logs.length} logs`);
  const reports = await ingest(ws, [root]);
  for (const path of logs) {
    const report = reports.find((r) => r.path === path);
    assert.ok(report, `no report for ${path}`);
    assert.equal(report.status, 'loaded', `${path}: ${report.message}`);
    assert.equal(report.rejected, 0, `${path} rejects: ${JSON.stringify(report.rejects.slice(0, 3))}`);
    const expected = path.endsWith('.json.gz')
      ? gunzipSync(readFileSync(path)).toString().split('\n').filter(Boolean).length
      : dataLines(path);
    assert.equal(report.loaded, expected, `${path}: rows`);
    assert.equal(report.read, report.loaded + report.rejected);
  }
  // The labelled C2 pair of Stratosphere 001 is all there, with its label kept in extra.
  const c2 = await ws.query(`SELECT count(*) AS n, count(*) FILTER (WHERE extra->>'label' = 'Malicious') AS malicious
    FROM flows f JOIN ingested_files i USING (file_id) WHERE i.path LIKE '%001-zeek%labeled-conn.log'
      AND src_ip = '192.168.1.115' AND dest_ip = '41.108.179.197' AND dest_port = 1177`);
  assert.deepEqual(c2[0], { n: 237, malicious: 237 });
});

test('Zeek TSV values: unset is NULL, (empty) is empty, times keep microseconds, types are typed', async (t) => {
  const ws = await openWorkspace(t);
  const [report] = await ingest(ws, [join(FIXTURES, 'zeek', 'conn-remcos-excerpt.log')]);
  assert.equal(report.loaded, 12);
  const [row] = await ws.query(`SELECT ts, uid, src_ip, src_port, dest_ip, dest_port, proto, service, duration, bytes_out,
      ip_bytes_out, conn_state, extra->>'tunnel_parents' AS tunnel, extra->>'detailedlabel' AS detail, extra->'local_orig' AS local_orig
    FROM flows ORDER BY ts LIMIT 1`);
  assert.deepEqual(row, {
    ts: '2023-02-22 00:00:03.714845',
    uid: 'C6SgKom3WB2KEL2ae',
    src_ip: '192.168.1.107',
    src_port: 65164,
    dest_ip: '66.63.168.35',
    dest_port: 5888,
    proto: 'tcp',
    service: null,
    duration: 0.037629,
    bytes_out: 0,
    ip_bytes_out: 104,
    conn_state: 'REJ',
    tunnel: null,
    detail: 'From_malicious-To_malicious-Malware_data_exfiltration-RemcosRAT',
    local_orig: 'true',
  });
});

test('several header blocks with different layouts, a custom separator and .gz all load, lines mapped back', async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  const conn = readFileSync(join(FIXTURES, 'zeek', 'conn-remcos-excerpt.log'), 'utf8')
    .trimEnd()
    .split('\n');
  const http = readFileSync(join(FIXTURES, 'zeek', 'http-simda-excerpt.log'), 'utf8')
    .trimEnd()
    .split('\n');
  // conn block, then an http block (a concatenated log), then conn again with a bad value.
  const bad = conn[8].split('\t');
  bad[3] = 'not-a-port';
  const lines = [...conn.slice(0, 10), '#close\t2023-02-22-10-00-00', ...http, ...conn.slice(0, 8), bad.join('\t'), conn[9]];
  const mixed = join(dir, 'mixed.log');
  writeFileSync(mixed, `${lines.join('\n')}\n`);
  const [report] = await ingest(ws, [mixed]);
  assert.equal(report.status, 'loaded', report.message);
  assert.equal(report.table, 'flows,http');
  assert.equal(report.read, 2 + 4 + 2);
  assert.equal(report.loaded, 7);
  assert.deepEqual(
    report.rejects.map((r) => [r.line, r.field]),
    [[lines.length - 1, 'id.orig_p']],
  );
  assert.match(report.rejects[0].reason, /cannot read "not-a-port"/);

  // A '|' separator written escaped, as Zeek does, in a gzip file.
  const piped = conn.map((line) => (line.startsWith('#separator') ? '#separator \\x7c' : line.replaceAll('\t', '|')));
  const gz = join(dir, 'conn-pipe.log.gz');
  writeFileSync(gz, gzipSync(`${piped.join('\n')}\n`));
  const [gzReport] = await ingest(ws, [gz]);
  assert.equal(gzReport.status, 'loaded', gzReport.message);
  assert.equal(gzReport.loaded, 12);
  assert.equal(
    await ws.scalar(`SELECT count(DISTINCT uid) FROM flows WHERE file_id = (SELECT file_id FROM ingested_files WHERE path = $1)`, [gz]),
    12,
  );
});

/** Epoch seconds with all six digits of the ISO fraction (Date.parse would keep only three). */
function isoToEpoch(iso: string): number {
  const [whole, fraction = '0'] = iso.replace('Z', '').split('.');
  return Number(`${Date.parse(`${whole}Z`) / 1000}.${fraction}`);
}

test('Zeek JSON: dotted and underscored keys, ISO and epoch ts land in the same columns', async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  const dotted = readFileSync(join(FIXTURES, 'zeek', 'ssl-wrccdc-excerpt.json'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const underscored = dotted.map((o) =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replaceAll('.', '_'), k === 'ts' ? isoToEpoch(String(v)) : v])),
  );
  const a = join(dir, 'a.json');
  const b = join(dir, 'b.json');
  writeFileSync(a, dotted.map((o) => JSON.stringify(o)).join('\n'));
  writeFileSync(b, underscored.map((o) => JSON.stringify(o)).join('\n'));
  const reports = await ingest(ws, [a, b]);
  assert.deepEqual(
    reports.map((r) => [r.status, r.format, r.table, r.loaded]),
    [
      ['loaded', 'zeek-json', 'tls', 5],
      ['loaded', 'zeek-json', 'tls', 5],
    ],
  );
  const rows = await ws.query('SELECT file_id, ts, src_ip, dest_port, established FROM tls ORDER BY file_id, ts');
  const first = rows.filter((r) => r.file_id === rows[0].file_id).map(({ file_id, ...rest }) => rest);
  const second = rows.filter((r) => r.file_id !== rows[0].file_id).map(({ file_id, ...rest }) => rest);
  assert.deepEqual(second, first);
  assert.deepEqual(first[0], { ts: '2018-03-24 17:15:20.615923', src_ip: '10.164.94.120', dest_port: 443, established: true });
});

test('a mixed Zeek JSON export: each record to its log, a line that is not an object refused once, counts reconcile', async (t) => {
  const ws = await openWorkspace(t);
  const dir = tempDir(t);
  const conn = (i: number) =>
    JSON.stringify({
      ts: 1700000000 + i,
      uid: `C${i}`,
      'id.orig_h': '10.0.0.1',
      'id.orig_p': 40000 + i,
      'id.resp_h': '192.0.2.8',
      'id.resp_p': 443,
      proto: 'tcp',
      history: 'ShAD',
    });
  const lines = [
    conn(1),
    conn(2),
    conn(3),
    '[1,2]',
    JSON.stringify({ ts: 'garbage', uid: 'C9', 'id.orig_h': '10.0.0.2' }),
    '{"ts":1700000001, "uid": "C3", bad json',
    JSON.stringify({ _path: 'dns', ts: 1700000002, uid: 'D1', query: 'example.org', 'id.orig_h': '10.0.0.3' }),
  ];
  const file = join(dir, 'conn.json'); // records without _path go where the file's name says
  writeFileSync(file, `${lines.join('\n')}\n`);
  const [report] = await ingest(ws, [file], { format: 'zeek-json' });
  assert.equal(report.status, 'loaded', report.message);
  assert.equal(report.read, 7);
  assert.equal(report.loaded, 4);
  assert.deepEqual(
    report.rejects.map((r) => [r.line, r.field, r.reason.slice(0, 22)]),
    [
      [4, null, 'not a JSON object'],
      [5, 'ts', 'cannot read "garbage" '],
      [6, null, report.rejects[2]?.reason.slice(0, 22)],
    ],
  );
  const rows = await ws.query(
    `SELECT 'flows' AS t, uid, extra->>'history' AS x FROM flows UNION ALL SELECT 'dns', uid, query FROM dns ORDER BY t, uid`,
  );
  assert.deepEqual(
    rows.map((r) => `${r.t} ${r.uid} ${r.x}`),
    ['dns D1 example.org', 'flows C1 ShAD', 'flows C2 ShAD', 'flows C3 ShAD'],
  );
});

test('a capture whose times count from 0 (Stratosphere 001 starts at 1970-01-01 00:00:15) is loaded as dated and said, with the window that hunts it', async (t) => {
  const db = join(tempDir(t), 'w.duckdb');
  const relative = testData('zeek', 'stratosphere', '001-zeek-scenario-malicious', 'labeled-conn.log');
  const dated = testData('zeek', 'slips-test18-remcos', 'test18-malicious-ctu-sme-11-win', 'zeek-labeled', 'conn.log.labeled');
  const loaded = await cli('ingest', relative, dated, '--db', db);
  assert.equal(loaded.code, 0, loaded.stderr);
  const out = loaded.stdout + loaded.stderr;
  assert.match(
    out,
    /labeled-conn\.log → flows[^\n]*\n {2}warning: 992 of 992 flows records are dated before 1990 \(1970-01-01 00:00:15 – 1970-01-01 00:50:23\): times counted from 0 \(a capture replayed with relative times\?\) or a clock never set\. They are kept as dated, so hunts see them then, and a window on the latest day of newer logs leaves them out: --since 1970-01-01 --until 1970-01-02 hunts them\n/,
  );
  // The 2023 capture's clock was set: no such warning for it.
  assert.match(out, /conn\.log\.labeled → flows[^\n]*\n(?! {2}warning)/);
  assert.equal(out.match(/dated before 1990/g)?.length, 1);
  // What the warning says, checked: the default timing window (the last 24 h of the data, 2023)
  // does not see the NjRAT C2 of the 1970 capture; the window the warning gives ranks it first.
  const latest = await cli('hunt', 'beacons', '--db', db, '--format', 'csv', '-q');
  assert.equal(latest.code, 0, latest.stderr);
  assert.doesNotMatch(latest.stdout, /41\.108\.179\.197/);
  assert.match(latest.stdout, /192\.168\.1\.107,66\.63\.168\.35/);
  const hinted = await cli('hunt', 'beacons', '--since', '1970-01-01', '--until', '1970-01-02', '--db', db, '--format', 'csv', '-q');
  assert.equal(hinted.code, 0, hinted.stderr);
  const first = hinted.stdout.split('\n')[1].split(',');
  assert.deepEqual([first[0], first[3], first[4]], ['1', '192.168.1.115', '41.108.179.197']);
});
