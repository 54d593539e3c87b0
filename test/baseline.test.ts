import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { generate } from '../src/generate/generate.ts';
import { baselineHunt, baselineMatrix, defaultBaseline, type BaselineParams } from '../src/hunts/baseline/baseline.ts';
import { mad, medianOf, scoreDays, type MatrixInput } from '../src/hunts/baseline/score.ts';
import { insiderHunt, type InsiderParams } from '../src/hunts/insider/insider.ts';
import { defaultRisk, riskHunt } from '../src/hunts/risk/risk.ts';
import { ingest } from '../src/ingest/ingest.ts';
import { loadRuleSources } from '../src/rules/catalog.ts';
import { runRules } from '../src/rules/engine.ts';
import type { Workspace } from '../src/store/workspace.ts';
import { cli, openWorkspace, tempDir, testData } from './helpers.ts';

const close = (actual: number, expected: number, eps = 1e-9) => assert.ok(Math.abs(actual - expected) <= eps, `${actual} ≠ ${expected}`);
const SCORE = { warmupDays: 7, minHistoryDays: 14, madFloor: 0.25, zThreshold: 3, seed: 1 };

/** One feature for one user over the given days (no peers). */
function single(values: number[], name = 'x'): MatrixInput {
  return { users: 1, days: values.length, features: [name], values: [Float64Array.from(values)], peers: Int32Array.of(-1) };
}

test('median and MAD of sorted values, worked by hand (odd and even counts)', () => {
  const odd = Float64Array.of(1, 2, 3, 4, 5, 6, 7);
  assert.equal(medianOf(odd, 7), 4);
  assert.equal(mad(odd, 7, 4), 2); // |x − 4| = 3 2 1 0 1 2 3 → median 2
  const even = Float64Array.of(1, 2, 3, 10);
  assert.equal(medianOf(even, 4), 2.5);
  assert.equal(mad(even, 4, 2.5), 1); // 1.5 0.5 0.5 7.5 → (0.5 + 1.5) / 2
  assert.equal(mad(Float64Array.of(0, 0, 0, 0, 0), 5, 0), 0);
});

test("robust z against the user's own earlier days: the value, the usual range and the scale, by hand", () => {
  // History 1..7 (7 days = the warm-up), then 20: median 4, MAD 2, scale max(1.4826·2, √4, 0.25) = 2.9652.
  const [day] = scoreDays(single([1, 2, 3, 4, 5, 6, 7, 20]), SCORE);
  assert.equal(day.day, 7);
  const [d] = day.deviations;
  close(d.z, 16 / 2.9652);
  assert.deepEqual(d.usual, [1.6, 6.4]);
  assert.equal(d.first, false);
  // Never did it, then once: scale = the floor, z = 1 / 0.25 = 4, a first time.
  const [once] = scoreDays(single([0, 0, 0, 0, 0, 0, 0, 0, 1]), SCORE);
  assert.equal(once.deviations[0].z, 4);
  assert.equal(once.deviations[0].first, true);
  // A daily archiver (1 a day) archiving twice: z = (2 − 1) / √1 = 1, not a deviation.
  assert.deepEqual(scoreDays(single([1, 1, 1, 1, 1, 1, 1, 1, 1, 2]), SCORE), []);
  // A twice-a-week habit (median 0, 90th percentile 1): 1 is usual, not a deviation.
  assert.deepEqual(scoreDays(single([1, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1]), SCORE), []);
});

test("no look-ahead: a later day cannot change an earlier day's score; nothing is scored in the warm-up", () => {
  const base = [0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0];
  const later = [...base.slice(0, 10), 50, 50];
  const a = scoreDays(single(base), SCORE).filter((d) => d.day === 8);
  const b = scoreDays(single(later), SCORE).filter((d) => d.day === 8);
  assert.deepEqual(a, b);
  assert.equal(a.length, 1);
  // A spike inside the warm-up (day 3) is history, not a day of interest.
  assert.deepEqual(scoreDays(single([0, 0, 0, 9, 0, 0, 0, 0]), SCORE), []);
});

