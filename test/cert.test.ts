import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ingest } from '../src/ingest/ingest.ts';
import { loadRuleSources } from '../src/rules/catalog.ts';
import { runRules } from '../src/rules/engine.ts';
import { shippedPacks } from '../src/rules/catalog.ts';
import { openWorkspace, tempDir, testData } from './helpers.ts';

const CERT = testData('cert-layout', 'r4.2');

test('CERT r4.2 layout: every file to its table, http with its site, LDAP months kept, psychometric not taken for a directory', async (t) => {
  const ws = await openWorkspace(t);
  const reports = await ingest(ws, [CERT]);
  const by = Object.fromEntries(reports.map((r) => [r.path.slice(CERT.length + 1), [r.status, r.table ?? null, r.loaded]]));
  assert.deepEqual(by, {
    'LDAP/2010-01.csv': ['loaded', 'directory', 10],
    // February's snapshot holds what January's did: another month, loaded, not "already ingested".
    'LDAP/2010-02.csv': ['loaded', 'directory', 10],
    'LDAP/2010-03.csv': ['loaded', 'directory', 9],
    'device.csv': ['loaded', 'activity', 38],
    'email.csv': ['loaded', 'activity', 395],
    'file.csv': ['loaded', 'activity', 28],
    'http.csv': ['loaded', 'http', 1583],
    'logon.csv': ['loaded', 'activity', 796],
    'psychometric.csv': ['skipped', null, 0],
  });
  assert.match(reports.find((r) => r.path.endsWith('psychometric.csv'))!.message!, /psychometric scores .* not loaded/);
  assert.deepEqual(await ws.query("SELECT count(*) AS n FROM activity WHERE kind = 'http'"), [{ n: 0 }]);
  assert.deepEqual(
    await ws.query(
      `SELECT ts, uid, "user", dest, url, json_extract_string(extra, '$.pc') AS pc FROM http WHERE dest = 'wikileaks.org' ORDER BY ts LIMIT 1`,
    ),
    [
      {
        ts: '2010-02-15 22:20:14',
        uid: (await ws.scalar("SELECT uid FROM http WHERE dest = 'wikileaks.org' ORDER BY ts LIMIT 1")) as string,
        user: 'ACM2278',
        dest: 'wikileaks.org',
        url: 'http://wikileaks.org/submit/upload.html',
        pc: 'PC-4242',
      },
    ],
  );
  assert.match(
    String(await ws.scalar("SELECT uid FROM http WHERE dest = 'wikileaks.org' ORDER BY ts LIMIT 1")),
    /^\{R4F\d{4}-[QWE]\d{5}TX\}$/,
  );
  assert.deepEqual(
    await ws.query(
      `SELECT CAST(valid_from AS VARCHAR) AS f, CAST(valid_to AS VARCHAR) AS t, count(*) AS n FROM directory GROUP BY ALL ORDER BY f`,
    ),
    [
      { f: '2010-01-01 00:00:00', t: '2010-02-01 00:00:00', n: 10 },
      { f: '2010-02-01 00:00:00', t: '2010-03-01 00:00:00', n: 10 },
      { f: '2010-03-01 00:00:00', t: '2010-04-01 00:00:00', n: 9 },
    ],
  );
  // The same snapshot again is a duplicate: skipped.
  const again = await ingest(ws, [join(CERT, 'LDAP', '2010-02.csv')]);
  assert.equal(again[0].status, 'skipped');
});

test('CERT file cut mid-row: the last row ("Logo") is refused with its line, the rest loads', async (t) => {
  const ws = await openWorkspace(t);
  const [report] = await ingest(ws, [testData('cert-layout', 'logon-cut.csv')]);
  assert.deepEqual([report.status, report.read, report.loaded, report.rejected], ['loaded', 20, 19, 1]);
  assert.equal(report.rejects[0].line, 21);
  assert.match(report.rejects[0].reason, /ends in the middle of this row/);
  assert.match(report.rejects[0].text ?? '', /,Logo$/);
  assert.deepEqual(await ws.query("SELECT count(*) AS n FROM activity WHERE action NOT IN ('Logon', 'Logoff')"), [{ n: 0 }]);
});

