/**
 * The ClickHouse dialect against real servers: Debian's clickhouse-server 18.16 (started here in
 * a temporary folder) and chdb (ClickHouse 26.x in process). A server that is not installed is
 * said by name, and its half of the test is skipped with the reason; .ci/run installs both.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listValue } from '@duckdb/node-api';
import { clickhouse, clickhouseFor, clickhouseIdent, clickhouseLiteral, LiteralError } from '../src/store/dialect-clickhouse.ts';
import { duckdb } from '../src/store/dialect-duckdb.ts';
import type { Dialect } from '../src/store/dialect.ts';
import { raw, render, type Sql, sql } from '../src/store/sql-template.ts';
import { type ClickHouseUnderTest, useServers } from './clickhouse-servers.ts';
import { cli, openWorkspace, testData } from './helpers.ts';
import { compileDetection } from '../src/rules/sigma/compile.ts';
import { renderBound } from '../src/expr/bound.ts';
import { renderExpr } from '../src/expr/render.ts';
import { loadRuleSources } from '../src/rules/catalog.ts';
import { runRules } from '../src/rules/engine.ts';
import { checkRuleSql } from '../src/rules/sqlcheck.ts';
import { Bindings } from '../src/store/sql.ts';
import type { SqlValue } from '../src/store/sql.ts';
import { Workspace } from '../src/store/workspace.ts';
import { defaultConfig } from '../src/config.ts';
import { runHunt } from '../src/hunts/contract.ts';
import { BASELINE, FLOW, INSIDER, SCORED, TIMING } from '../src/hunts/registry.ts';
import { generate } from '../src/generate/generate.ts';
import { ingest } from '../src/ingest/ingest.ts';
import type { Flags } from '../src/model/flags.ts';
import { clickhouseTables } from '../src/store/clickhouse-ddl.ts';
import { clickhouseLogs, type LogStore } from '../src/store/logs.ts';
import { CANONICAL_COLUMNS, type CanonicalTable, EXTRA_COLUMN, quoteIdent } from '../src/store/schema.ts';

const HOSTILE = [
  "it's",
  'back\\slash',
  "\\'",
  'nul\u0000byte',
  'tab\there\nnewline\r\n',
  '\u007f\u001f\u0001',
  'unicode ☃ 𝄞 é ß 中文',
  '{x:String}',
  "'); DROP TABLE t; --",
  '\\x41 is not A',
  '%_*?',
  '',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${…} is the point: it must stay text
  '$1 ${x} `id`',
];

const { each } = useServers();

/**
 * The workspace's rows of `tables` into fresh tables of `database` on a server, as ingest --logs
 * sends them (whole-second times as text, JSON as text, booleans as 0/1).
 */
async function copyToClickHouse(ws: Workspace, server: ClickHouseUnderTest, database: string, tables: readonly CanonicalTable[]) {
  for (const statement of clickhouseTables({ database })) await server.run(statement);
  for (const table of tables) {
    await server.run(`TRUNCATE TABLE ${database}.${table}`);
    const columns = ['file_id', 'rec', ...CANONICAL_COLUMNS[table].map((c) => c.name)];
    const extra = CANONICAL_COLUMNS[table].some((c) => c.name === EXTRA_COLUMN[table]) ? [] : [EXTRA_COLUMN[table]];
    const select = [...columns, ...extra].map((c) => {
      const type = CANONICAL_COLUMNS[table].find((d) => d.name === c)?.type;
      if (type === 'TIMESTAMP') return `strftime(${quoteIdent(c)}, '%Y-%m-%d %H:%M:%S') AS ${quoteIdent(c)}`;
      if (type === 'JSON' || extra.includes(c)) return `CAST(${quoteIdent(c)} AS VARCHAR) AS ${quoteIdent(c)}`;
      if (type === 'BOOLEAN') return `CAST(${quoteIdent(c)} AS INTEGER) AS ${quoteIdent(c)}`;
      return quoteIdent(c);
    });
    const rows = await ws.query(`SELECT ${select.join(', ')} FROM ${quoteIdent(table)}`);
    for (let i = 0; i < rows.length; i += 20_000) {
      const batch = rows.slice(i, i + 20_000).map((r) => JSON.stringify(r));
      await server.run(`INSERT INTO ${database}.${table} FORMAT JSONEachRow\n${batch.join('\n')}`);
    }
  }
}
const dir = mkdtempSync(join(tmpdir(), 'huntbook-ch-data-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('ClickHouse literals: hostile strings come back exactly as they went in, on every server', async (t) => {
  for (const server of each(t)) {
    for (const text of HOSTILE) {
      const [row] = await server.run(`SELECT ${clickhouseLiteral(text)} AS s, length(${clickhouseLiteral(text)}) AS n`);
      assert.equal(row.s, text, `${server.name} ${server.version}: ${JSON.stringify(text)}`);
      assert.equal(Number(row.n), Buffer.byteLength(text), `${server.name}: byte length of ${JSON.stringify(text)}`);
    }
    const [numbers] = await server.run(
      `SELECT ${clickhouseLiteral(0)} AS a, ${clickhouseLiteral(-1.5)} AS b, toString(${clickhouseLiteral(9007199254740993n)}) AS c, ${clickhouseLiteral(true)} AS d, ${clickhouseLiteral(null)} AS e, ${clickhouseLiteral(listValue(["a'", 'b\\']))} AS f`,
    );
    assert.deepEqual(numbers, { a: 0, b: -1.5, c: '9007199254740993', d: 1, e: null, f: ["a'", 'b\\'] }, server.name);
  }
  assert.throws(() => clickhouseLiteral(Number.NaN), LiteralError);
  assert.throws(() => clickhouseLiteral(Number.POSITIVE_INFINITY), LiteralError);
  assert.equal(clickhouseIdent('src_ip'), '`src_ip`');
  for (const name of ['a`b', 'x; DROP', '1x', '', 'a b', 'ü']) assert.throws(() => clickhouseIdent(name), LiteralError, name);
});