test('cold start: the per-user forest says "learning" until min_history_days, then scores from earlier days only', () => {
  const values = Array.from({ length: 20 }, (_, d) => (d === 10 || d === 18 ? 6 : d % 2));
  const days = scoreDays(single(values), SCORE);
  const early = days.find((d) => d.day === 10)!;
  assert.equal(early.forest, null);
  const late = days.find((d) => d.day === 18)!;
  assert.ok(late.forest !== null && late.forest > 0 && late.forest <= 1);
});

test('peers: a deviation the peer group shares that day counts half; first in the peer group adds 2', () => {
  // Three users, one feature, 9 days; on day 8 all three do 2 (a team event), user 0 also on day 7 alone.
  const days = 9;
  const rows = [
    [0, 0, 0, 0, 0, 0, 0, 2, 2],
    [0, 0, 0, 0, 0, 0, 0, 0, 2],
    [0, 0, 0, 0, 0, 0, 0, 0, 2],
  ];
  const input: MatrixInput = { users: 3, days, features: ['x'], values: [Float64Array.from(rows.flat())], peers: Int32Array.of(0, 0, 0) };
  const scored = scoreDays(input, SCORE);
  const alone = scored.find((d) => d.user === 0 && d.day === 7)!.deviations[0];
  // z = 2 / 0.25 = 8; peers that day 2, 0, 0: median 0, peer z 8 as well: full weight, + 2 for the first in the group.
  assert.deepEqual([alone.z, alone.peerZ, alone.firstInPeers, alone.points], [8, 8, true, 10]);
  const shared = scored.find((d) => d.user === 1 && d.day === 8)!.deviations[0];
  // Everyone did 2 that day: peer z 0, so half of z 8; a first for the user, not for the group.
  assert.deepEqual([shared.z, shared.peerZ, shared.first, shared.firstInPeers, shared.points], [8, 0, true, false, 4]);
});

test('daily matrix, cell by cell: features per user and day, rule columns, weighted, and days without activity as zeros', async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  // Two users over four days (2010-01-04 .. 07); bob does nothing on the 5th and 6th.
  writeFileSync(
    join(dir, 'logon.csv'),
    [
      'id,date,user,pc,activity',
      '{L1},01/04/2010 08:00:00,ALICE,PC-1,Logon',
      '{L2},01/04/2010 17:00:00,ALICE,PC-1,Logoff',
      '{L3},01/04/2010 09:00:00,BOB,PC-2,Logon',
      '{L4},01/05/2010 08:10:00,ALICE,PC-1,Logon',
      '{L5},01/05/2010 22:30:00,ALICE,PC-9,Logon',
      '{L6},01/07/2010 07:00:00,BOB,PC-2,Logon',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'device.csv'),
    ['id,date,user,pc,activity', '{D1},01/05/2010 22:35:00,ALICE,PC-9,Connect', '{D2},01/05/2010 22:50:00,ALICE,PC-9,Disconnect', ''].join(
      '\n',
    ),
  );
  await ingest(ws, [dir]);
  const { rules } = await loadRuleSources([], []);
  await runRules(ws, rules);
  const params: BaselineParams = { ...defaultBaseline(), packs: ['insider'] };
  const { columns, rows } = await baselineMatrix(ws, params);
  assert.deepEqual(columns.slice(0, 2), ['user', 'day']);
  assert.ok(columns.includes('insider.exfiltration.removable-media-connect'), 'rule columns are named by rule id');
  const pick = (r: Record<string, unknown>) => [
    r.user,
    r.day,
    r.latest_logon_hour,
    r.logon_hosts,
    r.new_hosts,
    r.removable_count,
    r['insider.exfiltration.removable-media-connect'],
    r.weighted,
    r.day_count,
  ];
  assert.deepEqual(rows.map(pick), [
    ['alice', '2010-01-04', 8, 1, 1, 0, 0, 0, 2],
    // A night logon on another machine (PC-9: a first), a thumb drive: the rule's weight is 10;
    // weighted is the risk hunt's daily score: tweight 10 + scount 1 (one rule, one phase).
    ['alice', '2010-01-05', 22, 2, 1, 1, 1, 11, 4],
    ['alice', '2010-01-06', 0, 0, 0, 0, 0, 0, 0],
    ['alice', '2010-01-07', 0, 0, 0, 0, 0, 0, 0],
    ['bob', '2010-01-04', 9, 1, 1, 0, 0, 0, 1],
    ['bob', '2010-01-05', 0, 0, 0, 0, 0, 0, 0],
    ['bob', '2010-01-06', 0, 0, 0, 0, 0, 0, 0],
    // PC-2 again: not a new host.
    ['bob', '2010-01-07', 7, 1, 0, 0, 0, 0, 1],
  ]);
  // Every other feature is a real zero too.
  for (const r of rows)
    for (const c of ['archive_count', 'mail_count', 'rename_count', 'ntu_count', 'leak_site_visits']) assert.equal(r[c], 0);
  // One definition: the risk hunt keeps the same number for that day (the timeline plots it).
  await riskHunt(ws, defaultRisk());
  const kept =
    await ws.query(`SELECT entity, CAST(window_start AS DATE)::VARCHAR AS day, CAST(metrics->>'weighted' AS DOUBLE) AS weighted FROM entity_history
    WHERE entity_type = 'user' ORDER BY entity, day`);
  const byDay = new Map(rows.map((r) => [`${r.user} ${r.day}`, r.weighted]));
  assert.ok(kept.length > 0);
  for (const k of kept) assert.equal(k.weighted, byDay.get(`${k.entity} ${k.day}`), `${k.entity} ${k.day}`);
});

