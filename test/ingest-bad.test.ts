import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { strToU8, zipSync } from 'fflate';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ingest } from '../src/ingest/ingest.ts';
import { InterruptedError, requestInterrupt, resetInterrupt } from '../src/interrupt.ts';
import { Workspace } from '../src/store/workspace.ts';
import { cli, FIXTURES, ROOT, openWorkspace, tempDir } from './helpers.ts';

const CONN = readFileSync(join(FIXTURES, 'zeek', 'conn-remcos-excerpt.log'), 'utf8')
  .trimEnd()
  .split('\n');
const HEADER = CONN.slice(0, 8);
const DATA = CONN.slice(8);

function reconciles(report: { read: number; loaded: number; rejected: number }): void {
  assert.equal(report.read, report.loaded + report.rejected, 'read = loaded + rejected');
}

test('truncated gzip: the file fails with its name and the line where the data stops', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'conn.log.gz');
  const whole = gzipSync(`${CONN.join('\n')}\n`);
  writeFileSync(path, whole.subarray(0, Math.floor(whole.length * 0.6)));
  const result = await cli('ingest', path, '--db', join(dir, 'w.duckdb'));
  assert.equal(result.code, 1);
  assert.match(result.stdout, new RegExp(`${path.replaceAll('.', '\\.')}.*FAILED: .*conn\\.log\\.gz:\\d+: gzip stream is truncated`));
  const ws = await Workspace.open(join(dir, 'w.duckdb'));
  t.after(() => ws.close());
  assert.equal(await ws.scalar('SELECT count(*) FROM flows'), 0, 'nothing of a failed file is kept');
  assert.equal(await ws.scalar('SELECT count(*) FROM ingested_files'), 0);
});

test('a truncated gzip CSV fails too (DuckDB alone would read it as if the file ended there)', async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  const rows = [
    '_time,src_ip,dest,url,bytes_out',
    ...Array.from({ length: 20000 }, (_, i) => `2026-01-01T00:00:00Z,10.0.0.1,a.example,/x${i},10`),
  ];
  const whole = gzipSync(`${rows.join('\n')}\n`);
  const path = join(dir, 'proxy.csv.gz');
  writeFileSync(path, whole.subarray(0, Math.floor(whole.length / 2)));
  const [report] = await ingest(ws, [path]);
  assert.equal(report.status, 'failed');
  assert.match(report.message ?? '', /proxy\.csv\.gz:\d+: gzip stream is truncated/);
  assert.equal(await ws.scalar('SELECT count(*) FROM http'), 0);
});

test('wrong column counts are rejected with line, field and reason; the rest loads and counts reconcile', async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  const short = DATA[1].split('\t').slice(0, 5).join('\t');
  const long = `${DATA[2]}\textra\tcolumns`;
  const path = join(dir, 'conn.log');
  writeFileSync(path, [...HEADER, DATA[0], short, long, DATA[3]].join('\n'));
  const [report] = await ingest(ws, [path]);
  assert.equal(report.status, 'loaded');
  reconciles(report);
  assert.deepEqual([report.read, report.loaded, report.rejected], [4, 2, 2]);
  assert.deepEqual(
    report.rejects.map((r) => r.line),
    [10, 11],
  );
  assert.match(report.rejects[0].reason, /wrong column count: expected 23, found 5/);
  assert.match(report.rejects[1].reason, /wrong column count: expected 23/);
  const kept = await ws.query('SELECT path, line, reason FROM rejects ORDER BY line');
  assert.deepEqual(
    kept.map((r) => [r.path, r.line]),
    [
      [path, 10],
      [path, 11],
    ],
  );

  // The same in a CSV with a header.
  const csv = join(dir, 'proxy.csv');
  writeFileSync(
    csv,
    'ts,src_ip,dest,url,bytes_out,bytes_in\n2026-01-01T00:00:00Z,10.0.0.1,a.example,/x,100,200\n2026-01-01T00:00:01Z,10.0.0.1,a.example\n2026-01-01T00:00:02Z,10.0.0.1,a.example,/y,lots,200\n',
  );
  const [csvReport] = await ingest(ws, [csv]);
  reconciles(csvReport);
  assert.deepEqual(
    csvReport.rejects.map((r) => [r.line, r.field]),
    [
      [3, 'url'],
      [4, 'bytes_out'],
    ],
  );
  assert.match(csvReport.rejects[1].reason, /cannot read "lots"/);
});

