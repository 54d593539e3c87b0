import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { parseExpression } from '../src/model/expression.ts';
import { populationHunt } from '../src/hunts/risk/population.ts';
import { defaultRisk, METRICS, riskHunt } from '../src/hunts/risk/risk.ts';
import { join } from 'node:path';
import { Workspace } from '../src/store/workspace.ts';
import { cli, openWorkspace, tempDir } from './helpers.ts';

/** [day, user, rule, phase, weight, times] */
const DETECTIONS: [string, string, string, string, number, number][] = [
  ['2026-01-05', 'alice', 'A', 'collection', 100, 5],
  ['2026-01-05', 'alice', 'B', 'exfiltration', 60, 1],
  ['2026-01-05', 'bob', 'C', 'discovery', 20, 1],
  ['2026-01-05', 'carol', 'D', 'execution', 1100, 1],
  ['2026-01-05', 'dave', 'E', 'execution', 10, 1],
  ['2026-01-05', 'dave', 'F', 'persistence', 10, 1],
  ['2026-01-05', 'dave', 'G', 'credential-access', 10, 1],
  ['2026-01-05', 'dave', 'H', 'discovery', 10, 1],
  ['2026-01-06', 'alice', 'B', 'exfiltration', 60, 1],
  ['2026-01-06', 'erin', 'C', 'discovery', 20, 2],
];

async function seed(ws: Workspace): Promise<void> {
  let ref = 0;
  for (const [day, user, rule, phase, weight, times] of DETECTIONS) {
    for (let i = 0; i < times; i++) {
      await ws.run(
        "INSERT INTO detections VALUES (CAST($1 AS TIMESTAMP) + to_minutes($2), $3, $4, $5, $6, 'user', $7, 'events', $8, NULL, NULL)",
        [`${day} 09:00:00`, ref, rule, `rule ${rule}`, phase, weight, user, `1:${ref++}`],
      );
    }
  }
}