async function certWorkspace(t: Parameters<typeof openWorkspace>[0]): Promise<Workspace> {
  const ws = await openWorkspace(t);
  await ingest(ws, [testData('cert-layout', 'r4.2')]);
  const { rules } = await loadRuleSources([], []);
  await runRules(ws, rules);
  return ws;
}

const insiderParams = (baseline = defaultBaseline()): InsiderParams => ({
  baseline,
  risk: defaultRisk(),
  population: { k: 'auto', seed: 1 },
  orderDays: 5,
});

test("CERT-layout scenario 1: the insider's three nights are the only days of interest, with after-hours, removable-media and leak-site deviations and first times", async (t) => {
  const ws = await certWorkspace(t);
  const out = await baselineHunt(ws, defaultBaseline(), { top: 10 });
  assert.deepEqual(
    out.rows.map((r) => [r.user, r.day]),
    [
      ['acm2278', '2010-02-15'],
      ['acm2278', '2010-02-16'],
      ['acm2278', '2010-02-17'],
    ],
  );
  const kept = await ws.query('SELECT entity, score, reasons FROM results WHERE run_id = $1 ORDER BY rank', [out.runId]);
  assert.equal(kept.length, 3);
  const first = (JSON.parse(String(kept[0].reasons)) as string[]).join('; ');
  assert.match(first, /latest_logon_hour 22 vs usual 0–8 \(z 4\.9, peers z 4\.9\)/);
  assert.match(first, /removable_count 1 vs usual 0 \(z 4, peers z 4, first time, first in peer group\)/);
  assert.match(first, /leak_site_visits 1 vs usual 0 \(z 4, peers z 4, first time, first in peer group\)/);
  // wikileaks.org: a site he had never reached, and nobody in his role had either.
  assert.match(first, /new_domains 1 vs usual 0 \(z 4, peers z 4\).*new_domains_in_peers 1 vs usual 0 \(z 4, peers z 4\)/);
  // The printed list is short: feature, value, usual range.
  assert.match(String(out.rows[0].deviations), /^removable_files 4 \(usual 0, first\), /);
  // The routines are not days of interest: the night-shift operator, the twice-weekly thumb drive, the salespeople's many PCs.
  assert.match(
    out.notes[0],
    /10 users × 55 days \(2010-01-04 \.\. 2010-02-27\).*scores and first-time flags from 2010-01-11, per-user forests from 2010-01-18; 3 days of interest/,
  );
  assert.ok(
    (JSON.parse(String(kept[0].reasons)) as string[]).some((r) => r.startsWith('forest ')),
    'the forest verdict is kept with the reasons',
  );
});

