import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { formatSeconds, progressText } from '../src/progress.ts';
import { escapeControl, guardCsvCell, renderRows } from '../src/report/format.ts';
import { escapeHtml } from '../src/workbench/report.ts';
import { cli, tempDir, emptyWorkspaceFile } from './helpers.ts';

test('CSV export guards cells a spreadsheet would run as formulas, and quotes what needs it', () => {
  const rows = [{ url: '=HYPERLINK("http://x")', user: '+alice', note: '@SUM(A1)', n: -5, text: 'a,"b"', dash: '-cmd' }];
  const out = renderRows('csv', ['url', 'user', 'note', 'n', 'text', 'dash'], rows);
  assert.equal(out, `url,user,note,n,text,dash\n"'=HYPERLINK(""http://x"")",'+alice,'@SUM(A1),-5,"a,""b""",'-cmd\n`);
  assert.equal(guardCsvCell('\t=1+1'), "'\t=1+1");
  assert.equal(guardCsvCell('-3.5'), '-3.5');
});

test('JSON keys are exactly the column names, in ranked order; NDJSON one object a line', () => {
  const rows = [
    { 'dest ip': '1.2.3.4', score: 0.9 },
    { 'dest ip': '5.6.7.8', score: 0.1 },
  ];
  assert.deepEqual(JSON.parse(renderRows('json', ['dest ip', 'score'], rows)), rows);
  assert.equal(renderRows('ndjson', ['dest ip', 'score'], rows), '{"dest ip":"1.2.3.4","score":0.9}\n{"dest ip":"5.6.7.8","score":0.1}\n');
});

test('terminal tables escape control characters from log fields', () => {
  const out = renderRows('table', ['ua'], [{ ua: 'evil\u001b[2Jclear' }]);
  assert.match(out, /evil\\x1b\[2Jclear/);
  assert.doesNotMatch(out, /\u001b/);
});

test('huntbook sql prints every format and refuses writes unless --write', async (t) => {
  const db = await emptyWorkspaceFile(tempDir(t));
  const created = await cli('sql', "CREATE TABLE notes AS SELECT 1 AS id, '=2+2' AS body", '--db', db, '--write');
  assert.equal(created.code, 0, created.stderr);
  const csv = await cli('sql', 'SELECT * FROM notes', '--db', db, '--format', 'csv');
  assert.equal(csv.stdout, "id,body\n1,'=2+2\n");
  const json = await cli('sql', 'SELECT * FROM notes', '--db', db, '--format', 'json');
  assert.deepEqual(JSON.parse(json.stdout), [{ id: 1, body: '=2+2' }]);
  const table = await cli('sql', 'SELECT * FROM notes', '--db', db);
  assert.match(table.stdout, /^id {2}body\n── {2}────\n 1 {2}=2\+2\n\(1 row\)\n$/);
  const denied = await cli('sql', 'DROP TABLE notes', '--db', db);
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, /^huntbook: SQL: .*read-only.*add --write/im);
  const typo = await cli('sql', 'SELEC 1', '--db', db);
  assert.equal(typo.code, 1);
  assert.match(typo.stderr, /^huntbook: SQL: Parser Error: syntax error at or near "SELEC"/m);
  assert.doesNotMatch(typo.stderr, /unexpected error/);
  const badFormat = await cli('sql', 'SELECT 1', '--db', db, '--format', 'xml');
  assert.equal(badFormat.code, 1);
  assert.match(badFormat.stderr, /Allowed choices are table, json, csv, ndjson/);
});

test('huntbook sql sees only the workspace: no COPY TO, read_text, EXPORT or ATTACH unless --allow-files', async (t) => {
  const dir = tempDir(t);
  const db = await emptyWorkspaceFile(dir);
  assert.equal((await cli('sql', 'CREATE TABLE notes AS SELECT 1 AS id', '--db', db, '--write')).code, 0);
  for (const [query, write] of [
    [`COPY notes TO '${dir}/out.csv'`, false],
    [`COPY notes TO '${dir}/out.csv'`, true],
    ["SELECT * FROM read_text('/etc/passwd')", false],
    [`EXPORT DATABASE '${dir}/export'`, true],
    [`ATTACH '${dir}/other.duckdb'`, true],
    ['SET enable_external_access = true', true],
  ] as const) {
    const result = await cli('sql', query, '--db', db, ...(write ? ['--write'] : []));
    assert.equal(result.code, 1, `${query}: ${result.stderr}`);
    assert.match(result.stderr, /disabled by configuration|configuration has been locked/, query);
  }
  assert.equal(existsSync(`${dir}/out.csv`), false);
  assert.equal(existsSync(`${dir}/other.duckdb`), false);
  const allowed = await cli('sql', `COPY notes TO '${dir}/out.csv'`, '--db', db, '--allow-files');
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.equal(readFileSync(`${dir}/out.csv`, 'utf8'), 'id\n1\n');
});