test('risk arithmetic on a hand-checked detection set: every field', async (t) => {
  const ws = await openWorkspace(t);
  await seed(ws);
  const out = await riskHunt(ws, defaultRisk(), 100);
  const row = (entity: string, day: string) => out.rows.find((r) => r.entity === entity && String(r.window_start).startsWith(day))!;
  const fields = (r: Record<string, unknown>) =>
    Object.fromEntries([...METRICS, 'alert', 'tactic_rule', 'risk', 'level', 'percentile', 'phases'].map((k) => [k, r[k]]));
  // alice, day 1: rule A 5 × 100 = 500, capped at 3 × 100 = 300; rule B 60 → tweight 360; 6 detections of
  // 2 rules in 2 phases → phasemult (2 − 1) × 100, sourcemult (2 − 1) × 50; weighted 360 + 6 + 100 + 50 = 516.
  // Alert: pcount 2 > 1 and tweight 360 > 300. Elastic: weights 100,100,100,100,100,60 →
  // 100(1 + 2^-1.5 + 3^-1.5 + 4^-1.5 + 5^-1.5) + 60·6^-1.5 = 180.127 → 100 × 180.127 / 261.2 = 69.0 (moderate).
  // Percentile of weighted among the day's four users (21, 494, 516, 1101): 2 of 3 below → 0.667.
  assert.deepEqual(fields(row('alice', '2026-01-05')), {
    tweight: 360,
    scount: 6,
    dscount: 2,
    pcount: 2,
    phasemult: 100,
    sourcemult: 50,
    weighted: 516,
    alert: true,
    tactic_rule: false,
    risk: 69,
    level: 'moderate',
    percentile: 0.667,
    phases: 'collection,exfiltration',
  });
  assert.match(
    String(row('alice', '2026-01-05').reasons),
    /^alert: pcount 2 > 1, tweight 360 > 300; .*rule A ×5 = 300 \(capped from 500\)/,
  );
  // bob: one detection of 20 → weighted 21; Elastic 100 × 20 / 261.2 = 7.7 (unknown).
  assert.deepEqual(fields(row('bob', '2026-01-05')), {
    tweight: 20,
    scount: 1,
    dscount: 1,
    pcount: 1,
    phasemult: 0,
    sourcemult: 0,
    weighted: 21,
    alert: false,
    tactic_rule: false,
    risk: 7.7,
    level: 'unknown',
    percentile: 0,
    phases: 'discovery',
  });
  // carol: one heavy detection: tweight 1100 > 1000 alerts; Elastic caps an alert's weight at 100 → 38.3 (low).
  assert.deepEqual(fields(row('carol', '2026-01-05')), {
    tweight: 1100,
    scount: 1,
    dscount: 1,
    pcount: 1,
    phasemult: 0,
    sourcemult: 0,
    weighted: 1101,
    alert: true,
    tactic_rule: false,
    risk: 38.3,
    level: 'low',
    percentile: 1,
    phases: 'execution',
  });
  // dave: four rules in four ATT&CK tactics in a day → the tactic rule (≥ 3 tactics, ≥ 4 rules in 7 days);
  // phasemult 3 × 100, sourcemult 3 × 50; weighted 40 + 4 + 300 + 150 = 494; no alert (tweight 40).
  assert.deepEqual(fields(row('dave', '2026-01-05')), {
    tweight: 40,
    scount: 4,
    dscount: 4,
    pcount: 4,
    phasemult: 300,
    sourcemult: 150,
    weighted: 494,
    alert: false,
    tactic_rule: true,
    risk: 6.4,
    level: 'unknown',
    percentile: 0.333,
    phases: 'credential-access,discovery,execution,persistence',
  });
  // alice, day 2: above erin (2 × 20 → weighted 42) → percentile 1; her 7-day tactics are
  // collection and exfiltration: 2 < 3, no tactic rule.
  assert.deepEqual(fields(row('alice', '2026-01-06')), {
    tweight: 60,
    scount: 1,
    dscount: 1,
    pcount: 1,
    phasemult: 0,
    sourcemult: 0,
    weighted: 61,
    alert: false,
    tactic_rule: false,
    risk: 23,
    level: 'low',
    percentile: 1,
    phases: 'exfiltration',
  });
  assert.equal(out.rows[0].entity, 'alice', 'ranked by the 0–100 risk');
  // History keeps each window once, even when the hunt runs again.
  await riskHunt(ws, defaultRisk(), 100);
  assert.equal(await ws.scalar("SELECT count(*) FROM entity_history WHERE hunt = 'risk'"), out.rows.length);
});

/** The oracle: Elastic's entity risk as its documentation states it, Σ wᵢ/i^1.5 over weights clipped to 0–100 and sorted high to low, over ζ(1.5)·100. */
function elasticRisk(weights: readonly number[]): number {
  const sorted = [...weights]
    .map((w) => Math.min(100, Math.max(0, w)))
    .sort((a, b) => b - a)
    .slice(0, 10000);
  let sum = 0;
  sorted.forEach((w, i) => (sum += w / (i + 1) ** 1.5));
  return Math.min(100, (100 * sum) / 261.2);
}

