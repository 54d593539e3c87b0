import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ingest } from '../src/ingest/ingest.ts';
import { cli, FIXTURES, openWorkspace, testData, tempDir } from './helpers.ts';

test('Splunk-style CSV export: CIM names map, --map renames the rest, unmapped fields kept in extra', async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  const path = join(dir, 'export.csv');
  writeFileSync(
    path,
    [
      '_time,client,login,site,dest_ip,http_method,url,status,bytes_out,bytes_in,"http_user_agent",risk note',
      '2020-05-07T12:00:00.000+0000,10.1.1.5,alice,evil.example,203.0.113.9,GET,/beacon,200,411,230,"Mozilla/5.0 (X11, Linux)","=cmd|\' /C calc\'!A0"',
      '2020-05-07T12:01:00.000+0000,10.1.1.5,alice,evil.example,203.0.113.9,GET,/beacon,200,411,230,curl/8,',
    ].join('\n'),
  );
  const [report] = await ingest(ws, [path], { map: 'src_ip=client,user=login,dest=site' });
  assert.equal(report.status, 'loaded', report.message);
  assert.deepEqual([report.format, report.table, report.loaded], ['csv', 'http', 2]);
  const [row] = await ws.query(
    `SELECT ts, src_ip, "user", dest, method, status, bytes_out, user_agent, extra->>'risk note' AS note FROM http ORDER BY ts LIMIT 1`,
  );
  assert.deepEqual(row, {
    ts: '2020-05-07 12:00:00',
    src_ip: '10.1.1.5',
    user: 'alice',
    dest: 'evil.example',
    method: 'GET',
    status: 200,
    bytes_out: 411,
    user_agent: 'Mozilla/5.0 (X11, Linux)',
    note: "=cmd|' /C calc'!A0",
  });

  const bad = await cli('ingest', path, '--db', join(dir, 'other.duckdb'), '--map', 'nosuch=client');
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /--map: "nosuch" is not a column of http/);
});

test('CSV ISO timestamps with zone offsets land as UTC wall time; a bad one is refused with its line', async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  const path = join(dir, 'proxy.csv');
  writeFileSync(
    path,
    [
      '_time,src_ip,dest,url,bytes_out',
      '2024-03-04T10:00:00+02:00,10.0.0.1,a.example,/x,1',
      '2024-03-04T08:00:00.123456Z,10.0.0.1,a.example,/x,2',
      '2024-03-04T08:00:00Z,10.0.0.1,a.example,/x,many',
      '2024-03-04 03:30:00-04:30,10.0.0.1,a.example,/x,3',
      '1969-12-31T23:59:59.5Z,10.0.0.1,a.example,/x,4',
      'not a time,10.0.0.1,a.example,/x,5',
      ',10.0.0.1,a.example,/x,6',
      '2024-02-30T08:00:00Z,10.0.0.1,a.example,/x,7',
    ].join('\n'),
  );
  const [report] = await ingest(ws, [path]);
  assert.deepEqual([report.status, report.read, report.loaded, report.rejected], ['loaded', 8, 5, 3]);
  // DuckDB's reader alone would load "not a time" and February 30 as NULL times, silently.
  assert.deepEqual(
    report.rejects.map((r) => [r.line, r.field, r.reason]),
    [
      [4, 'bytes_out', 'cannot read "many" as a whole number'],
      [7, '_time', 'cannot read "not a time" as a timestamp'],
      [9, '_time', 'cannot read "2024-02-30T08:00:00Z" as a timestamp'],
    ],
  );
  assert.deepEqual(
    (await ws.query('SELECT CAST(ts AS VARCHAR) AS ts FROM http ORDER BY bytes_out')).map((r) => r.ts),
    ['2024-03-04 08:00:00', '2024-03-04 08:00:00.123456', '2024-03-04 08:00:00', '1969-12-31 23:59:59.5', null],
  );
});