test('progress text: bar, percent, rate and ETA from the share done and the time spent', () => {
  // 25 % done after 30 s: 90 s to go; 5,000 events in 30 s: 167 events/s.
  assert.equal(progressText(0.25, 30, 8, { done: 5000, unit: 'events' }), '[##......]  25%  167 events/s  ETA 1m30s');
  assert.equal(progressText(undefined, 75, 8), '1m15s', 'no share known: elapsed time only');
  assert.equal(formatSeconds(7322), '2h02m');
});

test("every command that takes SQL from a user keeps huntbook sql's rules: one statement, read-only, no file access unless --allow-files", async (t) => {
  const dir = tempDir(t);
  const db = await emptyWorkspaceFile(dir);
  assert.equal((await cli('sql', 'CREATE TABLE notes AS SELECT range AS a, range * 2 AS b FROM range(20)', '--db', db, '--write')).code, 0);
  const hostile = [
    `SELECT a, b FROM notes) t; DROP TABLE triage; COPY (SELECT 1) TO '${dir}/x.csv'; SELECT * FROM (SELECT 1`,
    'SELECT a, b FROM notes; DROP TABLE triage',
    "SELECT length(content) AS a, 1 AS b FROM read_text('/etc/passwd')",
    `SELECT a, b FROM read_csv('${dir}/none.csv')`,
  ];
  for (const command of ['outliers', 'cluster']) {
    for (const source of hostile) {
      const result = await cli(command, source, '--features', 'a,b', '--db', db);
      assert.notEqual(result.code, 0, `${command} ${source}: ${result.stdout}`);
      assert.match(
        result.stderr,
        /one statement at a time|syntax error|disabled by configuration|Permission Error/,
        `${command} ${source}`,
      );
    }
    const fine = await cli(command, 'SELECT a, b FROM notes', '--features', 'a,b', '--db', db, '--format', 'json');
    assert.equal(fine.code, 0, fine.stderr);
  }
  const sql = await cli('sql', 'SELECT 1; DROP TABLE triage', '--db', db, '--write');
  assert.equal(sql.code, 1);
  assert.match(sql.stderr, /SQL: one statement at a time \(this text holds 2\)/);
  assert.equal(
    Number(
      JSON.parse(
        (
          await cli(
            'sql',
            "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'triage'",
            '--db',
            db,
            '--format',
            'json',
          )
        ).stdout,
      )[0].n,
    ),
    1,
  );
  assert.equal(existsSync(`${dir}/x.csv`), false);
});

test('bidirectional controls from logs are shown escaped, never obeyed: terminal tables and the report', () => {
  const user = 'admin\u202enimda';
  const table = renderRows('table', ['user'], [{ user }]);
  assert.ok(!table.includes('\u202e'), table);
  assert.match(table, /admin\\u202enimda/);
  for (const ch of ['\u202a', '\u202b', '\u202c', '\u202d', '\u2066', '\u2067', '\u2068', '\u2069', '\u200e', '\u200f', '\u061c'])
    assert.ok(!escapeControl(`a${ch}b`).includes(ch), JSON.stringify(ch));
  assert.equal(escapeHtml(`<b>${user}</b>`), '&lt;b&gt;admin\\u202enimda&lt;/b&gt;');
});

test('a table of any size prints: 150,000 rows in table format, as csv and json do', async (t) => {
  const dir = tempDir(t);
  const db = await emptyWorkspaceFile(dir);
  const result = await cli('sql', "SELECT range AS n, 'x' || range AS label FROM range(150000)", '--db', db);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /\(150000 rows\)\n$/);
  assert.match(result.stdout, /^149999 {2}x149999$/m);
});