test('Elastic risk: the SQL the hunt runs equals Σ w_i / i^1.5 over sorted weights, normalised by ζ(1.5)·100', async (t) => {
  const ws = await openWorkspace(t);
  const sets: Record<string, number[]> = {
    one: [100],
    clipped: [100, 250, -5],
    mixed: [73, 21, 99, 47, 47, 1],
    many: Array(300).fill(100),
  };
  let ref = 0;
  for (const [user, weights] of Object.entries(sets)) {
    for (const w of weights) {
      await ws.run(
        "INSERT INTO detections VALUES (TIMESTAMP '2026-01-05 09:00:00', $1, $2, 'collection', $3, 'user', $4, 'events', $5, NULL, NULL)",
        [`R${ref}`, `rule ${ref}`, w, user, `1:${ref++}`],
      );
    }
  }
  const out = await riskHunt(ws, defaultRisk(), 10);
  for (const [user, weights] of Object.entries(sets)) {
    const row = out.rows.find((r) => r.entity === user)!;
    assert.equal(row.risk, Math.round(elasticRisk(weights) * 10) / 10, user);
  }
  assert.ok(Math.abs(elasticRisk([100]) - 38.2848) < 1e-3);
  assert.equal(
    out.rows.find((r) => r.entity === 'clipped')!.risk,
    51.8,
    'each weight clipped to 0–100: [100, 250, -5] scores as [100, 100, 0]',
  );
});

test("alert expressions: the seed's logic, arithmetic, and clear errors; never SQL", () => {
  const e = parseExpression(defaultRisk().alert, [...METRICS]);
  assert.equal(e.evaluate({ scount: 2, tweight: 501, pcount: 1 }), true);
  assert.equal(e.evaluate({ scount: 2, tweight: 500, pcount: 1 }), false);
  assert.equal(e.evaluate({ scount: 1, tweight: 301, pcount: 2 }), true);
  assert.equal(e.evaluate({ scount: 1, tweight: 1001, pcount: 1 }), true);
  assert.deepEqual(e.explain({ scount: 3, tweight: 1200, pcount: 1 }), ['scount 3 > 1', 'tweight 1200 > 500', 'tweight 1200 > 1000']);
  assert.equal(parseExpression('TotalWeight > 1000', [...METRICS]).evaluate({ tweight: 1001 }), true, "the seed's TotalWeight spelling");
  assert.equal(parseExpression('not (weighted - tweight * 2 >= 10)', [...METRICS]).evaluate({ weighted: 25, tweight: 10 }), true);
  assert.throws(() => parseExpression('tweight > 1; DROP TABLE detections', [...METRICS]), /statements and comments are not allowed/);
  assert.throws(
    () => parseExpression("tweight > 1 or lower('x') = 'x'", [...METRICS]),
    /only numbers, metric names, arithmetic, comparisons/,
  );
  assert.throws(() => parseExpression('tweight > 1 +', [...METRICS]), /alert expression: ends too early/);
  assert.equal(
    parseExpression('tweight != 3 and -pcount < 0', [...METRICS])
      .explain({ tweight: 4, pcount: 1 })
      .join(', '),
    'tweight 4 != 3, -pcount -1 < 0',
  );
  assert.throws(() => parseExpression('bytes > 1', [...METRICS]), /unknown metric "bytes"/);
  assert.throws(() => parseExpression('(tweight > 1', [...METRICS]), /expected "\)"/);
});