test('binary junk and unknown formats are refused with a clear error naming the file', async (t) => {
  const dir = tempDir(t);
  const junk = join(dir, 'junk.bin');
  writeFileSync(junk, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)));
  const unknown = join(dir, 'notes.log');
  writeFileSync(unknown, 'just some words\nwithout any structure\n');
  const result = await cli('ingest', junk, unknown, '--db', join(dir, 'w.duckdb'));
  assert.equal(result.code, 1);
  assert.match(result.stdout, /junk\.bin: FAILED: .*junk\.bin:\d+: binary content/);
  assert.match(result.stdout, /notes\.log: FAILED: .*notes\.log:1: unknown format/);
  assert.match(result.stdout, /2 FAILED/);
});

test('a 10 MB line and invalid UTF-8 are rejects with their line numbers, not crashes', async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  const huge = DATA[1].replace('REJ', 'x'.repeat(10 * 1024 * 1024));
  const badUtf8 = Buffer.concat([Buffer.from(DATA[2].slice(0, 40)), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from(DATA[2].slice(43))]);
  const path = join(dir, 'conn.log');
  writeFileSync(path, Buffer.concat([Buffer.from(`${[...HEADER, DATA[0], huge].join('\n')}\n`), badUtf8, Buffer.from(`\n${DATA[3]}\n`)]));
  const [report] = await ingest(ws, [path]);
  assert.equal(report.status, 'loaded', report.message);
  reconciles(report);
  assert.deepEqual(
    report.rejects.map((r) => r.line),
    [10, 11],
  );
  assert.match(report.rejects[0].reason, /line longer than/);
  assert.match(report.rejects[1].reason, /invalid UTF-8/);
});

test('a file whose every row is refused is an error with a non-zero exit', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'conn.log');
  writeFileSync(path, [...HEADER, ...DATA.map((line) => line.replace(/^\d+\.\d+/, 'yesterday'))].join('\n'));
  const result = await cli('ingest', path, '--db', join(dir, 'w.duckdb'));
  assert.equal(result.code, 1);
  assert.match(result.stdout, /FAILED: .*conn\.log:9: all 12 records were rejected \(line 9 field ts: cannot read "yesterday"/);
});

test('NDJSON: malformed lines and non-objects are rejected by line; blank lines are not records', async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  const path = join(dir, 'proxy.ndjson');
  writeFileSync(
    path,
    [
      '{"_time":"2026-01-01T00:00:00Z","src_ip":"10.0.0.1","dest":"a.example","url":"/a","bytes_out":10}',
      '{"_time":"2026-01-01T00:00:01Z","src_ip":"10.0.0.1",',
      '',
      '[1,2]',
      '{"_time":"2026-01-01T00:00:02Z","src_ip":"10.0.0.1","dest":"a.example","url":"/b","bytes_out":"many"}',
      '{"_time":"2026-01-01T00:00:03Z","src_ip":"10.0.0.1","dest":"b.example","url":"/c","bytes_out":30}',
    ].join('\n'),
  );
  const [report] = await ingest(ws, [path]);
  assert.equal(report.table, 'http');
  reconciles(report);
  assert.deepEqual([report.read, report.loaded], [5, 2]);
  assert.deepEqual(
    report.rejects.map((r) => [r.line, r.field]),
    [
      [2, null],
      [4, null],
      [5, 'bytes_out'],
    ],
  );
  assert.match(report.rejects[1].reason, /not a JSON object/);
  // (the field is the reject's own: a key may hold a colon, so the reason does not start with it)
  assert.equal(report.rejects[2].reason, 'cannot read "many" as a whole number');
});

test('re-ingesting identical content is a no-op; --force replaces it without duplicates', async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  const a = join(FIXTURES, 'zeek', 'conn-remcos-excerpt.log');
  const copy = join(dir, 'renamed-copy.log');
  writeFileSync(copy, readFileSync(a));
  const first = await ingest(ws, [a]);
  const second = await ingest(ws, [copy]);
  assert.equal(first[0].status, 'loaded');
  assert.equal(second[0].status, 'skipped');
  assert.match(second[0].message ?? '', /already ingested as .*conn-remcos-excerpt\.log/);
  const forced = await ingest(ws, [copy], { force: true });
  assert.equal(forced[0].status, 'loaded');
  assert.equal(await ws.scalar('SELECT count(*) FROM flows'), 12);
  assert.equal(await ws.scalar('SELECT count(*) FROM ingested_files'), 1);
});