test('a zone name in one ISO time is refused and cannot move the times after it; a "UTC" suffix reads as UTC', async (t) => {
  // DuckDB 1.5's text → TIMESTAMPTZ cast keeps a zone name it parsed for the rest of the vector:
  // after "… PST", a time with no zone was read as Pacific time, 8 hours off, in any row of the
  // next 2,047. A log line is attacker-controlled: it must not shift the times of other records.
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  const path = join(dir, 'proxy.csv');
  writeFileSync(
    path,
    [
      '_time,src_ip,dest,url,bytes_out',
      '2024-03-04T08:00:00Z,10.0.0.1,a.example,/x,1',
      '2024-03-04T00:00:00 PST,10.0.0.1,a.example,/x,2',
      '2024-03-04T08:00:00,10.0.0.1,a.example,/x,3',
      '2024-03-04T09:00:00 Europe/Paris,10.0.0.1,a.example,/x,4',
      '2024-03-04 08:00:00,10.0.0.1,a.example,/x,5',
      '2024-03-04 08:00:00 UTC,10.0.0.1,a.example,/x,6',
      '2024-03-04T08:00:00.5 GMT,10.0.0.1,a.example,/x,7',
      '2024-03-04,10.0.0.1,a.example,/x,8',
      '2024-03-04T08:00:00Z,10.0.0.1,a.example,/x,9',
      '2024-03-04T08:00:00Z,10.0.0.1,a.example,/x,10',
    ].join('\n'),
  );
  const [report] = await ingest(ws, [path]);
  assert.deepEqual([report.status, report.read, report.loaded, report.rejected], ['loaded', 10, 8, 2]);
  assert.deepEqual(
    report.rejects.map((r) => [r.line, r.field, r.reason]),
    [
      [3, '_time', 'cannot read "2024-03-04T00:00:00 PST" as a timestamp'],
      [5, '_time', 'cannot read "2024-03-04T09:00:00 Europe/Paris" as a timestamp'],
    ],
  );
  assert.deepEqual(
    (await ws.query('SELECT bytes_out, CAST(ts AS VARCHAR) AS ts FROM http ORDER BY bytes_out')).map((r) => [r.bytes_out, r.ts]),
    [
      [1, '2024-03-04 08:00:00'],
      [3, '2024-03-04 08:00:00'],
      [5, '2024-03-04 08:00:00'],
      [6, '2024-03-04 08:00:00'],
      [7, '2024-03-04 08:00:00.5'],
      [8, '2024-03-04 00:00:00'],
      [9, '2024-03-04 08:00:00'],
      [10, '2024-03-04 08:00:00'],
    ],
  );
});

test('an epoch time of nan, inf or 1e999 is refused with its line; it does not fail the file (CSV and JSON lines)', async (t) => {
  // DuckDB reads "nan" as a number; turning it into a timestamp threw, and the whole file failed.
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  const csv = join(dir, 'flows.csv');
  writeFileSync(
    csv,
    [
      'ts,src_ip,dest_ip,duration',
      '1700000000,10.0.0.1,10.0.0.2,1.5',
      'nan,10.0.0.1,10.0.0.2,1',
      '-inf,10.0.0.1,10.0.0.2,1',
      '1e999,10.0.0.1,10.0.0.2,1',
      '1700000001.25,10.0.0.1,10.0.0.2,2',
      'soon,10.0.0.1,10.0.0.2,1',
      '1700000002,10.0.0.1,10.0.0.2,3',
      '1700000003,10.0.0.1,10.0.0.2,3',
      '1700000004,10.0.0.1,10.0.0.2,3',
    ].join('\n'),
  );
  const lines = join(dir, 'flows.ndjson');
  const flow = (ts: unknown, duration: number) => JSON.stringify({ ts, src_ip: '10.0.0.1', dest_ip: '10.0.0.2', duration });
  writeFileSync(
    lines,
    `${[flow(1700000010, 4), flow('nan', 1), '{"ts":1e999,"src_ip":"10.0.0.1","dest_ip":"10.0.0.2","duration":1}', flow('Infinity', 1), flow(1700000011, 5), flow(1700000012, 5), flow(1700000013, 5)].join('\n')}\n`,
  );
  const reports = await ingest(ws, [csv, lines], { table: 'flows' });
  assert.deepEqual(
    reports.map((r) => [r.status, r.read, r.loaded, r.rejected]),
    [
      ['loaded', 9, 5, 4],
      ['loaded', 7, 4, 3],
    ],
  );
  assert.deepEqual(
    reports[0].rejects.map((r) => [r.line, r.field, r.reason]),
    [
      [3, 'ts', 'cannot read "nan" as a timestamp'],
      [4, 'ts', 'cannot read "-inf" as a timestamp'],
      [5, 'ts', 'cannot read "1e999" as a timestamp'],
      [7, 'ts', 'cannot read "soon" as a timestamp'],
    ],
  );
  assert.deepEqual(
    reports[1].rejects.map((r) => r.line),
    [2, 3, 4],
  );
  assert.deepEqual(
    (await ws.query('SELECT CAST(ts AS VARCHAR) AS ts, duration FROM flows ORDER BY ts')).map((r) => [r.ts, r.duration]),
    [
      ['2023-11-14 22:13:20', 1.5],
      ['2023-11-14 22:13:21.25', 2],
      ['2023-11-14 22:13:22', 3],
      ['2023-11-14 22:13:23', 3],
      ['2023-11-14 22:13:24', 3],
      ['2023-11-14 22:13:30', 4],
      ['2023-11-14 22:13:31', 5],
      ['2023-11-14 22:13:32', 5],
      ['2023-11-14 22:13:33', 5],
    ],
  );
});