test('population arithmetic on the same detections: sets, hashes, shared counts, multipliers, clusters', async (t) => {
  const ws = await openWorkspace(t);
  await seed(ws);
  const out = await populationHunt(ws, { k: 2, seed: 1 });
  const md5 = (s: string) => createHash('md5').update(s).digest('hex');
  const by = Object.fromEntries(out.rows.map((r) => [r.user, r]));
  const pick = (u: string) =>
    Object.fromEntries(
      [
        'phase_id',
        'source_id',
        'user_count',
        'user_source_count',
        'detection_count',
        'dc_phase_count',
        'dc_detection_count',
        'user_count_mult',
        'dc_phase_count_mult',
        'dc_detection_count_mult',
        'addedweight',
        'userhash',
        'phase_hash',
      ].map((k) => [k, by[u][k]]),
    );
  // alice: phases {collection, exfiltration}, rules {A, B}, 7 detections; alone in her phase set → 200;
  // 2 phases → 100; 2 rules → 50; addedweight 350. Sets are joined with newlines (Splunk's nomv), sorted.
  assert.deepEqual(pick('alice'), {
    phase_id: 'collection\nexfiltration',
    source_id: 'A\nB',
    user_count: 1,
    user_source_count: 1,
    detection_count: 7,
    dc_phase_count: 2,
    dc_detection_count: 2,
    user_count_mult: 200,
    dc_phase_count_mult: 100,
    dc_detection_count_mult: 50,
    addedweight: 350,
    userhash: md5('alice'),
    phase_hash: md5('collection\nexfiltration'),
  });
  // bob and erin share {discovery} and {C}: user_count 2 (< 5 → 150), one phase, one rule → 150.
  for (const u of ['bob', 'erin']) {
    assert.deepEqual(
      [
        by[u].user_count,
        by[u].user_source_count,
        by[u].user_count_mult,
        by[u].dc_phase_count_mult,
        by[u].dc_detection_count_mult,
        by[u].addedweight,
      ],
      [2, 2, 150, 0, 0, 150],
    );
  }
  assert.deepEqual([by.erin.detection_count, by.bob.detection_count], [2, 1]);
  // dave: 4 phases, 4 rules (> 2 → 100), alone → 200 + 100 + 100 = 400; carol: alone, one phase, one rule → 200.
  assert.deepEqual([by.dave.addedweight, by.dave.dc_detection_count_mult, by.carol.addedweight], [400, 100, 200]);
  // The outlier cluster is the one with the highest mean addedweight, and it holds dave.
  assert.equal(by.dave.outlier_cluster, true);
  assert.equal(out.rows[0].user, 'dave');
  assert.match(String(by.dave.reasons), /the only user with phases \{credential-access, discovery, execution, persistence\} \(\+200\)/);
});

test('hunt risk keeps every entity-window at any window size, keeps reasons whole, and refuses before recording a run', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'w.duckdb');
  const ws = await Workspace.open(db);
  // Windows whose last week is empty were dropped at 14d (the tactic look-back was an inner join):
  // zoe's detections sit at the start of a 14-day window, more than 7 days before its end.
  await ws.run(`INSERT INTO detections VALUES (TIMESTAMP '2026-01-01 09:00:00', 'R', 'rule R; with a semicolon', 'collection', 10, 'user', 'zoe', 'events', '1:1', NULL, NULL),
    (TIMESTAMP '2026-01-20 09:00:00', 'S', 'rule S', 'exfiltration', 20, 'user', 'yan', 'events', '1:2', NULL, NULL)`);
  const refused = await riskHunt(ws, { ...defaultRisk(), by: 'host' }).catch((e: Error) => e);
  assert.match(String(refused), /no detections for entity type "host"/);
  assert.equal(await ws.scalar('SELECT count(*) FROM hunt_runs'), 0, 'a refused hunt leaves no run record');
  const fortnight = await riskHunt(ws, { ...defaultRisk(), windowSeconds: 14 * 86400 }, 100);
  assert.deepEqual(fortnight.rows.map((r) => r.entity).sort(), ['yan', 'zoe'], 'every window is kept');
  const stored = await ws.query("SELECT reasons FROM results WHERE entity = 'zoe'");
  assert.ok(
    (JSON.parse(String(stored[0].reasons)) as string[]).some((r) => r.includes('rule R; with a semicolon ×1')),
    'a rule name with "; " stays one reason',
  );
  await riskHunt(ws, defaultRisk(), 100);
  ws.close();
  // huntbook entity lists one window size: the latest run's (1d), or the one asked for.
  const daily = await cli('entity', 'zoe', '--db', db);
  assert.match(daily.stdout, /^user zoe: 1 window\(s\) of 1d scored \(also scored with windows of 14d: --window\)/);
  const biweekly = await cli('entity', 'zoe', '--db', db, '--window', '14d', '--format', 'json');
  assert.deepEqual(
    (JSON.parse(biweekly.stdout) as { window_start: string }[]).map((r) => r.window_start),
    ['2025-12-29 00:00:00'],
  );
});