/** The same rows on both engines: a UNION ALL of literal SELECTs reads alike in DuckDB and ClickHouse 18.16. */
const ROWS = [
  { host: 'a', ts: '2024-03-04 09:00:07', size: 10, doc: '{"user":"alice","n":"1"}' },
  { host: 'a', ts: '2024-03-04 10:30:00', size: 30, doc: '{"user":"bob"}' },
  { host: 'b', ts: '2024-03-04 09:59:59', size: 20, doc: '{"n":"2"}' },
  { host: 'a', ts: '2024-03-05 00:00:00', size: 5, doc: '{}' },
  { host: 'b', ts: '2024-03-05 01:00:00', size: 7, doc: '{"note":"c:\\\\temp 50% _x_"}' },
];

function source(d: Dialect): Sql {
  const ts = (text: string) => (d.name === 'duckdb' ? sql`CAST(${text} AS TIMESTAMP)` : sql`toDateTime(${text}, 'UTC')`);
  const rows = ROWS.map((r) => sql`SELECT ${r.host} AS host, ${ts(r.ts)} AS ts, ${r.size} AS size, ${r.doc} AS doc`);
  return sql`(${rows.reduce((all, row) => sql`${all} UNION ALL ${row}`)})`;
}

function features(d: Dialect): Sql {
  const [ts, size, doc, host] = [raw('ts'), raw('size'), raw('doc'), raw('host')];
  return sql`SELECT host,
    count(*) AS n,
    ${d.countIf(sql`size > ${15}`)} AS big,
    ${d.argMax(size, ts)} AS last_size,
    ${d.argMin(size, ts)} AS first_size,
    ${d.listAgg(size, ts)} AS sizes,
    min(${d.epochSeconds(ts)}) AS first_epoch,
    min(${d.epochSeconds(d.timeBucket(3600, ts))}) AS first_hour,
    ${d.listContains(d.listAgg(host), sql`${'a'}`)} AS has_a,
    ${d.countIf(d.regexMatch(doc, sql`${'"user":"(alice|bob)"'}`))} AS users_seen,
    max(${d.jsonField(doc, 'user')}) AS a_user,
    ${d.countIf(sql`${d.jsonField(doc, 'missing')} IS NULL`)} AS absent,
    ${d.countIf(d.call('starts_with', [host, sql`${'a'}`]))} AS starts_a,
    ${d.countIf(d.call('contains', [doc, sql`${'user'}`]))} AS contains_user,
    max(${d.call('length', [doc])}) AS longest,
    ${d.countIf(d.like(doc, '%50!%%', { caseInsensitive: false, negated: false, escape: '!' }))} AS like_escaped,
    ${d.countIf(d.like(doc, '%C:\\\\TEMP%', { caseInsensitive: true, negated: false }))} AS ilike_backslash,
    ${d.countIf(d.like(doc, '%!_x!_%', { caseInsensitive: false, negated: true, escape: '!' }))} AS not_like,
    ${d.countIf(d.like(doc, '%user%', { caseInsensitive: false, negated: false }))} AS like_plain
  FROM ${source(d)} GROUP BY host ORDER BY host`;
}

/** Numbers as numbers (ClickHouse sends 64-bit integers as text), booleans as 0/1 (18.16 has no boolean type). */
function normalise(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  const one = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(one);
    if (typeof v === 'boolean') return Number(v);
    if (typeof v === 'bigint' || (typeof v === 'string' && /^-?\d+$/.test(v))) return Number(v);
    return v;
  };
  return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, one(v)])));
}