test('JSON arrays and pretty-printed evtx dumps load; Windows events are flattened for Sigma names', async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  const array = join(dir, 'flows.json');
  writeFileSync(
    array,
    JSON.stringify(
      [
        { timestamp: 1700000000, src_ip: '10.0.0.1', dest_ip: '198.51.100.7', dest_port: 443, bytes_out: 100 },
        { timestamp: 1700000060.5, src_ip: '10.0.0.1', dest_ip: '198.51.100.7', dest_port: 443, bytes_out: 100 },
      ],
      null,
      2,
    ),
  );
  const reports = await ingest(ws, [
    array,
    join(FIXTURES, 'windows', 'evtx-sysmon7-sigma-regression.json'),
    join(FIXTURES, 'windows', 'otrf-esentutl-excerpt.ndjson'),
  ]);
  assert.deepEqual(
    reports.map((r) => [r.format, r.table, r.loaded, r.rejected]),
    [
      ['json', 'flows', 2, 0],
      ['windows', 'events', 1, 0],
      ['windows', 'events', 3, 0],
    ],
  );
  assert.deepEqual(await ws.query('SELECT ts, dest_port FROM flows ORDER BY ts'), [
    { ts: '2023-11-14 22:13:20', dest_port: 443 },
    { ts: '2023-11-14 22:14:20.5', dest_port: 443 },
  ]);
  const [evtx] =
    await ws.query(`SELECT ts, host, event_id, channel, provider, process, file_path, raw->>'ImageLoaded' AS loaded, raw->>'$.System.Execution."#attributes".ProcessID' AS pid
    FROM events WHERE event_id = 7`);
  assert.deepEqual(evtx, {
    ts: '2025-11-27 07:40:10.165324',
    host: 'swachchhanda',
    event_id: 7,
    channel: 'Microsoft-Windows-Sysmon/Operational',
    provider: 'Microsoft-Windows-Sysmon',
    process: 'C:\\Windows\\System32\\WerFaultSecure.exe',
    file_path: 'C:\\Windows\\System32\\dbgcore.dll',
    loaded: 'C:\\Windows\\System32\\dbgcore.dll',
    pid: '3544',
  });
  const otrf = await ws.query(`SELECT host, channel, event_id FROM events WHERE event_id <> 7 ORDER BY ts`);
  assert.equal(otrf.length, 3);
  assert.ok(
    otrf.every((r) => typeof r.host === 'string' && r.host.length > 0 && r.event_id !== null),
    JSON.stringify(otrf),
  );
});

test('OTRF Security-Datasets zips ingest into events with nothing rejected', async (t) => {
  const ws = await openWorkspace(t);
  const reports = await ingest(ws, [testData('windows', 'otrf-atomic', 'windows', 'credential_access')]);
  const loaded = reports.filter((r) => r.status === 'loaded');
  assert.ok(loaded.length >= 6, JSON.stringify(reports.map((r) => [r.path, r.status, r.message])));
  assert.ok(reports.every((r) => r.status === 'loaded' && r.rejected === 0 && r.table === 'events'));
  assert.ok(loaded.every((r) => r.path.includes('.zip!')));
  const missing = await ws.query(
    'SELECT count(*) FILTER (WHERE ts IS NULL) AS no_ts, count(*) FILTER (WHERE host IS NULL) AS no_host, count(*) FILTER (WHERE event_id IS NULL) AS no_id FROM events',
  );
  assert.deepEqual(missing[0], { no_ts: 0, no_host: 0, no_id: 0 });
  const ntds = await ws.scalar("SELECT count(*) FROM events WHERE command_line ILIKE '%ntdsutil%ifm%'");
  assert.ok(Number(ntds) >= 1, 'the technique command line is in events');
});

