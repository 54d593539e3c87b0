import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { socialHunt } from '../src/hunts/social/social.ts';
import { ingest } from '../src/ingest/ingest.ts';
import { entityTimelineChart } from '../src/workbench/charts.ts';
import { buildReport, escapeHtml } from '../src/workbench/report.ts';
import { entityTimeline } from '../src/workbench/threads.ts';
import { listTriage, setTriage, undoTriage } from '../src/workbench/triage.ts';
import { cli, FIXTURES, openWorkspace, tempDir } from './helpers.ts';

const HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)>';

test('report: one file, no script, nothing outside itself; log strings escaped; charts inline; triage sets a thread apart and undo brings it back', async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  // Interactions whose profile name and title are hostile markup: they reach the reasons and the table.
  const csv = join(dir, 'i.csv');
  const rows = ['ts,profile_id,profile_name,profile_url,image_url,profile_title,user,user_email,user_title,kind'];
  for (let i = 0; i < 12; i++)
    rows.push(
      `2026-01-0${1 + (i % 5)}T1${i % 10}:00:00Z,p-${i % 4},"${HOSTILE.replaceAll('"', '""')}",https://s/in/p-${i % 4},,"${HOSTILE.replaceAll('"', '""')}",u${i},u${i}@corp.example,Engineer,${i % 3 === 0 ? 'message' : 'connect_request'}`,
    );
  writeFileSync(csv, `${rows.join('\n')}\n`);
  await ingest(ws, [csv, join(FIXTURES, 'zeek')]);
  await socialHunt(ws, { seed: 1 });
  const report = await buildReport(ws, { title: `case ${HOSTILE}` });
  assert.ok(!/<script/i.test(report.html), 'no script element, not even from a log');
  assert.ok(!/onerror=/i.test(report.html.replaceAll('onerror=alert(2)&gt;', '')), 'no live event handler');
  assert.ok(report.html.includes(escapeHtml(HOSTILE)), 'the hostile text is shown, as text');
  // Nothing outside the file: no src/href/url() to a network address (SVG namespaces are names, not fetches).
  assert.equal(report.html.match(/(?:src|href)\s*=\s*["']?(?:https?:)?\/\//gi), null);
  assert.equal(report.html.match(/url\(/gi), null);
  assert.match(
    report.html,
    /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">/,
  );
  assert.match(report.html, /<h2>social: top threads<\/h2>/);

  const thread = 'p-0';
  await setTriage(ws, 'social', thread, 'discard', { note: 'our own recruiter', who: 'analyst' });
  const after = await buildReport(ws);
  const discarded = after.html.slice(after.html.indexOf('<h2>Discarded'));
  assert.match(discarded, /p-0/);
  assert.match(discarded, /discard<\/span>: our own recruiter/);
  // A later run of the same hunt keeps it set apart.
  await socialHunt(ws, { seed: 1 });
  assert.match((await buildReport(ws)).html.slice(0, (await buildReport(ws)).html.indexOf('<h2>Discarded')), /<h2>social: top threads/);
  assert.ok(!(await buildReport(ws)).html.split('<h2>Discarded')[0].includes('>p-0<'), 'p-0 is not among the top threads');
  assert.deepEqual(
    (await listTriage(ws)).rows.map((r) => [r.hunt, r.thread, r.decision, r.who]),
    [['social', 'p-0', 'discard', 'analyst']],
  );
  await undoTriage(ws, 'social', thread);
  assert.ok(!(await buildReport(ws)).html.includes('<h2>Discarded'));
  // A decision's note is its own: a later decision without one does not inherit the earlier note.
  await setTriage(ws, 'social', thread, 'act', { note: 'exfil confirmed', who: 'analyst' });
  await setTriage(ws, 'social', thread, 'discard', { who: 'analyst' });
  assert.deepEqual(
    (await listTriage(ws)).rows.map((r) => [r.decision, r.note]),
    [['discard', null]],
  );
  assert.ok(!(await buildReport(ws)).html.includes('discard</span>: exfil confirmed'));
  await undoTriage(ws, 'social', thread);
  assert.deepEqual(
    (await listTriage(ws)).rows.map((r) => [r.decision, r.note]),
    [['act', 'exfil confirmed']],
  );
  await undoTriage(ws, 'social', thread);
  await assert.rejects(setTriage(ws, 'social', 'p-404', 'act'), /no thread "p-404" in any run of hunt social/);
  await assert.rejects(setTriage(ws, 'social', thread, 'maybe'), /one of act, watch, discard/);
});

test('report from the CLI on a demo-like workspace: beacon intervals and hours, and a user against the population, as inline SVG', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'w.duckdb');
  const out = join(dir, 'data');
  assert.equal((await cli('generate', '--seed', '2', '--users', '20', '--days', '8', '--scale', '0.05', '--out', out)).code, 0);
  assert.equal((await cli('ingest', out, '--db', db, '-q')).code, 0);
  assert.equal((await cli('rules', 'run', '--db', db, '-q')).code, 0);
  for (const hunt of [['beacons'], ['risk'], ['insider']])
    assert.equal((await cli('hunt', ...hunt, '--db', db, '-q')).code, 0, hunt.join(' '));
  const file = join(dir, 'r.html');
  const result = await cli('report', '--out', file, '--db', db);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /threads, 3 charts/);
  const html = readFileSync(file, 'utf8');
  assert.equal((html.match(/<svg /g) ?? []).length, 3);
  assert.match(html, /intervals between connections/);
  assert.match(html, /daily weighted score against the population/);
});