test('ClickHouse dialect: every function gives what DuckDB gives on the same rows, on every server', async (t) => {
  const ws: Workspace = await openWorkspace(t);
  const expected = render(features(duckdb), duckdb);
  const want = normalise(await ws.query(expected.text, expected.params));
  assert.equal(want.length, 2);
  assert.deepEqual(want[0].sizes, [10, 30, 5], 'ordered list');
  assert.deepEqual(
    [want[1].like_escaped, want[1].ilike_backslash, want[1].not_like, want[0].like_plain],
    [1, 1, 1, 2],
    'the LIKE cases test something',
  );
  for (const server of each(t)) {
    const { text, params } = render(features(clickhouse), clickhouse);
    assert.deepEqual(params, [], 'ClickHouse takes every value as a literal');
    assert.deepEqual(normalise(await server.run(text)), want, `${server.name} ${server.version}`);
  }
});

test('hunt beacons --mode flow with the logs in ClickHouse: the stage runs there, the same rows come back ranked as on DuckDB', async (t) => {
  const ws: Workspace = await openWorkspace(t);
  const [report] = await ingest(ws, [testData('zeek', 'stratosphere', '008-zeek-mixed', 'data', 'conn.log.labeled')]);
  assert.ok(report.loaded > 5000, `${report.loaded} flows`);
  const columns = ['file_id', 'rec', ...CANONICAL_COLUMNS.flows.map((c) => c.name), 'extra'];
  // The workspace's rows as ClickHouse takes them: times to the second (18.16's DateTime), JSON as text.
  const asClickHouseTakesIt = (c: string) => {
    if (c === 'ts') return `strftime(ts, '%Y-%m-%d %H:%M:%S') AS ts`;
    return c === 'extra' ? 'CAST(extra AS VARCHAR) AS extra' : quoteIdent(c);
  };
  const rows = await ws.query(`SELECT ${columns.map(asClickHouseTakesIt).join(', ')} FROM flows`);
  const cases: Flags[] = [
    { ports: 'all', top: '100000' },
    { ports: '80,443', top: '100000' },
    { ports: 'all', since: '2019-01-01', until: '2030-01-01T00:00:00Z', top: '100000' },
  ];
  const onDuckdb = [];
  for (const flags of cases) onDuckdb.push(await runHunt(ws, FLOW, FLOW.params(defaultConfig(), flags)));
  assert.ok(onDuckdb[0].rows.length > 100, `${onDuckdb[0].rows.length} rows ranked`);
  for (const server of each(t)) {
    for (const statement of clickhouseTables({ database: 'hb_flow' })) await server.run(statement);
    await server.run('TRUNCATE TABLE hb_flow.flows');
    await server.run(`INSERT INTO hb_flow.flows FORMAT JSONEachRow\n${rows.map((r) => JSON.stringify(r)).join('\n')}`);
    const logs = clickhouseLogs(clickhouseFor('hb_flow'), server.run, `${server.name} ${server.version}`);
    for (const [i, flags] of cases.entries()) {
      const pushed = await runHunt(ws, FLOW, FLOW.params(defaultConfig(), flags), logs);
      assert.deepEqual(pushed.rows, onDuckdb[i].rows, `${server.name}: ${JSON.stringify(flags)}`);
    }
  }
});