test('CERT insider files: logon/device/file/email go to activity with their kind, LDAP to directory', async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  const files: Record<string, string> = {
    'logon.csv': 'id,date,user,pc,activity\n{X1D9-S0ES94UL-6517FTPK},01/02/2010 06:49:00,NGF0157,PC-6056,Logon\n',
    'device.csv': 'id,date,user,pc,file_tree,activity\n{J1S3-L9UU75BQ-7790ATPL},01/02/2010 07:21:06,MOH0273,PC-6699,R:\\;R:\\HR,Connect\n',
    'file.csv':
      'id,date,user,pc,filename,activity,to_removable_media,from_removable_media,content\n{L9G8-J9QE34VM-2834VDPB},01/02/2010 07:23:14,MOH0273,PC-6699,R:\\S25NH2I7.doc,File Open,False,True,D0-CF-11-E0 text\n',
    'email.csv':
      'id,date,user,pc,to,cc,bcc,from,activity,size,attachments,content\n{R3I7-S4TX96FG-8219JWFF},01/02/2010 07:11:45,LAP0338,PC-5758,Dean.Flynn.Hines@dtaa.com;Wade_Harrison@lockheed.com,Nathaniel.Hunter.Heath@dtaa.com,,Lynn.Adena.Pratt@dtaa.com,Send,25830,,middle f2 systems\n',
    'LDAP-2010-01.csv':
      'employee_name,user_id,email,role,projects,business_unit,functional_unit,department,team,supervisor\nCalvin Edward Rios,CER0001,Calvin.Edward.Rios@dtaa.com,Salesman,,1,5 - SalesAndMarketing,2 - Sales,5 - Sales,Clark Kent\n',
  };
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
  const reports = await ingest(ws, [dir]);
  const loaded = reports.filter((r) => r.status === 'loaded');
  assert.deepEqual(
    loaded.map((r) => [r.format, r.table, r.loaded]),
    Array(5)
      .fill(null)
      .map((_, i) => ['cert', i === 0 ? 'directory' : 'activity', 1]),
  );
  const rows = await ws.query('SELECT kind, ts, "user", host, action, target, size FROM activity ORDER BY kind');
  assert.deepEqual(rows, [
    { kind: 'device', ts: '2010-01-02 07:21:06', user: 'MOH0273', host: 'PC-6699', action: 'Connect', target: 'R:\\;R:\\HR', size: null },
    {
      kind: 'email',
      ts: '2010-01-02 07:11:45',
      user: 'LAP0338',
      host: 'PC-5758',
      action: 'Send',
      target: 'Dean.Flynn.Hines@dtaa.com;Wade_Harrison@lockheed.com',
      size: 25830,
    },
    {
      kind: 'file',
      ts: '2010-01-02 07:23:14',
      user: 'MOH0273',
      host: 'PC-6699',
      action: 'File Open',
      target: 'R:\\S25NH2I7.doc',
      size: null,
    },
    { kind: 'logon', ts: '2010-01-02 06:49:00', user: 'NGF0157', host: 'PC-6056', action: 'Logon', target: null, size: null },
  ]);
  assert.deepEqual(await ws.query('SELECT "user", name, role, department FROM directory'), [
    { user: 'CER0001', name: 'Calvin Edward Rios', role: 'Salesman', department: '2 - Sales' },
  ]);
});

test('ingest --json prints one machine-readable summary with the accounting of every file', async (t) => {
  const dir = tempDir(t);
  const result = await cli('ingest', join(FIXTURES, 'zeek'), '--db', join(dir, 'w.duckdb'), '--json');
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const summary = JSON.parse(result.stdout) as { path: string; table: string; read: number; loaded: number; rejected: number }[];
  assert.deepEqual(
    summary.map((s) => [s.table, s.read, s.loaded, s.rejected]),
    [
      ['flows', 12, 12, 0],
      ['http', 4, 4, 0],
      ['tls', 5, 5, 0],
    ],
  );
});

test('ingest - reads standard input', async (t) => {
  const dir = tempDir(t);
  const { spawnSync } = await import('node:child_process');
  const input = [
    '_time,src_ip,dest,url,bytes_out',
    '2026-01-01T00:00:00Z,10.0.0.1,a.example,/x,10',
    '2026-01-01T00:00:01Z,10.0.0.1,a.example,/y,20',
  ].join('\n');
  const result = spawnSync(
    process.execPath,
    [join(import.meta.dirname, '..', 'bin', 'huntbook.js'), 'ingest', '-', '--db', join(dir, 'w.duckdb')],
    { input, encoding: 'utf8' },
  );
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /\(stdin\) → http \(csv\): read 2, loaded 2, rejected 0/);
});