test('CERT scenario 1 detections: leak site, removable media, and the leaver from the LDAP months', async (t) => {
  const ws = await openWorkspace(t);
  await ingest(ws, [CERT]);
  const { rules } = await loadRuleSources(shippedPacks(), []);
  await runRules(ws, rules);
  const rows = await ws.query(`SELECT rule_id, entity, count(*) AS n, CAST(min(ts) AS VARCHAR) AS first FROM detections
    WHERE rule_id IN ('directory.left', 'insider.exfiltration.leak-site', 'insider.exfiltration.removable-media-copy') GROUP BY ALL ORDER BY rule_id, entity`);
  assert.deepEqual(rows, [
    { rule_id: 'directory.left', entity: 'acm2278', n: 1, first: '2010-03-01 00:00:00' },
    { rule_id: 'insider.exfiltration.leak-site', entity: 'acm2278', n: 3, first: '2010-02-15 22:20:14' },
    { rule_id: 'insider.exfiltration.removable-media-copy', entity: 'acm2278', n: 12, first: '2010-02-15 22:08:02' },
    { rule_id: 'insider.exfiltration.removable-media-copy', entity: 'gjn0006', n: 16, first: '2010-01-05 10:38:45' },
  ]);
  // Running again finds nothing new: red flags are written once, like any detection.
  const before = Number(await ws.scalar('SELECT count(*) FROM detections'));
  await runRules(ws, rules);
  assert.equal(Number(await ws.scalar('SELECT count(*) FROM detections')), before);
});

test('watch list: each row a dated red-flag detection; a row without a readable date is refused with its line, the rest land; a missing header names what it lacks', async (t) => {
  const ws = await openWorkspace(t);
  await ingest(ws, [CERT]);
  const { rules } = await loadRuleSources(shippedPacks(), []);
  const dir = tempDir(t);
  const good = join(dir, 'watch.csv');
  writeFileSync(
    good,
    'User,Date,Flag,Weight\nACM2278,2010-02-01,Resignation submitted,70\nCORP\\BDW0001,2010-02-02 09:30,badge used at night,\n',
  );
  await runRules(ws, rules, { watchlist: good });
  assert.deepEqual(
    await ws.query(
      "SELECT CAST(ts AS VARCHAR) AS ts, rule_id, rule, phase, weight, entity FROM detections WHERE source_table = 'watchlist' ORDER BY ts",
    ),
    [
      {
        ts: '2010-02-01 00:00:00',
        rule_id: 'watchlist.resignation-submitted',
        rule: 'Watch list: Resignation submitted',
        phase: 'red_flag',
        weight: 70,
        entity: 'acm2278',
      },
      {
        ts: '2010-02-02 09:30:00',
        rule_id: 'watchlist.badge-used-at-night',
        rule: 'Watch list: badge used at night',
        phase: 'red_flag',
        weight: 50,
        entity: 'bdw0001',
      },
    ],
  );
  const bad = join(dir, 'bad.csv');
  writeFileSync(bad, 'user,date,flag\nACM2278,2010-02-03,fine\nBDW0001,next tuesday,late\n');
  const report = await runRules(ws, rules, { watchlist: bad });
  assert.deepEqual(report.watchlistRefused, [
    { line: 3, field: 'date', reason: 'no readable date (dates like 2024-03-04 or 2024-03-04 09:00)' },
  ]);
  assert.deepEqual(
    await ws.query("SELECT entity, rule FROM detections WHERE source_table = 'watchlist' AND CAST(ts AS DATE) = DATE '2010-02-03'"),
    [{ entity: 'acm2278', rule: 'Watch list: fine' }],
  );
  const headless = join(dir, 'headless.csv');
  writeFileSync(headless, 'ACM2278,2010-02-03,fine\n');
  await assert.rejects(
    runRules(ws, rules, { watchlist: headless }),
    /must be a header naming user, date and flag \(weight optional\); it lacks user, date, flag \(first line: "ACM2278,2010-02-03,fine"\)/,
  );
  await assert.rejects(runRules(ws, rules, { watchlist: join(dir, 'missing.csv') }), /watch list not found/);
});

test('rules stats: per rule its detections, entities and share, the dominant ones flagged noisy', async (t) => {
  const ws = await openWorkspace(t);
  await ingest(ws, [CERT]);
  const { rules } = await loadRuleSources(shippedPacks(), []);
  await runRules(ws, rules);
  const { ruleStats } = await import('../src/rules/stats.ts');
  const { rows } = await ruleStats(ws, { noisyShare: 0.5 });
  assert.deepEqual(
    rows.map((r) => [r.rule_id, r.detections, r.entities, r.share, r.noisy]),
    [
      ['insider.exfiltration.removable-media-copy', 28, 2, 0.549, true],
      ['insider.exfiltration.removable-media-connect', 19, 2, 0.3725, false],
      ['insider.exfiltration.leak-site', 3, 1, 0.0588, false],
      ['directory.left', 1, 1, 0.0196, false],
    ],
  );
});