test('huntbook clickhouse init and hunt --logs against a server: tables made (twice), the flow hunt the same as on the workspace, failures one line each, nothing half-written', async (t) => {
  const server = each(t).find((s) => s.http);
  if (!server) return t.skip('needs clickhouse-server (its HTTP port)');
  const dir = mkdtempSync(join(tmpdir(), 'huntbook-ch-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'w.duckdb');
  const logs = `clickhouse://default@${server.http}/hb_cli`;
  const printed = await cli('clickhouse', 'init', '--logs', 'clickhouse://x@127.0.0.1:1/somewhere', '--print');
  assert.equal(printed.code, 0, printed.stderr);
  assert.equal(printed.stdout.trim().split('\n').length, 8, 'a database and the seven log tables, printed without connecting');
  for (let i = 0; i < 2; i++) {
    const init = await cli('clickhouse', 'init', '--logs', logs);
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stderr, /7 tables ready in clickhouse:\/\/default@127\.0\.0\.1:\d+\/hb_cli \(ClickHouse 18\.16/);
  }
  const [tables] = await server.run("SELECT count() AS n FROM system.tables WHERE database = 'hb_cli'");
  assert.equal(Number(tables.n), 7);
  assert.equal(
    (await cli('ingest', testData('zeek', 'stratosphere', '008-zeek-mixed', 'data', 'conn.log.labeled'), '--db', db, '-q')).code,
    0,
  );
  const ws = await Workspace.open(db);
  const rows = await ws.query(
    `SELECT file_id, rec, ${CANONICAL_COLUMNS.flows.map((c) => (c.name === 'ts' ? `strftime(ts, '%Y-%m-%d %H:%M:%S') AS ts` : quoteIdent(c.name))).join(', ')}, CAST(extra AS VARCHAR) AS extra FROM flows`,
  );
  ws.close();
  await server.run(`INSERT INTO hb_cli.flows FORMAT JSONEachRow\n${rows.map((r) => JSON.stringify(r)).join('\n')}`);
  const local = await cli('hunt', 'beacons', '--mode', 'flow', '--ports', 'all', '--top', '500', '--db', db, '--format', 'json');
  const pushed = await cli(
    'hunt',
    'beacons',
    '--mode',
    'flow',
    '--ports',
    'all',
    '--top',
    '500',
    '--db',
    db,
    '--format',
    'json',
    '--logs',
    logs,
  );
  assert.equal(pushed.code, 0, pushed.stderr);
  assert.match(pushed.stderr, /logs: ClickHouse 18\.16\.1 at clickhouse:\/\/default@/);
  assert.ok(JSON.parse(local.stdout).length > 100);
  assert.equal(pushed.stdout, local.stdout, 'the same ranked rows, printed the same');
  const runs = async () => {
    const w = await Workspace.open(db, { readOnly: true });
    try {
      return Number(await w.scalar('SELECT count(*) FROM hunt_runs'));
    } finally {
      w.close();
    }
  };
  const before = await runs();
  const failures: [string[], number, RegExp][] = [
    [
      ['--logs', 'clickhouse://default@127.0.0.1:1/hb_cli'],
      1,
      /^huntbook: cannot reach ClickHouse at clickhouse:\/\/default@127\.0\.0\.1:1\/hb_cli \(ECONNREFUSED\)/m,
    ],
    [
      ['--logs', `clickhouse://nobody@${server.http}/hb_cli`],
      1,
      /refused user nobody: wrong user or password \(\$HUNTBOOK_CLICKHOUSE_PASSWORD\)/,
    ],
    [
      ['--logs', `clickhouse://default@${server.http}/hb_missing`],
      1,
      /does not exist; create the tables with: huntbook clickhouse init --logs/,
    ],
    [
      ['--logs', `clickhouse://default:secret@${server.http}/hb_cli`],
      2,
      /no password in the address; put it in \$HUNTBOOK_CLICKHOUSE_PASSWORD/,
    ],
    [['--logs', 'postgres://x@y/z'], 2, /only clickhouse:\/\/ \(HTTP\) and clickhouses:\/\/ \(HTTPS\)/],
  ];
  for (const [extra, code, message] of failures) {
    const failed = await cli('hunt', 'beacons', '--mode', 'flow', '--db', db, ...extra);
    assert.equal(failed.code, code, `${extra.join(' ')}: ${failed.stderr}`);
    assert.match(failed.stderr, message, extra.join(' '));
    assert.equal(
      failed.stderr
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('huntbook:')).length,
      1,
      'one line',
    );
  }
  // The timing mode's stage runs there too: this capture's sources are all public, so both say
  // which filter removed what, with the same counts, read through ClickHouse and from the workspace.
  const timingThere = await cli('hunt', 'beacons', '--db', db, '--logs', logs);
  const timingHere = await cli('hunt', 'beacons', '--db', db);
  assert.equal(timingThere.code, 2, timingThere.stderr);
  const why = (text: string) => text.split('\n').find((l) => l.startsWith('huntbook: no records left to score'));
  assert.match(why(timingThere.stderr) ?? '', /of 5663 connections: 5663 have a source outside the internal networks/);
  assert.equal(why(timingThere.stderr), why(timingHere.stderr));
  assert.equal(await runs(), before, 'no run kept by a failed hunt');
});

const SIGMA_EVENTS = [
  { host: 'h-contains', Image: 'C:\\Windows\\System32\\cmd.exe', CommandLine: 'cmd /c whoami /all', User: 'alice' },
  { host: 'h-re', Image: 'C:\\Tools\\x.exe', CommandLine: 'line1\nSECRET=42' },
  { host: 'h-cidr', Image: 'C:\\a.exe', DestinationIp: '10.1.2.3', User: 'root' },
  { host: 'h-cidr-out', Image: 'C:\\a.exe', DestinationIp: '11.1.2.3', User: 'Administrator' },
  { host: 'h-v6-loop', Image: 'C:\\a.exe', DestinationIp: '::1' },
  { host: 'h-v6-link', Image: 'C:\\a.exe', DestinationIp: 'FE80::abcd' },
  { host: 'h-v6-ula', Image: 'C:\\a.exe', DestinationIp: 'fd12:3456::1' },
  {
    host: 'h-b64',
    Image: 'C:\\p.exe',
    CommandLine: `powershell -e ${Buffer.from('  IEX (New-Object Net.WebClient)', 'utf16le').toString('base64')}`,
  },
  { host: 'h-dash', Image: 'C:\\p.exe', CommandLine: 'powershell \u2013enc AAAA' },
  { host: 'h-num', Image: 'C:\\n.exe', Count: '17', Other: 'C:\\n.exe' },
  { host: 'h-case', Image: 'C:\\CasE.exe', Tag: '%ADMIN%' },
  { host: 'h-pct', Image: 'C:\\q.exe', CommandLine: 'discount 50% off école' },
  { host: 'h-pct2', Image: 'C:\\q.exe', CommandLine: 'discount 50x off' },
];
const SIGMA_FIELDS = ['host', 'Image', 'CommandLine', 'DestinationIp', 'User', 'Count', 'Other', 'Tag'];
const SIGMA_DETECTIONS: Record<string, unknown>[] = [
  { sel: { 'CommandLine|contains|all': ['WHOAMI', '/ALL'] }, condition: 'sel' },
  { sel: { 'Image|endswith': '\\cmd.exe' }, condition: 'sel' },
  { sel: { 'Image|startswith': 'C:\\Tools' }, condition: 'sel' },
  { sel: { 'CommandLine|re': 'SECRET=\\d+' }, condition: 'sel' },
  { sel: { 'CommandLine|re|i': 'secret=4' }, condition: 'sel' },
  { sel: { 'DestinationIp|cidr': ['10.0.0.0/8', '192.168.0.0/16'] }, condition: 'sel' },
  { sel: { 'DestinationIp|cidr': ['::1/128', 'fc00::/7'] }, condition: 'sel' },
  { sel: { 'DestinationIp|cidr': 'fe80::/10' }, filter: { 'DestinationIp|cidr': '::1/128' }, condition: 'sel or not filter' },
  { sel: { 'CommandLine|wide|base64offset|contains': 'IEX (New-Object' }, condition: 'sel' },
  { sel: { 'CommandLine|windash|contains': ' -enc ' }, condition: 'sel' },
  { sel: { 'Count|gt': 10 }, condition: 'sel' },
  { sel: { 'Image|fieldref': 'Other' }, condition: 'sel' },
  { sel: { 'Tag|exists': true }, condition: 'sel' },
  { sel: { 'Tag|exists': false }, condition: 'sel' },
  { sel: { 'User|expand': '%admins%' }, condition: 'sel' },
  { sel: { 'Image|cased': 'C:\\CasE.exe' }, condition: 'sel' },
  { sel: { Image: 'c:\\case.EXE' }, condition: 'sel' },
  { keywords: ['whoami', 'SECRET'], condition: 'keywords' },
  { sel: { Image: '*\\?.exe' }, filter: { User: null }, condition: 'sel and not filter' },
  { sel: { CommandLine: '*50%*' }, condition: 'sel' },
  { sel: { 'CommandLine|contains': 'ÉCOLE' }, condition: 'sel' },
  { sel: { CommandLine: ['*whoami*', '*SECRET*', '*enc*'] }, condition: '1 of sel' },
  // Two values (a short list) beside another field: the list's OR must stay inside the AND.
  { sel: { 'Image|endswith': ['\\a.exe', '\\n.exe'], User: 'root' }, condition: 'sel' },
  { sel: { Image: ['C:\\a.exe', 'C:\\q.exe'], CommandLine: '*50*' }, condition: 'sel' },
  // A long list (one IN, one regular expression) beside another field.
  {
    sel: { 'Image|endswith': ['\\a.exe', '\\n.exe', '\\x.exe', '\\p.exe'], 'DestinationIp|startswith': ['10.', '11.', '12.'] },
    condition: 'sel',
  },
  {
    sel: { Image: ['c:\\a.exe', 'C:\\Q.exe', 'c:\\tools\\x.exe', 'nothing'], 'CommandLine|contains': ['50', 'line', '(x', '.+'] },
    condition: 'sel',
  },
];

test('Sigma rendered for ClickHouse matches the events DuckDB matches, modifier by modifier, on every server', async (t) => {
  const ws: Workspace = await openWorkspace(t);
  await ws.run(`CREATE TABLE ev (${SIGMA_FIELDS.map((f) => `${quoteIdent(f)} VARCHAR`).join(', ')})`);
  await ws.append(
    'ev',
    SIGMA_EVENTS.map((e) => SIGMA_FIELDS.map((f) => (e as Record<string, string | undefined>)[f] ?? null)),
  );
  const placeholders = { admins: ['root', 'Admin*'] };
  const field = (quote: (n: string) => string) => (name: string) => (SIGMA_FIELDS.includes(name) ? quote(name) : 'NULL');
  const expected: string[][] = [];
  for (const detection of SIGMA_DETECTIONS) {
    const params: SqlValue[] = [];
    const cond = compileDetection(
      detection,
      { field: field(quoteIdent), fullText: () => '"CommandLine"', bind: (v) => `$${params.push(v)}`, placeholders },
      'duckdb',
    );
    expected.push((await ws.query(`SELECT host FROM ev WHERE coalesce(${cond}, false) ORDER BY host`, params)).map((r) => String(r.host)));
  }
  assert.ok(
    expected.filter((hosts) => hosts.length > 0).length >= SIGMA_DETECTIONS.length - 1,
    `rules that match on DuckDB: ${JSON.stringify(expected)}`,
  );
  for (const server of each(t)) {
    await server.run('CREATE DATABASE IF NOT EXISTS hb_sigma');
    await server.run('DROP TABLE IF EXISTS hb_sigma.ev');
    await server.run(
      `CREATE TABLE hb_sigma.ev (${SIGMA_FIELDS.map((f) => `${clickhouseIdent(f)} Nullable(String)`).join(', ')}) ENGINE = Memory`,
    );
    await server.run(`INSERT INTO hb_sigma.ev FORMAT JSONEachRow\n${SIGMA_EVENTS.map((e) => JSON.stringify(e)).join('\n')}`);
    for (const [i, detection] of SIGMA_DETECTIONS.entries()) {
      const cond = compileDetection(
        detection,
        { field: field(clickhouseIdent), fullText: () => '`CommandLine`', bind: clickhouseLiteral, placeholders },
        'clickhouse',
      );
      const hosts = (await server.run(`SELECT host FROM hb_sigma.ev WHERE coalesce(${cond}, 0) ORDER BY host`)).map((r) => String(r.host));
      assert.deepEqual(hosts, expected[i], `${server.name} ${server.version}: ${JSON.stringify(detection)}`);
    }
  }
});

test('the expression language rendered for ClickHouse: every shipped rule and feature condition selects the rows DuckDB selects (CERT-layout data)', async (t) => {
  const ws: Workspace = await openWorkspace(t);
  await ingest(ws, [testData('cert-layout', 'r4.2')]);
  const { rules } = await loadRuleSources([], []);
  const conditions = [
    ...rules.filter((r) => r.sql !== undefined).map((r) => ({ id: r.id, table: r.table, text: r.sql! })),
    ...defaultConfig().baseline.features.map((f) => ({ id: `feature ${f.name}`, table: f.table, text: f.where })),
  ];
  const tables = [...new Set(conditions.map((c) => c.table))];
  const expected: number[] = [];
  for (const c of conditions) {
    const { values, bind } = new Bindings();
    expected.push(
      Number(
        await ws.scalar(
          `SELECT count(*) FROM ${quoteIdent(c.table)} WHERE coalesce(${renderBound(checkRuleSql(c.text, c.table), bind)}, false)`,
          values,
        ),
      ),
    );
  }
  assert.ok(expected.filter((n) => n > 0).length >= 5, `conditions that select rows: ${expected}`);
  for (const server of each(t)) {
    await copyToClickHouse(ws, server, 'hb_expr', tables);
    const dialect = clickhouseFor('hb_expr');
    for (const [i, c] of conditions.entries()) {
      const where = render(renderExpr(checkRuleSql(c.text, c.table), dialect), dialect).text;
      const [row] = await server.run(`SELECT count() AS n FROM hb_expr.${c.table} WHERE coalesce(${where}, 0)`);
      assert.equal(Number(row.n), expected[i], `${server.name} ${server.version}: ${c.id}`);
    }
  }
});

test('hunt beacons --mode scored with the logs in ClickHouse: the same features, ranks and reasons as on DuckDB (generated proxy logs)', async (t) => {
  const ws: Workspace = await openWorkspace(t);
  const out = join(dir, 'scored-data');
  generate({ seed: 5, users: 60, days: 3, out });
  await ingest(ws, [join(out, 'proxy.csv')]);
  const columns = ['file_id', 'rec', ...CANONICAL_COLUMNS.http.map((c) => c.name), 'extra'];
  const select = columns.map((c) => {
    if (c === 'ts') return `strftime(ts, '%Y-%m-%d %H:%M:%S') AS ts`;
    return c === 'extra' ? 'CAST(extra AS VARCHAR) AS extra' : quoteIdent(c);
  });
  const rows = await ws.query(`SELECT ${select.join(', ')} FROM http`);
  // Whole seconds on both sides: 18.16's DateTime keeps no fraction.
  await ws.run("UPDATE http SET ts = date_trunc('second', ts)");
  const cases: Flags[] = [{ all: true }, { all: true, model: 'kmeans' }, { all: true, since: '2026-01-06' }];
  // Each run alone: earlier periods' pairs would join the model as history.
  const alone = async (logs?: LogStore, flags: Flags = {}) => {
    await ws.run('DELETE FROM results');
    await ws.run('DELETE FROM hunt_runs');
    return runHunt(ws, SCORED, SCORED.params(defaultConfig(), flags), logs);
  };
  const onDuckdb = [];
  for (const flags of cases) onDuckdb.push(await alone(undefined, flags));
  assert.ok(onDuckdb[0].rows.length >= 10, `${onDuckdb[0].rows.length} pairs scored`);
  for (const server of each(t)) {
    for (const statement of clickhouseTables({ database: 'hb_scored' })) await server.run(statement);
    await server.run('TRUNCATE TABLE hb_scored.http');
    for (let i = 0; i < rows.length; i += 20_000) {
      await server.run(
        `INSERT INTO hb_scored.http FORMAT JSONEachRow\n${rows
          .slice(i, i + 20_000)
          .map((r) => JSON.stringify(r))
          .join('\n')}`,
      );
    }
    const logs = clickhouseLogs(clickhouseFor('hb_scored'), server.run, `${server.name} ${server.version}`);
    for (const [i, flags] of cases.entries()) {
      const pushed = await alone(logs, flags);
      assert.deepEqual(pushed.rows, onDuckdb[i].rows, `${server.name}: ${JSON.stringify(flags)}`);
    }
  }
});

test('hunt beacons (timing) with the logs in ClickHouse: conn, http and ssl joined by uid there, ssl and http without conn, proxy requests; the same pairs, scores, ranks and reasons as on DuckDB', async (t) => {
  const ws: Workspace = await openWorkspace(t);
  const zeek = testData('zeek', 'stratosphere', '008-zeek-mixed', 'data');
  const out = join(dir, 'timing-data');
  generate({ seed: 9, users: 20, days: 2, out });
  await ingest(ws, [
    join(zeek, 'conn.log.labeled'),
    join(zeek, 'http.log.labeled'),
    join(zeek, 'ssl.log.labeled'),
    testData('zeek', 'wrccdc2018', 'zeek-default', 'ssl.log.gz'),
    join(out, 'proxy.csv'),
  ]);
  // Whole seconds on both sides: 18.16's DateTime keeps no fraction (the latest request of a uid must be the same one).
  for (const table of ['flows', 'http', 'tls']) await ws.run(`UPDATE ${table} SET ts = date_trunc('second', ts)`);
  const tables = ['flows', 'http', 'tls'] as const;
  const copies: Record<string, Record<string, unknown>[]> = {};
  for (const table of tables) {
    const select = ['file_id', 'rec', ...CANONICAL_COLUMNS[table].map((c) => c.name), 'extra'].map((c) => {
      if (c === 'ts') return `strftime(ts, '%Y-%m-%d %H:%M:%S') AS ts`;
      return c === 'extra' ? 'CAST(extra AS VARCHAR) AS extra' : quoteIdent(c);
    });
    copies[table] = await ws.query(`SELECT ${select.join(', ')} FROM ${table}`);
  }
  const cases: Flags[] = [
    { top: '100000' },
    { top: '100000', eachDay: true },
    { top: '100000', internal: '10.164.0.0/16', includeAllowed: true },
    { top: '100000', internal: '10.164.0.0/16', since: '2018-03-24T17:00:00', until: '2018-03-25' },
  ];
  const onDuckdb = [];
  for (const flags of cases) onDuckdb.push(await runHunt(ws, TIMING, TIMING.params(defaultConfig(), flags)));
  const kinds = new Set(onDuckdb.flatMap((o) => o.rows.map((r) => String(r.kind))));
  assert.ok(onDuckdb[0].rows.length > 50, `${onDuckdb[0].rows.length} pairs ranked`);
  assert.ok(kinds.has('host') && kinds.has('ip'), `host and IP pairs: ${[...kinds].join(', ')}`);
  assert.ok(
    onDuckdb[2].rows.length > 0 && onDuckdb[3].rows.length > 0,
    `ssl without conn (WRCCDC) scores as its own records: ${onDuckdb.map((o) => o.rows.length).join(', ')}`,
  );
  for (const server of each(t)) {
    for (const statement of clickhouseTables({ database: 'hb_timing' })) await server.run(statement);
    for (const table of tables) {
      await server.run(`TRUNCATE TABLE hb_timing.${table}`);
      const rows = copies[table];
      for (let i = 0; i < rows.length; i += 20_000) {
        const batch = rows.slice(i, i + 20_000).map((r) => JSON.stringify(r));
        await server.run(`INSERT INTO hb_timing.${table} FORMAT JSONEachRow\n${batch.join('\n')}`);
      }
    }
    const logs = clickhouseLogs(clickhouseFor('hb_timing'), server.run, `${server.name} ${server.version}`);
    for (const [i, flags] of cases.entries()) {
      const pushed = await runHunt(ws, TIMING, TIMING.params(defaultConfig(), flags), logs);
      assert.deepEqual(pushed.rows, onDuckdb[i].rows, `${server.name}: ${JSON.stringify(flags)}`);
      assert.deepEqual(
        pushed.notes.map((n) => n.replace(/run \d+/, 'run N')),
        onDuckdb[i].notes.map((n) => n.replace(/run \d+/, 'run N')),
      );
    }
  }
});

test('hunt baseline with the logs in ClickHouse: user-days, first times and peers aggregated there, detections from the workspace; the same days of interest, reasons and notes as on DuckDB (generated enterprise)', async (t) => {
  const ws: Workspace = await openWorkspace(t);
  const out = join(dir, 'baseline-data');
  generate({ seed: 3, users: 40, days: 18, scale: 0.03, out });
  await ingest(ws, [out]);
  const tables = ['activity', 'events', 'http', 'directory'] as const;
  // Whole seconds on both sides: 18.16's DateTime keeps no fraction.
  for (const table of tables) if (table !== 'directory') await ws.run(`UPDATE ${table} SET ts = date_trunc('second', ts)`);
  const report = await runRules(ws, (await loadRuleSources([], [])).rules);
  assert.ok(report.inserted > 0, 'the rules made detections');
  const cases: Flags[] = [{ top: '1000' }, { top: '1000', peerKey: 'department' }, { top: '1000', since: '2026-01-09' }];
  const onDuckdb = [];
  for (const flags of cases) onDuckdb.push(await runHunt(ws, BASELINE, BASELINE.params(defaultConfig(), flags)));
  assert.ok(onDuckdb[0].rows.length >= 5, `${onDuckdb[0].rows.length} days of interest`);
  assert.notDeepEqual(onDuckdb[2].rows, onDuckdb[0].rows, '--since cuts the history');
  // hunt insider's stage is baseline's: it goes along.
  const insiderOnDuckdb = await runHunt(ws, INSIDER, INSIDER.params(defaultConfig(), { top: '1000' }));
  assert.ok(insiderOnDuckdb.rows.length > 0);
  const userDays = Number(await ws.scalar('SELECT count(*) FROM (SELECT DISTINCT "user", CAST(ts AS DATE) FROM activity)'));
  const servers = each(t);
  for (const server of servers) await copyToClickHouse(ws, server, 'hb_baseline', tables);
  // The raw rows leave the workspace, as ingest --logs sends them: nothing may read them here.
  for (const table of tables) await ws.run(`DELETE FROM ${table}`);
  for (const server of servers) {
    const returned: Record<string, number> = {};
    const inner = clickhouseLogs(clickhouseFor('hb_baseline'), server.run, `${server.name} ${server.version}`);
    const logs: LogStore = { ...inner, land: async (w, stage) => (returned[stage.table] = await inner.land(w, stage)) };
    for (const [i, flags] of cases.entries()) {
      const pushed = await runHunt(ws, BASELINE, BASELINE.params(defaultConfig(), flags), logs);
      assert.deepEqual(pushed.rows, onDuckdb[i].rows, `${server.name}: ${JSON.stringify(flags)}`);
      assert.deepEqual(
        pushed.notes.map((n) => n.replace(/run \d+/, 'run N')),
        onDuckdb[i].notes.map((n) => n.replace(/run \d+/, 'run N')),
      );
    }
    t.diagnostic(
      `${server.name}: rows back ${JSON.stringify(returned)}; days of interest ${onDuckdb.map((o) => o.rows.length).join(', ')}`,
    );
    // What came back: user-days, never raw rows (the workspace built the matrix from them).
    assert.ok(
      returned.hb_bl_t_activity > 0 && returned.hb_bl_t_activity <= userDays + 40,
      `${JSON.stringify(returned)} vs ${userDays} user-days`,
    );
  }
});