test('killing the process mid-ingest leaves a workspace that opens and holds only whole files', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'w.duckdb');
  const small = join(dir, 'small.log');
  writeFileSync(small, `${CONN.join('\n')}\n`);
  const big = join(dir, 'big.log');
  const body = Array.from({ length: 1_500_000 }, (_, i) => DATA[i % DATA.length].replace(/^\d+/, String(1677024003 + i))).join('\n');
  writeFileSync(big, `${HEADER.join('\n')}\n${body}\n`);
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'huntbook.js'), 'ingest', small, big, '--db', db], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    // The small file has committed; kill while the big one loads.
    if (output.includes('small.log →')) setTimeout(() => child.kill('SIGKILL'), 150);
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, null, `expected a kill, got exit ${code}: ${output}`);
  const ws = await Workspace.open(db);
  t.after(() => ws.close());
  const files = await ws.query('SELECT path, loaded FROM ingested_files ORDER BY path');
  const rows = Number(await ws.scalar('SELECT count(*) FROM flows'));
  assert.ok(files.length >= 1, 'the small file committed before the kill');
  assert.equal(
    rows,
    files.reduce((sum, f) => sum + Number(f.loaded), 0),
    'rows in flows = rows of registered files',
  );
  assert.ok(
    files.every((f) => f.path === small || Number(f.loaded) === 1_500_000),
    JSON.stringify(files),
  );
});

/**
 * An ingest of a small log and a big zipped one, stopped by `signal` once the small one landed
 * (while the zip's member is extracted to a temporary folder): its exit code, output and folders.
 */
async function stopMidZip(
  t: { after: (fn: () => void) => void },
  signal: NodeJS.Signals,
): Promise<{ code: number | null; output: string; errors: string; tmp: string; db: string; small: string }> {
  const dir = tempDir(t);
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  const db = join(dir, 'w.duckdb');
  const small = join(dir, 'small.log');
  writeFileSync(small, `${CONN.join('\n')}\n`);
  const body = Array.from({ length: 1_500_000 }, (_, i) => DATA[i % DATA.length].replace(/^\d+/, String(1677024003 + i))).join('\n');
  const zip = join(dir, 'big.zip');
  writeFileSync(zip, zipSync({ 'conn.log': strToU8(`${HEADER.join('\n')}\n${body}\n`) }, { level: 1 }));
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'huntbook.js'), 'ingest', small, zip, '--db', db], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TMPDIR: tmp },
  });
  let output = '';
  let errors = '';
  let sent = false;
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    if (!sent && output.includes('small.log →')) {
      sent = true;
      setTimeout(() => child.kill(signal), 400);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => {
    errors += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, output, errors, tmp, db, small };
}

test('Ctrl-C mid-ingest: a message, exit 130, temporary folders removed, the workspace holds only whole files', async (t) => {
  const { code, output, errors, tmp, db, small } = await stopMidZip(t, 'SIGINT');
  assert.equal(code, 130, `expected exit 130 after Ctrl-C, got ${code}: ${output}${errors}`);
  assert.match(errors, /huntbook: stopping; rolling back/);
  assert.match(errors, /huntbook: interrupted; nothing half-done was kept/);
  assert.deepEqual(
    readdirSync(tmp).filter((name) => name.startsWith('huntbook-')),
    [],
    'temporary folders are removed',
  );
  const ws = await Workspace.open(db);
  t.after(() => ws.close());
  assert.deepEqual(await ws.query('SELECT path, loaded FROM ingested_files'), [{ path: small, loaded: DATA.length }]);
  assert.equal(await ws.scalar('SELECT count(*) FROM flows'), DATA.length);
});