test('CERT-layout scenario 1: hunt insider ranks the insider #1 with the leaver red flag and his story', async (t) => {
  const ws = await certWorkspace(t);
  const out = await insiderHunt(ws, insiderParams(), 5);
  assert.equal(out.rows[0].user, 'acm2278');
  assert.match(String(out.rows[0].red_flags), /^directory\.left 2010-03-01 \(ended 2010-03-01, last role ComputerProgrammer\)$/);
  assert.match(
    String(out.rows[0].story),
    /^phases: exfiltration 2010-02-15 \(\+2 days\); days: 2010-02-15 [\d.]+, 2010-02-16 [\d.]+, 2010-02-17 [\d.]+$/,
  );
  assert.ok(Number(out.rows[0].score) > 2 * Number(out.rows[1].score), `a clear first: ${out.rows[0].score} vs ${out.rows[1].score}`);
  const [kept] = await ws.query('SELECT reasons, evidence FROM results WHERE run_id = $1 AND rank = 1', [out.runId]);
  const reasons = JSON.parse(String(kept.reasons)) as string[];
  assert.ok(
    reasons.some((r) => r.startsWith('baseline +')) && reasons.some((r) => r.startsWith('red flag directory.left +15')),
    reasons.join('\n'),
  );
  const evidence = JSON.parse(String(kept.evidence)) as { detections: { rule: string }[] };
  assert.equal(evidence.detections[0].rule, 'Leak or anonymous-submission site reached');
});

test('generated enterprise: the insider ranks #1 in hunt insider, their phase days are their top days, daily archivers are not flagged for archiving', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'data');
  generate({ seed: 3, users: 200, days: 21, scale: 0.03, out });
  const truth = JSON.parse(readFileSync(join(out, 'truth.json'), 'utf8')) as { insider: { user: string; phases: { date: string }[] } };
  const ws = await openWorkspace(t, dir);
  await ingest(ws, [out]);
  const { rules } = await loadRuleSources([], []);
  await runRules(ws, rules);
  const insider = await insiderHunt(ws, insiderParams(), 5);
  assert.equal(insider.rows[0].user, truth.insider.user);
  const baseline = await baselineHunt(ws, defaultBaseline(), { user: truth.insider.user, top: 3 });
  const phaseDays = new Set(truth.insider.phases.map((p) => p.date));
  for (const row of baseline.rows) assert.ok(phaseDays.has(String(row.day)), `${row.day} is one of the insider's phase days`);
  assert.equal(baseline.rows.length, 3);
  // Engineering archives every working day: across every engineer's days of interest, archiving never deviates.
  const all = await baselineHunt(ws, defaultBaseline(), {});
  const engineers = await ws.query(
    `SELECT count(*) AS days, count(*) FILTER (WHERE CAST(r.reasons AS VARCHAR) LIKE '%archive_count%') AS archiving
    FROM results r WHERE run_id = $1 AND entity IN (SELECT lower("user") FROM directory WHERE department = 'Engineering')`,
    [all.runId],
  );
  assert.ok(Number(engineers[0].days) > 0, 'engineers have days of interest of other kinds');
  assert.equal(Number(engineers[0].archiving), 0);
});

test('CLI: hunt baseline --help teaches, --matrix prints the matrix, hunt insider prints the ranked users', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'w.duckdb');
  assert.equal((await cli('ingest', testData('cert-layout', 'r4.2'), '--db', db, '-q')).code, 0);
  assert.equal((await cli('rules', 'run', '--db', db, '-q')).code, 0);
  const help = await cli('hunt', 'baseline', '--help');
  assert.match(help.stdout, /robust z = \(x - median\)/);
  const matrix = await cli('hunt', 'baseline', '--matrix', '--user', 'ACM2278', '--format', 'csv', '--db', db, '-q');
  assert.equal(matrix.code, 0, matrix.stderr);
  const lines = matrix.stdout.trim().split('\n');
  assert.equal(lines.length, 1 + 55);
  assert.match(lines[0], /^user,day,archive_count,mail_count,/);
  const insider = await cli('hunt', 'insider', '--format', 'json', '--top', '1', '--db', db, '-q');
  assert.equal(insider.code, 0, insider.stderr);
  assert.equal((JSON.parse(insider.stdout) as { user: string }[])[0].user, 'acm2278');
  const bad = await cli('hunt', 'baseline', '--z', 'lots', '--db', db);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--z must be/);
});