test("the CLI honours triage: a discarded thread's rows are not printed, a note says how many and how to undo", async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'w.duckdb');
  const csv = join(dir, 'i.csv');
  const rows = ['ts,profile_id,profile_name,profile_url,image_url,profile_title,user,user_email,user_title,kind'];
  for (let i = 0; i < 12; i++)
    rows.push(
      `2026-01-0${1 + (i % 5)}T1${i % 10}:00:00Z,p-${i % 4},N${i % 4},https://s/in/p-${i % 4},,T,u${i},u${i}@corp.example,Engineer,connect_request`,
    );
  writeFileSync(csv, `${rows.join('\n')}\n`);
  assert.equal((await cli('ingest', csv, '--db', db, '-q')).code, 0);
  const before = await cli('hunt', 'social', '--db', db, '--format', 'json');
  assert.equal((JSON.parse(before.stdout) as unknown[]).length, 4);
  assert.equal((await cli('triage', 'set', 'social', 'p-2', 'discard', '--note', 'ours', '--db', db)).code, 0);
  const after = await cli('hunt', 'social', '--db', db, '--format', 'json');
  const printed = JSON.parse(after.stdout) as { profile_id: string }[];
  assert.deepEqual(printed.map((r) => r.profile_id).sort(), ['p-0', 'p-1', 'p-3']);
  assert.match(after.stderr, /1 row\(s\) of threads discarded in triage not shown .*huntbook triage undo social THREAD/);
  const list = await cli('triage', 'list', '--db', db, '--format', 'csv');
  assert.match(list.stdout, /^hunt,thread,decision,note,who,decided_at\nsocial,p-2,discard,ours,/);
  assert.equal((await cli('triage', 'undo', 'social', 'p-2', '--db', db)).code, 0);
  assert.equal((JSON.parse((await cli('hunt', 'social', '--db', db, '--format', 'json')).stdout) as unknown[]).length, 4);
});

test('entity timeline: days without detections are 0, not a line across the gap; a red flag is its own marker on its day', async (t) => {
  const ws = await openWorkspace(t);
  const day = (d: string, entity: string, weighted: number) =>
    `('risk', 'user', '${entity}', TIMESTAMP '${d}', TIMESTAMP '${d}' + INTERVAL 1 DAY, '{"weighted": ${weighted}}', 1)`;
  await ws.run(
    `INSERT INTO entity_history VALUES ${[day('2026-01-10', 'ann', 300), day('2026-01-10', 'bo', 20), day('2026-01-12', 'bo', 40), day('2026-01-14', 'ann', 50)].join(', ')}`,
  );
  await ws.run(
    `INSERT INTO detections VALUES (TIMESTAMP '2026-01-14 09:00', 'directory.leaver', 'Left the organisation', 'red_flag', 50, 'user', 'ann', 'directory', '1:1', NULL, NULL)`,
  );
  const rows = await entityTimeline(ws, 'ann');
  assert.deepEqual(
    rows.map((r) => [r.day, r.entity, r.median, r.red_flag]),
    [
      ['2026-01-10', 300, 160, null],
      ['2026-01-11', 0, 0, null],
      ['2026-01-12', 0, 40, null],
      ['2026-01-13', 0, 0, null],
      ['2026-01-14', 50, 50, 'Left the organisation'],
    ],
  );
  const spec = JSON.stringify(entityTimelineChart(rows, 'ann'));
  assert.match(spec, /"series":"red flag","value":50,"flag":"Left the organisation"/);
  assert.match(spec, /"shape":"triangle-up"/);
});