test('one NUL byte costs at most its row, wherever it is: in the first lines a format sniffer reads too', async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  const csv = join(dir, 'proxy.csv');
  const rows = Array.from(
    { length: 1992 },
    (_, i) =>
      `2024-03-04T09:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}Z,10.0.0.${i % 200},example.com,93.184.216.34,http://example.com/${i},u${i % 7},${100 + i},${200 + i},${i === 2 ? 'Mozil\u0000la/5.0' : 'Mozilla/5.0'}`,
  );
  writeFileSync(csv, `_time,src_ip,dest,dest_ip,url,user,bytes_out,bytes_in,http_user_agent\n${rows.join('\n')}\n`);
  const json = join(dir, 'events.ndjson');
  const events = Array.from({ length: 50 }, (_, i) =>
    JSON.stringify({ '@timestamp': '2024-03-04T09:00:00Z', EventID: 1, Channel: 'Security', Computer: 'ws1', User: `u${i}` }),
  );
  events[1] = events[1].replace('"User"', '"\u0000User"').replace('\\u0000', '\u0000');
  writeFileSync(json, `${events.join('\n')}\n`);
  const [a, b] = await ingest(ws, [csv, json]);
  assert.deepEqual([a.status, a.read, a.loaded, a.rejected], ['loaded', 1992, 1992, 0]);
  assert.deepEqual([b.status, b.read, b.loaded + b.rejected], ['loaded', 50, 50]);
  assert.ok(b.rejected <= 1 && b.rejects.every((r) => r.line === 2), JSON.stringify(b.rejects));
});

test('every way an ingest can stop: SIGTERM mid-zip leaves no temporary folder, says what landed, exits 143; a closed pipe lets it finish and says so', async (t) => {
  const { code, output, errors, tmp } = await stopMidZip(t, 'SIGTERM');
  const dir = tempDir(t);
  assert.equal(code, 143, `expected exit 143 after SIGTERM, got ${code}: ${output}${errors}`);
  assert.match(errors, /huntbook: stopping \(SIGTERM\); rolling back/);
  assert.match(errors, /huntbook: 1 file\(s\) loaded \(\d+ rows\) before the stop; the file in progress and the rest were not loaded/);
  assert.match(errors, /huntbook: stopped by SIGTERM; nothing half-done was kept/);
  assert.deepEqual(
    readdirSync(tmp).filter((name) => name.startsWith('huntbook-')),
    [],
    'temporary folders are removed',
  );

  // The reader of stdout leaves after the first line: the ingest still loads every file and says so on stderr.
  const folder = join(dir, 'many');
  mkdirSync(folder);
  for (let i = 0; i < 11; i++)
    writeFileSync(
      join(folder, `conn-${i}.log`),
      `${HEADER.join('\n')}\n${DATA.map((line) => line.replace(/^\d+/, (ts) => String(Number(ts) + i * 1000))).join('\n')}\n`,
    );
  const db2 = join(dir, 'w2.duckdb');
  const piped = spawn(process.execPath, [join(ROOT, 'bin', 'huntbook.js'), 'ingest', folder, '--db', db2], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  piped.stdout.once('data', () => piped.stdout.destroy());
  piped.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const pipedCode = await new Promise<number | null>((resolve) => piped.on('close', resolve));
  assert.equal(pipedCode, 0, stderr);
  assert.match(stderr, /huntbook: output closed early; 11 file\(s\) loaded/);
  const ws = await Workspace.open(db2);
  t.after(() => ws.close());
  assert.equal(Number(await ws.scalar('SELECT count(*) FROM ingested_files')), 11);
});

test('a stop while a JSON file is hashed and staged at once is a stop (exit 130), not an unreadable file', async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  const path = join(dir, 'big.ndjson');
  const line = (n: number) => JSON.stringify({ _time: '2024-01-01T00:00:00Z', src_ip: '10.0.0.1', dest: 'a.example', url: `/${n}` });
  writeFileSync(path, `${Array.from({ length: 300_000 }, (_, n) => line(n)).join('\n')}\n`);
  let stopped = false;
  // The first progress line is the stop's moment: DuckDB is staging the file and this process hashing it.
  const progress = {
    update: () => {
      if (!stopped) requestInterrupt('SIGINT');
      stopped = true;
    },
    done: () => undefined,
  };
  try {
    await assert.rejects(ingest(ws, [path], { progress }), (error: unknown) => {
      assert.ok(error instanceof InterruptedError, String(error));
      assert.equal(error.exitCode, 130);
      return true;
    });
  } finally {
    resetInterrupt();
  }
  assert.equal(stopped, true);
  assert.equal(Number(await ws.scalar('SELECT count(*) FROM ingested_files')), 0);
});
