/**
 * `ingest --logs clickhouse://…` against real ClickHouse (Debian's 18.16 server, and chdb when
 * installed): rows read and counted in the workspace, then kept in ClickHouse; a stopped ingest
 * finished without a row twice; --force replacing a file's rows; hunts there giving what the
 * workspace gives on the same files.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClickHouseUnderTest, runnerWriter, startServer, useServers } from './clickhouse-servers.ts';
import { cli, openWorkspace, testData } from './helpers.ts';
import { generate } from '../src/generate/generate.ts';
import { writeInstafakeSet } from './instafake.ts';
import { ingest } from '../src/ingest/ingest.ts';
import { type ClickHouseWriter, hiddenFiles, shipFile, shipTo } from '../src/store/clickhouse-ship.ts';
import { clickhouseTables } from '../src/store/clickhouse-ddl.ts';
import { clickhouseFor, clickhouseIdent } from '../src/store/dialect-clickhouse.ts';
import { CANONICAL_COLUMNS, type CanonicalTable, EXTRA_COLUMN, quoteIdent } from '../src/store/schema.ts';
import { clickhouseLogs } from '../src/store/logs.ts';
import { runHunt } from '../src/hunts/contract.ts';
import { FLOW } from '../src/hunts/registry.ts';
import { defaultConfig } from '../src/config.ts';
import { Workspace } from '../src/store/workspace.ts';

const { each } = useServers();

const ZEEK = (name: string) => testData('zeek', 'stratosphere', '008-zeek-mixed', 'data', name);

async function count(server: ClickHouseUnderTest, query: string): Promise<number> {
  const [row] = await server.run(query);
  return Number(Object.values(row)[0]);
}

test('ingest --logs: each file read and counted here, its rows kept in ClickHouse (18.16), --force replaces them, hunts there give what the workspace gives', async (t) => {
  const server = each(t).find((s) => s.http);
  if (!server) return t.skip('needs clickhouse-server (its HTTP port)');
  const work = mkdtempSync(join(tmpdir(), 'huntbook-chi-cli-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const [db, plain] = [join(work, 'case.duckdb'), join(work, 'plain.duckdb')];
  const logs = `clickhouse://default@${server.http}/hb_ingest`;
  assert.equal((await cli('clickhouse', 'init', '--logs', logs)).code, 0);
  const files = [ZEEK('conn.log.labeled'), ZEEK('http.log.labeled'), ZEEK('ssl.log.labeled'), ZEEK('notice.log.labeled')];

  const sent = await cli('ingest', ...files, '--db', db, '--logs', logs);
  assert.equal(sent.code, 0, sent.stderr);
  assert.match(
    sent.stdout,
    /conn\.log\.labeled → flows \(zeek\): read 5663, loaded 5663, rejected 0 .*\n {2}5663 rows now in ClickHouse clickhouse:\/\/default@127\.0\.0\.1:\d+\/hb_ingest/,
  );
  assert.match(
    sent.stdout,
    /notice\.log\.labeled → zeek_notice .*\n {2}warning: zeek_notice is not a table ClickHouse .* keeps: the rows stay in the workspace/,
  );
  assert.equal(await count(server, 'SELECT count() FROM hb_ingest.flows'), 5663);
  assert.equal(await count(server, 'SELECT count() FROM hb_ingest.http'), 342);
  assert.equal(await count(server, 'SELECT count() FROM hb_ingest.tls'), 545);
  const ws = await Workspace.open(db, { readOnly: true });
  try {
    assert.equal(Number(await ws.scalar('SELECT count(*) FROM flows')), 0, 'the rows left the workspace');
    assert.equal(Number(await ws.scalar('SELECT count(*) FROM zeek_notice')), 16, 'a table ClickHouse has not stays here');
    assert.deepEqual(
      (await ws.query('SELECT target_table, read, loaded, rejected FROM ingested_files ORDER BY file_id')).map((r) =>
        Object.values(r).map(String),
      ),
      [
        ['flows', '5663', '5663', '0'],
        ['http', '342', '342', '0'],
        ['tls', '545', '545', '0'],
        ['zeek_notice', '16', '16', '0'],
      ],
      'the accounting stays in the workspace',
    );
    assert.deepEqual(
      (await ws.query('SELECT tables, state, rows FROM clickhouse_files ORDER BY file_id')).map((r) => Object.values(r).map(String)),
      [
        ['flows', 'stored', '5663'],
        ['http', 'stored', '342'],
        ['tls', 'stored', '545'],
      ],
    );
  } finally {
    ws.close();
  }
  // Record keys and values made the trip: one row checked field by field against the workspace's copy.
  assert.equal((await cli('ingest', ZEEK('conn.log.labeled'), '--db', plain, '-q')).code, 0);
  const flow = ['hunt', 'beacons', '--mode', 'flow', '--ports', 'all', '--top', '500', '--format', 'json'];
  const local = await cli(...flow, '--db', plain);
  const pushed = await cli(...flow, '--db', db, '--logs', logs);
  assert.equal(pushed.code, 0, pushed.stderr);
  assert.ok(JSON.parse(local.stdout).length > 100);
  assert.equal(pushed.stdout, local.stdout, 'the same ranked rows from the rows ingest sent');
  // The workbench's raw-row lookups read the workspace: where the rows went on, the queue says so.
  const queued = await cli('threads', '--db', db);
  assert.equal(queued.code, 0, queued.stderr);
  assert.match(
    queued.stderr,
    /\nnote: the raw rows of 3 files are in ClickHouse \(127\.0\.0\.1:\d+\/hb_ingest\), not here: who is behind a beacon's source, a pair's first and last time and a detection's own row are looked up in the workspace's rows, so they are blank for those \(huntbook threads --logs counts who is behind a source there\)\n$/,
  );
  assert.doesNotMatch((await cli('threads', '--db', plain)).stderr, /note: the raw rows/);

  // The same content again without --force: skipped; with it: the earlier copy hidden at once and deleted there.
  const again = await cli('ingest', ZEEK('conn.log.labeled'), '--db', db, '--logs', logs);
  assert.match(again.stdout, /not loaded: already ingested/);
  assert.equal(await count(server, 'SELECT count() FROM hb_ingest.flows'), 5663);
  const forced = await cli('ingest', ZEEK('conn.log.labeled'), '--db', db, '--logs', logs, '--force');
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, /replaced the earlier copy/);
  const deleted = async () => count(server, "SELECT count() FROM system.mutations WHERE database = 'hb_ingest' AND is_done = 0");
  for (let i = 0; i < 50 && (await deleted()) > 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(await server.run('SELECT file_id, count() AS n FROM hb_ingest.flows GROUP BY file_id'), [{ file_id: 5, n: '5663' }]);
  assert.equal((await cli(...flow, '--db', db, '--logs', logs)).stdout, local.stdout, 'the same after --force');
});

test('a stopped ingest --logs: the file is hidden from hunts there, and the same ingest finishes it without sending a row twice (18.16 and chdb)', async (t) => {
  for (const server of each(t)) {
    const database = `hb_stop_${server.name.replace(/\W/g, '_')}`;
    for (const statement of clickhouseTables({ database })) await server.run(statement);
    const ws = await openWorkspace(t);
    let inserts = 0;
    const writer = { ...runnerWriter(server, database), batchRows: 1000 };
    // The connection drops after the third batch of six.
    const failing: ClickHouseWriter = {
      ...writer,
      insert: async (into, format, file) => {
        if (++inserts > 3) throw new Error('connection reset');
        await writer.insert(into, format, file);
      },
      run: async (statement) => {
        if (inserts > 3) throw new Error('connection reset');
        return writer.run(statement);
      },
    };
    const [stopped] = await ingest(ws, [ZEEK('conn.log.labeled')], { destination: shipTo(failing) });
    assert.equal(stopped.status, 'failed', server.name);
    assert.match(
      stopped.message ?? '',
      /loaded into the workspace, but not all rows reached .*: connection reset; the same ingest command again sends the rest/,
    );
    assert.equal(await count(server, `SELECT count() FROM ${database}.flows`), 3000, 'three batches landed');
    assert.deepEqual(await hiddenFiles(ws, writer.key), [1], 'hunts there leave the half-sent file out');
    const store = clickhouseLogs(clickhouseFor(database), server.run, server.name, async (w) =>
      clickhouseFor(database, await hiddenFiles(w, writer.key)),
    );
    const hidden = await runHunt(ws, FLOW, FLOW.params(defaultConfig(), { ports: 'all' }), store).catch((error: Error) => error);
    assert.match(String(hidden), /empty|no flows/i, `${server.name}: the hunt sees no flows while the file is half-sent`);

    assert.equal(await shipFile(ws, writer, 1), 5663, 'finished: every row accounted');
    assert.equal(await count(server, `SELECT count() FROM ${database}.flows`), 5663, `${server.name}: no row twice`);
    assert.equal(await count(server, `SELECT uniqExact(rec) FROM ${database}.flows`), 5663);
    assert.deepEqual(await hiddenFiles(ws, writer.key), []);
    assert.equal(Number(await ws.scalar('SELECT count(*) FROM flows')), 0);
    // Once more (a second retry): nothing is sent.
    assert.equal(await shipFile(ws, writer, 1), undefined, 'a stored file has nothing left to send');
    assert.equal(await count(server, `SELECT count() FROM ${database}.flows`), 5663);
  }
});

test('hostile field values (quotes, backslashes, NUL, ANSI escapes, bidi overrides, formula cells, a 200 kB URL) reach ClickHouse exactly as the workspace holds them (18.16 and chdb)', async (t) => {
  const files = ['proxy-hostile.csv', 'events-hostile.ndjson', 'conn-hostile.log'].map((f) => testData('hostile', f));
  const plain = await openWorkspace(t);
  await ingest(plain, files);
  const text = (table: CanonicalTable) =>
    [...CANONICAL_COLUMNS[table].filter((c) => c.type === 'VARCHAR' || c.type === 'JSON').map((c) => c.name), EXTRA_COLUMN[table]].filter(
      (c, i, all) => all.indexOf(c) === i,
    );
  const expected = new Map<CanonicalTable, string[]>();
  for (const table of ['http', 'events', 'flows'] as const) {
    const rows = await plain.query(
      `SELECT ${text(table)
        .map((c) => `CAST(${quoteIdent(c)} AS VARCHAR) AS ${quoteIdent(c)}`)
        .join(', ')} FROM ${quoteIdent(table)}`,
    );
    expected.set(table, rows.map((r) => JSON.stringify(r)).sort());
    assert.ok(rows.length > 0, `${table}: hostile rows loaded`);
  }
  assert.ok(
    [...expected.values()].flat().some((r) => r.includes('\\u001b') || r.includes('=cmd')),
    'the hostile values are there to test',
  );
  for (const server of each(t)) {
    const database = `hb_hostile_${server.name.replace(/\W/g, '_')}`;
    for (const statement of clickhouseTables({ database })) await server.run(statement);
    const ws = await openWorkspace(t);
    const reports = await ingest(ws, files, { destination: shipTo(runnerWriter(server, database)) });
    assert.deepEqual(
      reports.map((r) => r.status),
      ['loaded', 'loaded', 'loaded'],
      JSON.stringify(reports.map((r) => r.message)),
    );
    for (const [table, rows] of expected) {
      const there = await server.run(
        `SELECT ${text(table)
          .map((c) => clickhouseIdent(c))
          .join(', ')} FROM ${database}.${table}`,
      );
      assert.deepEqual(there.map((r) => JSON.stringify(r)).sort(), rows, `${server.name}: ${table}`);
    }
  }
});

test('hunt baseline, insider and baseline --matrix with --logs after ingest --logs and rules run --logs (18.16): the same as on the workspace (CERT layout)', async (t) => {
  const server = each(t).find((s) => s.http);
  if (!server) return t.skip('needs clickhouse-server (its HTTP port)');
  const work = mkdtempSync(join(tmpdir(), 'huntbook-chi-baseline-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const [db, plain] = [join(work, 'case.duckdb'), join(work, 'plain.duckdb')];
  const logs = `clickhouse://default@${server.http}/hb_cert`;
  assert.equal((await cli('clickhouse', 'init', '--logs', logs)).code, 0);
  const cert = testData('cert-layout', 'r4.2');
  for (const [where, extra] of [
    [db, ['--logs', logs]],
    [plain, []],
  ] as const) {
    const loaded = await cli('ingest', cert, '--db', where, '-q', ...extra);
    assert.equal(loaded.code, 0, loaded.stderr);
    const rules = await cli('rules', 'run', '--db', where, '-q', ...extra);
    assert.equal(rules.code, 0, rules.stderr);
  }
  assert.ok((await count(server, 'SELECT count() FROM hb_cert.activity')) > 1000, 'the activity is in ClickHouse');
  const ws = await Workspace.open(db, { readOnly: true });
  try {
    assert.equal(Number(await ws.scalar('SELECT count(*) FROM activity')), 0, 'and not in the workspace');
    assert.ok(Number(await ws.scalar('SELECT count(*) FROM detections')) > 0, 'the detections are');
  } finally {
    ws.close();
  }
  for (const args of [
    ['hunt', 'baseline', '--format', 'csv'],
    ['hunt', 'baseline', '--matrix', '--format', 'csv'],
    ['hunt', 'insider', '--format', 'csv'],
  ]) {
    const local = await cli(...args, '--db', plain, '-q');
    assert.equal(local.code, 0, local.stderr);
    assert.ok(local.stdout.split('\n').length > 3, `${args.join(' ')}: rows on the workspace`);
    const pushed = await cli(...args, '--db', db, '-q', '--logs', logs);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.equal(pushed.stdout, local.stdout, args.join(' '));
  }
});

test('people data stays in the workspace with --logs: notification e-mails and a follower export load here; hunt social and rules over interactions give what they give without ClickHouse (18.16)', async (t) => {
  const server = each(t).find((s) => s.http);
  if (!server) return t.skip('needs clickhouse-server (its HTTP port)');
  const work = mkdtempSync(join(tmpdir(), 'huntbook-chi-people-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const [db, plain] = [join(work, 'case.duckdb'), join(work, 'plain.duckdb')];
  const logs = `clickhouse://default@${server.http}/hb_people`;
  assert.equal((await cli('clickhouse', 'init', '--logs', logs)).code, 0);
  const files = [testData('social-mail'), writeInstafakeSet(work, 1).path, ZEEK('conn.log.labeled')];
  const sent = await cli('ingest', ...files, '--db', db, '--logs', logs);
  assert.equal(sent.code, 0, sent.stderr);
  assert.equal((await cli('ingest', ...files, '--db', plain)).code, 0);
  // The logs go on to ClickHouse; the people tables do not, and the output says nothing odd of them.
  assert.match(sent.stdout, /conn\.log\.labeled → flows \(zeek\): read 5663, loaded 5663, rejected 0 .*\n {2}5663 rows now in ClickHouse/);
  assert.match(
    sent.stdout,
    /instafake-1\.json → profiles \(json\): read \d+, loaded \d+, rejected 0 [^\n]*\n(?! {2}\d+ rows now in ClickHouse)/,
  );
  assert.doesNotMatch(sent.stdout, /is not a table ClickHouse/);
  assert.equal(await count(server, 'SELECT count() FROM hb_people.flows'), 5663);
  assert.deepEqual(
    (await server.run("SELECT name FROM system.tables WHERE database = 'hb_people' ORDER BY name")).map((r) => r.name),
    ['activity', 'directory', 'dns', 'events', 'flows', 'http', 'tls'],
    'clickhouse init makes the log tables only',
  );
  const tables = async (path: string) => {
    const ws = await Workspace.open(path, { readOnly: true });
    try {
      return await ws.query(
        'SELECT (SELECT count(*) FROM interactions) AS interactions, (SELECT count(*) FROM profiles) AS profiles, (SELECT count(*) FROM flows) AS flows',
      );
    } finally {
      ws.close();
    }
  };
  const [here] = await tables(db);
  const [without] = await tables(plain);
  assert.ok(Number(without.profiles) > 900 && Number(without.interactions) > 0, JSON.stringify(without));
  assert.deepEqual(here, { ...without, flows: 0 }, 'people rows stay; flows left for ClickHouse');
  // The social hunt (it has no --logs: it reads the workspace) ranks the same profiles either way.
  const social = ['hunt', 'social', '--top', '50', '--format', 'json'];
  const local = await cli(...social, '--db', plain);
  const withLogs = await cli(...social, '--db', db);
  assert.equal(withLogs.code, 0, withLogs.stderr);
  const strip = (text: string) => JSON.stringify((JSON.parse(text) as Record<string, unknown>[]).map(({ run_id, ...row }) => row));
  // (with notices loaded, the hunt ranks the profiles that reached an employee: the three real ones)
  assert.deepEqual(
    (JSON.parse(local.stdout) as { rank: number }[]).map((r) => r.rank),
    [1, 2, 3],
  );
  assert.equal(strip(withLogs.stdout), strip(local.stdout));
  // A native rule over interactions, run with --logs, reads the workspace's interactions (they are
  // not in ClickHouse), not an empty stand-in; the same detections as without ClickHouse.
  const pack = join(work, 'people.yml');
  writeFileSync(
    pack,
    `pack: people\nrules:\n  - id: people.connect\n    name: Connection request from a profile\n    table: interactions\n    phase: deception\n    weight: 10\n    entities: [{ type: user, field: user }]\n    detection:\n      selection:\n        kind: connect_request\n      condition: selection\n`,
  );
  const ruled = await cli('rules', 'run', pack, '--db', db, '--logs', logs, '--format', 'json');
  const ruledPlain = await cli('rules', 'run', pack, '--db', plain, '--format', 'json');
  assert.equal(ruled.code, 0, ruled.stderr);
  assert.doesNotMatch(ruled.stderr, /not read with --logs/);
  const fired = (r: { stdout: string }) =>
    (JSON.parse(r.stdout) as { rule_id: string; detections: number }[]).map((x) => [x.rule_id, x.detections]);
  assert.deepEqual(fired(ruled), fired(ruledPlain));
  assert.deepEqual(fired(ruled), [['people.connect', 2]], 'the two invitations');
});

test("records dated outside what ClickHouse's DateTime holds on every server (1970-01-01 00:00:01 to 2105) stay in the workspace, said, instead of arriving clamped or wrapped (18.16 and chdb)", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'huntbook-chi-range-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const csv = join(dir, 'proxy.csv');
  writeFileSync(
    csv,
    [
      '_time,src_ip,user,dest,dest_ip,url,bytes_out,bytes_in',
      '2024-03-04T08:00:00Z,10.0.0.1,alice,a.example,1.1.1.1,http://a.example/,1,2',
      '1969-12-31T23:59:59Z,10.0.0.2,bob,b.example,2.2.2.2,http://b.example/,3,4',
      '2105-12-31T23:59:59Z,10.0.0.3,carol,c.example,3.3.3.3,http://c.example/,5,6',
      '2200-01-01T00:00:00Z,10.0.0.4,dave,d.example,4.4.4.4,http://d.example/,7,8',
      '1970-01-01T00:00:01Z,10.0.0.5,erin,e.example,5.5.5.5,http://e.example/,9,10',
      '1970-01-01T00:00:00Z,10.0.0.6,frank,f.example,6.6.6.6,http://f.example/,11,12',
      '2106-02-07T06:28:15Z,10.0.0.7,grace,g.example,7.7.7.7,http://g.example/,13,14',
      '',
    ].join('\n'),
  );
  for (const server of each(t)) {
    const database = `hb_range_${server.name.replace(/\W/g, '_')}`;
    for (const statement of clickhouseTables({ database })) await server.run(statement);
    await server.run(`TRUNCATE TABLE ${database}.http`);
    const ws = await openWorkspace(t);
    const [report] = await ingest(ws, [csv], { destination: shipTo(runnerWriter(server, database)) });
    assert.deepEqual([report.status, report.read, report.loaded, report.stored?.rows], ['loaded', 7, 7, 3], server.name);
    assert.ok(
      report.warnings?.includes(
        "4 http records dated outside 1970-01-01 00:00:01 – 2105-12-31 23:59:59 (1969-12-31 23:59:59 – 2200-01-01 00:00:00) stay in the workspace: ClickHouse's DateTime cannot hold their times; hunts without --logs see them",
      ),
      `${server.name}: ${JSON.stringify(report.warnings)}`,
    );
    // ClickHouse holds the three it can, each at its own time (the edges included), none altered.
    assert.deepEqual(
      (await server.run(`SELECT user, toString(ts) AS ts FROM ${database}.http ORDER BY user`)).map((r) => `${r.user} ${r.ts}`),
      ['alice 2024-03-04 08:00:00', 'carol 2105-12-31 23:59:59', 'erin 1970-01-01 00:00:01'],
      server.name,
    );
    assert.deepEqual(
      (await ws.query('SELECT "user", CAST(ts AS VARCHAR) AS ts FROM http ORDER BY "user"')).map((r) => `${r.user} ${r.ts}`),
      ['bob 1969-12-31 23:59:59', 'dave 2200-01-01 00:00:00', 'frank 1970-01-01 00:00:00', 'grace 2106-02-07 06:28:15'],
      `${server.name}: the other four stay here`,
    );
    // Shipping the file again (a resumed ingest) sends nothing twice and keeps them.
    const fileId = Number(await ws.scalar('SELECT max(file_id) FROM ingested_files'));
    assert.equal(await shipFile(ws, runnerWriter(server, database), fileId), undefined, 'stored: nothing left to send');
    assert.equal(await count(server, `SELECT count() FROM ${database}.http`), 3);
    assert.equal(Number(await ws.scalar('SELECT count(*) FROM http')), 4);
  }
});

test('a server whose time zone is not UTC (Europe/Berlin): times go in and come back as the workspace has them, and hunts with --since cut where they cut on the workspace', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'huntbook-chi-tz-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const server = await startServer(join(work, 'server'), undefined, '<timezone>Europe/Berlin</timezone>');
  if (typeof server === 'string') return t.skip(server);
  t.after(() => server.stop());
  const [zone] = await server.run('SELECT timezone() AS tz');
  assert.equal(zone.tz, 'Europe/Berlin');
  const logs = `clickhouse://default@${server.http}/hb_tz`;
  assert.equal((await cli('clickhouse', 'init', '--logs', logs)).code, 0);
  const file = testData('zeek', 'slips-test18-remcos', 'test18-malicious-ctu-sme-11-win', 'zeek-labeled', 'conn.log.labeled');
  const [db, plain] = [join(work, 'case.duckdb'), join(work, 'plain.duckdb')];
  assert.equal((await cli('ingest', file, '--db', db, '--logs', logs, '-q')).code, 0);
  assert.equal((await cli('ingest', file, '--db', plain, '-q')).code, 0);
  // The first connection: its time as text and as seconds since 1970 are the workspace's.
  const [first] = await server.run(
    'SELECT toString(first) AS ts, toUInt32(first) AS epoch FROM (SELECT min(ts) AS first FROM hb_tz.flows)',
  );
  const ws = await Workspace.open(plain, { readOnly: true });
  const [here] = await ws.query(
    "SELECT strftime(min(ts), '%Y-%m-%d %H:%M:%S') AS ts, CAST(epoch(date_trunc('second', min(ts))) AS BIGINT) AS epoch FROM flows",
  );
  ws.close();
  assert.equal(here.ts, '2023-02-22 00:00:02');
  assert.deepEqual(first, { ts: here.ts, epoch: Number(here.epoch) });
  for (const args of [
    ['hunt', 'beacons'],
    ['hunt', 'beacons', '--since', '2023-02-21T12:00:00Z', '--until', '2023-02-22T00:05:00Z'],
    ['hunt', 'beacons', '--mode', 'flow', '--ports', 'all', '--since', '2023-02-22T00:00:00Z'],
  ]) {
    const local = await cli(...args, '--format', 'csv', '-q', '--db', plain);
    const pushed = await cli(...args, '--format', 'csv', '-q', '--db', db, '--logs', logs);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.ok(local.stdout.split('\n').length > 2, `${args.join(' ')}: rows to compare`);
    assert.equal(pushed.stdout, local.stdout, args.join(' '));
  }
  // Tables an earlier init made with a plain DateTime are refused on this server, in one line.
  await server.run('CREATE DATABASE hb_old');
  await server.run(
    'CREATE TABLE hb_old.flows (`file_id` Int32, `rec` Int64, `ts` Nullable(DateTime)) ENGINE = MergeTree() ORDER BY (file_id, rec)',
  );
  const old = await cli('hunt', 'beacons', '-q', '--db', plain, '--logs', `clickhouse://default@${server.http}/hb_old`);
  assert.equal(old.code, 1);
  assert.match(
    old.stderr,
    /^huntbook: ClickHouse at clickhouse:\/\/default@127\.0\.0\.1:\d+\/hb_old runs in time zone Europe\/Berlin and its tables flows keep times as a plain DateTime \(made by an earlier huntbook clickhouse init\), which it reads in Europe\/Berlin: every time would move; drop those tables, run huntbook clickhouse init again \(it makes them DateTime\('UTC'\)\) and ingest again\n$/,
  );
});

test("threads --logs: who is behind a beacon's source (the user its proxy rows name most, that user's usual host) is counted in ClickHouse, the same as on the workspace (18.16)", async (t) => {
  const server = each(t).find((s) => s.http);
  if (!server) return t.skip('needs clickhouse-server (its HTTP port)');
  const work = mkdtempSync(join(tmpdir(), 'huntbook-chi-threads-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const [db, plain, out] = [join(work, 'case.duckdb'), join(work, 'plain.duckdb'), join(work, 'gen')];
  generate({ seed: 5, users: 60, days: 3, out });
  const logs = `clickhouse://default@${server.http}/hb_threads`;
  assert.equal((await cli('clickhouse', 'init', '--logs', logs)).code, 0);
  assert.equal((await cli('ingest', out, '--db', db, '--logs', logs, '-q')).code, 0);
  assert.equal((await cli('ingest', out, '--db', plain, '-q')).code, 0);
  assert.equal((await cli('hunt', 'beacons', '-q', '--db', plain)).code, 0);
  assert.equal((await cli('hunt', 'beacons', '-q', '--db', db, '--logs', logs)).code, 0);
  const queue = ['threads', '--format', 'json', '--top', '50'];
  const local = JSON.parse((await cli(...queue, '--db', plain)).stdout) as { thread: string; user: string | null; host: string | null }[];
  const pushed = await cli(...queue, '--db', db, '--logs', logs);
  assert.equal(pushed.code, 0, pushed.stderr);
  const pick = (rows: typeof local) => rows.map((r) => [r.thread, r.user, r.host]);
  assert.deepEqual(pick(JSON.parse(pushed.stdout)), pick(local));
  const linked = local.filter((r) => r.thread.startsWith('pair:') && r.user !== null && r.host !== null);
  assert.ok(linked.length >= 1, `a beacon pair with its user and host: ${JSON.stringify(local.slice(0, 5))}`);
  // Without --logs the same workspace cannot say, and says why.
  const blind = await cli(...queue, '--db', db);
  assert.ok((JSON.parse(blind.stdout) as typeof local).every((r) => r.user === null));
  assert.match(blind.stderr, /note: the raw rows of \d+ files are in ClickHouse/);
});
