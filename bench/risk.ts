/**
 * bench/risk: `hunt risk` and `hunt population` on generated detections (USERS users × DAYS
 * days), each next to its like-for-like floor measured in the same run:
 *   - the floor is hand-written DuckDB that computes *and writes* what the hunt keeps (features,
 *     reasons text, evidence, result rows, and for risk the entities' history rows), in one
 *     transaction: the work a hunter would otherwise do by hand in SQL;
 *   - the models (isolation forest, k-means) on the same matrices are timed apart, huntbook's
 *     and scikit-learn's (Debian's /usr/bin/python3, as bench:ml), since SQL cannot do them;
 *   - ratio = hunt / (floor + huntbook's models): the cost of everything else the hunt does.
 *
 *   npm run bench:risk -- [users=10000] [days=30] [repeat=3]
 *   npm run bench:risk -- 100000 30 1     # the scale row
 *
 * Detections are made in SQL from a seeded hash: each user-day has a detection with probability
 * 0.3 (1–4 of them, from 40 rules over 8 phases, weights 5–100), a few users far more.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultConfig } from '../src/config.ts';
import { populationHunt } from '../src/hunts/risk/population.ts';
import { defaultRisk, riskHunt } from '../src/hunts/risk/risk.ts';
import { IsolationForest } from '../src/ml/iforest.ts';
import { clusterStandardised } from '../src/ml/kmeans.ts';
import type { Matrix } from '../src/ml/matrix.ts';
import { Workspace } from '../src/store/workspace.ts';

const users = Number(process.argv[2] ?? 10_000);
const days = Number(process.argv[3] ?? 30);
const repeat = Number(process.argv[4] ?? 3);
const dir = join(process.cwd(), '.bench');
mkdirSync(dir, { recursive: true });
const db = join(dir, 'risk.duckdb');
rmSync(db, { force: true });
rmSync(`${db}.wal`, { force: true });
const ws = await Workspace.open(db);

const PHASES = ['discovery', 'collection', 'packaging', 'obfuscation', 'exfiltration', 'motive', 'execution', 'persistence'];
await ws.run(`INSERT INTO detections
  WITH ud AS (SELECT u, d, hash(u * 7919 + d) AS h FROM range(${users}) a(u), range(${days}) b(d)),
  hits AS (SELECT u, d, h, unnest(range(1 + (h % 4)::INTEGER + CASE WHEN u % 997 = 0 THEN 20 ELSE 0 END)) AS k FROM ud WHERE h % 10 < 3 OR u % 997 = 0),
  rows AS (SELECT u, d, k, hash(h + k) AS r FROM hits)
  SELECT TIMESTAMP '2026-01-01' + to_days(d::INTEGER) + to_seconds((r % 86400)::INTEGER), 'R' || (r % 40), 'rule ' || (r % 40),
         [${PHASES.map((p) => `'${p}'`).join(', ')}][1 + ((r % 40) % 8)::INTEGER], 5 + (r % 40) * 2.4, 'user', 'user' || u, 'events', '1:' || row_number() OVER (), NULL, NULL
  FROM rows`);
const detections = Number(await ws.scalar('SELECT count(*) FROM detections'));
const risk = defaultRisk();
const population = defaultConfig().population.multipliers;
const tiers = Object.fromEntries(population.map((m) => [m.name, m]));
if (!tiers.user_count_mult || !tiers.dc_phase_count_mult || !tiers.dc_detection_count_mult)
  throw new Error('population multipliers renamed');

// The floor for hunt risk: per user-day the metrics (same capping, steps and 7-day ATT&CK
// look-back), the risk score, level, percentile, reasons text and ten heaviest rules, written as
// result rows and history rows.
const riskFloor = [
  `CREATE OR REPLACE TEMP TABLE floor_risk AS
WITH d AS (SELECT entity, rule_id, rule, phase, weight, ts, time_bucket(INTERVAL 1 DAY, ts) AS w FROM detections WHERE entity_type = 'user'),
r AS (SELECT entity, w, rule_id, any_value(rule) AS rule, any_value(phase) AS phase, count(*) AS n, sum(weight) AS s, max(weight) AS mx, list(weight) AS ws FROM d GROUP BY ALL),
e AS (SELECT entity, w, sum(least(s, ${risk.capK} * mx)) AS tweight, sum(n) AS scount, count(*) AS dscount, count(DISTINCT phase) AS pcount,
        string_agg(DISTINCT phase, ', ' ORDER BY phase) AS phases,
        arg_max({'rule': rule, 'n': n, 'w': s, 'capped': least(s, ${risk.capK} * mx)}, least(s, ${risk.capK} * mx), 10) AS top,
        round(least(100, 100 * list_sum(list_transform(list_reverse_sort(list_transform(flatten(list(ws)), x -> least(100, greatest(0, x)))), (x, i) -> x / pow(i, 1.5))) / 261.2), 1) AS risk
      FROM r GROUP BY ALL),
m AS (SELECT *, CASE WHEN pcount > 1 THEN (pcount - 1) * ${risk.phaseStep} ELSE 0 END AS phasemult,
        CASE WHEN dscount > 1 THEN (dscount - 1) * ${risk.sourceStep} ELSE 0 END AS sourcemult FROM e),
t AS (SELECT m.entity, m.w, count(DISTINCT d.phase) AS tactics, count(DISTINCT d.rule_id) AS rules FROM m LEFT JOIN d ON d.entity = m.entity
      AND d.ts >= m.w + INTERVAL 1 DAY - INTERVAL 7 DAY AND d.ts < m.w + INTERVAL 1 DAY GROUP BY ALL)
SELECT *, tweight + scount + phasemult + sourcemult AS weighted,
  CASE WHEN risk >= 90 THEN 'critical' WHEN risk >= 70 THEN 'high' WHEN risk >= 40 THEN 'moderate' WHEN risk >= 20 THEN 'low' ELSE 'unknown' END AS level,
  percent_rank() OVER (PARTITION BY w ORDER BY tweight + scount + phasemult + sourcemult) AS percentile
FROM m JOIN t USING (entity, w)`,
  `INSERT INTO results SELECT 0, 'risk-floor', row_number() OVER (ORDER BY risk DESC, weighted DESC, entity, w), 'user', entity, risk,
  json_object('tweight', tweight, 'scount', scount, 'dscount', dscount, 'pcount', pcount, 'phasemult', phasemult, 'sourcemult', sourcemult,
    'weighted', weighted, 'risk', risk, 'level', level, 'percentile', round(percentile, 3), 'phases', phases),
  to_json([pcount || ' phases (' || phases || ') +' || phasemult,
    dscount || ' rules +' || sourcemult || ': ' || array_to_string(list_transform(list_slice(top, 1, 4), x -> x.rule || ' ×' || x.n || ' = ' || x.capped), '; '),
    CASE WHEN tactics >= 3 AND rules >= 3 THEN 'ATT&CK rule: ' || tactics || ' tactics and ' || rules || ' rules in 7 days' END]),
  json_object('window_start', w, 'rules', top) FROM floor_risk`,
  `INSERT INTO entity_history SELECT 'risk-floor', 'user', entity, w, w + INTERVAL 1 DAY,
  json_object('tweight', tweight, 'scount', scount, 'weighted', weighted, 'risk', risk, 'level', level, 'phases', phases), 0 FROM floor_risk`,
];
// The floor for hunt population: per user the phase and rule sets, how many users share each,
// md5s, multipliers and reasons, written as result rows.
const populationFloor = [
  `CREATE OR REPLACE TEMP TABLE floor_population AS
WITH u AS (SELECT entity, list(DISTINCT phase ORDER BY phase) AS p, count(*) AS n, count(DISTINCT phase) AS dp, list(DISTINCT rule_id ORDER BY rule_id) AS s,
           count(DISTINCT rule_id) AS ds FROM detections WHERE entity_type = 'user' GROUP BY entity),
c AS (SELECT *, array_to_string(p, chr(10)) AS phase_id, array_to_string(s, chr(10)) AS source_id FROM u),
k AS (SELECT *, count(*) OVER (PARTITION BY phase_id) AS uc, count(*) OVER (PARTITION BY source_id) AS usc FROM c)
SELECT *, CASE WHEN uc = 1 THEN 200 WHEN uc < 5 THEN 150 WHEN uc < 10 THEN 50 ELSE 0 END AS ucm, CASE WHEN dp >= 2 THEN 100 ELSE 0 END AS dpm,
  CASE WHEN ds > 2 THEN 100 WHEN ds = 2 THEN 50 ELSE 0 END AS dsm FROM k`,
  `INSERT INTO results SELECT 0, 'population-floor', row_number() OVER (ORDER BY ucm + dpm + dsm DESC, n DESC, entity), 'user', entity, ucm + dpm + dsm,
  json_object('user_count', uc, 'user_source_count', usc, 'detection_count', n, 'dc_phase_count', dp, 'dc_detection_count', ds, 'addedweight', ucm + dpm + dsm,
    'userhash', md5(entity), 'phase_hash', md5(phase_id), 'source_hash', md5(source_id)),
  to_json([CASE WHEN uc = 1 THEN 'the only user' ELSE 'one of ' || uc || ' users' END || ' with phases {' || array_to_string(p, ', ') || '} (+' || ucm || ')',
    dp || ' phases (+' || dpm || ')', ds || ' distinct rules (+' || dsm || ')']),
  json_object('phases', phase_id, 'sources', source_id) FROM floor_population`,
];

/** The floor's statements in one transaction, its rows removed afterwards (outside the timing). */
async function floor(statements: string[]): Promise<number> {
  const seconds = await time(() =>
    ws.transaction(async () => {
      for (const sql of statements) await ws.run(sql);
    }),
  );
  await ws.run("DELETE FROM results WHERE hunt IN ('risk-floor', 'population-floor')");
  await ws.run("DELETE FROM entity_history WHERE hunt = 'risk-floor'");
  return seconds;
}

/** The same models the hunts fit, on the floor tables' numbers; and scikit-learn's on the same matrices. */
async function models(): Promise<{ huntbook: { risk: number; population: number }; sklearn: { risk: number; population: number } }> {
  await ws.transaction(async () => {
    for (const sql of [...riskFloor.slice(0, 1), ...populationFloor.slice(0, 1)]) await ws.run(sql);
  });
  const matrix = async (sql: string, names: string[]): Promise<Matrix> => {
    const cols = await ws.columns(sql);
    const rows = cols[0]?.length ?? 0;
    const data = new Float64Array(rows * cols.length);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols.length; c++) data[r * cols.length + c] = Number(cols[c][r]);
    return { rows, cols: cols.length, data, names };
  };
  // As the hunt does: the forest fitted on every window, the verdicts (scores, attributions,
  // k-means weighted by multiplicity) worked out once per distinct vector of metrics.
  const forestX = await matrix('SELECT tweight, pcount, scount, weighted FROM floor_risk', ['tweight', 'pcount', 'scount', 'weighted']);
  await ws.run(`CREATE OR REPLACE TEMP TABLE floor_vectors AS SELECT tweight, pcount, scount, weighted, phasemult, count(*)::DOUBLE AS n
    FROM floor_risk GROUP BY tweight, scount, dscount, pcount, phasemult, sourcemult, weighted`);
  const distinct = await matrix('SELECT tweight, pcount, scount, weighted FROM floor_vectors', ['tweight', 'pcount', 'scount', 'weighted']);
  const riskKm = await matrix('SELECT tweight, phasemult, scount FROM floor_vectors', ['tweight', 'phasemult', 'scount']);
  const multiplicity = Float64Array.from((await ws.columns('SELECT n FROM floor_vectors'))[0], Number);
  const popX = await matrix('SELECT uc, usc, n, dp, ds, ucm + dpm + dsm FROM floor_population', ['a', 'b', 'c', 'd', 'e', 'f']);
  let started = performance.now();
  const forest = new IsolationForest({ seed: risk.seed }).fit(forestX);
  forest.scoreSamples(distinct);
  for (let d = 0; d < distinct.rows; d++) forest.explain(distinct, d);
  clusterStandardised(riskKm, { k: risk.clusters, seed: risk.seed, weights: multiplicity });
  const ourRisk = (performance.now() - started) / 1000;
  started = performance.now();
  const pop = clusterStandardised(popX, { k: 'auto', seed: 1 });
  const ourPopulation = (performance.now() - started) / 1000;
  const out = join(dir, 'risk-models');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'forest.f64'), forestX.data);
  writeFileSync(join(out, 'distinct.f64'), distinct.data);
  writeFileSync(join(out, 'risk_km.f64'), riskKm.data);
  writeFileSync(join(out, 'weights.f64'), multiplicity);
  writeFileSync(join(out, 'pop.f64'), popX.data);
  const py = `
import json, sys, time
import numpy as np
from sklearn.cluster import KMeans
from sklearn.ensemble import IsolationForest
from sklearn.preprocessing import StandardScaler
d = sys.argv[1]
f = np.fromfile(d + '/forest.f64').reshape(-1, 4); v = np.fromfile(d + '/distinct.f64').reshape(-1, 4); r = np.fromfile(d + '/risk_km.f64').reshape(-1, 3); w = np.fromfile(d + '/weights.f64')
p = np.fromfile(d + '/pop.f64').reshape(-1, 6)
t = time.perf_counter()
iso = IsolationForest(n_estimators=100, max_samples=256, random_state=0).fit(f)
iso.score_samples(v)
KMeans(n_clusters=${risk.clusters}, n_init=10, random_state=0).fit(StandardScaler().fit_transform(r, sample_weight=w), sample_weight=w)
t2 = time.perf_counter()
KMeans(n_clusters=${pop?.k ?? 2}, n_init=10, random_state=0).fit(StandardScaler().fit_transform(p))
print(json.dumps({'risk': t2 - t, 'population': time.perf_counter() - t2}))`;
  const theirs = JSON.parse(execFileSync('/usr/bin/python3', ['-c', py, out], { encoding: 'utf8' }).trim().split('\n').pop() ?? '{}') as {
    risk: number;
    population: number;
  };
  return { huntbook: { risk: ourRisk, population: ourPopulation }, sklearn: theirs };
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const result: Record<string, number[]> = { risk_floor: [], risk_hunt: [], population_floor: [], population_hunt: [] };
let windows = 0;
let peakHunting = 0;
const rss = () => Math.round(process.memoryUsage().rss / 1e6);
for (let i = 0; i < repeat; i++) {
  result.risk_floor.push(await floor(riskFloor));
  result.risk_hunt.push(
    await time(async () => {
      const out = await riskHunt(ws, risk, 20);
      windows = Number(/^(\d+) /.exec(out.notes[0])?.[1] ?? 0);
    }),
  );
  peakHunting = Math.max(peakHunting, rss());
  result.population_floor.push(await floor(populationFloor));
  result.population_hunt.push(await time(() => populationHunt(ws, { k: 'auto', seed: 1, top: 20 })));
  peakHunting = Math.max(peakHunting, rss());
  console.log(
    `run ${i + 1}: risk floor ${result.risk_floor[i].toFixed(2)} s, hunt risk ${result.risk_hunt[i].toFixed(2)} s; population floor ${result.population_floor[i].toFixed(2)} s, hunt population ${result.population_hunt[i].toFixed(2)} s`,
  );
}
const fitted = await models();
ws.close();
const m = Object.fromEntries(Object.entries(result).map(([k, v]) => [k, median(v)]));
const r3 = (x: number) => +x.toFixed(3);
const riskRatio = m.risk_hunt / (m.risk_floor + fitted.huntbook.risk);
const populationRatio = m.population_hunt / (m.population_floor + fitted.huntbook.population);
console.log(`${users} users × ${days} days: ${detections} detections, ${windows} user-windows`);
console.log(
  `hunt risk        ${m.risk_hunt.toFixed(2)} s   floor ${m.risk_floor.toFixed(2)} s + models ${fitted.huntbook.risk.toFixed(2)} s (scikit-learn ${fitted.sklearn.risk.toFixed(2)} s)   ratio ${riskRatio.toFixed(2)}× (goal ≤ 1.5×)`,
);
console.log(
  `hunt population  ${m.population_hunt.toFixed(2)} s   floor ${m.population_floor.toFixed(2)} s + models ${fitted.huntbook.population.toFixed(2)} s (scikit-learn ${fitted.sklearn.population.toFixed(2)} s)   ratio ${populationRatio.toFixed(2)}× (goal ≤ 1.5×)`,
);
console.log(
  JSON.stringify({
    bench: 'risk',
    users,
    days,
    detections,
    user_windows: windows,
    risk_floor_s: r3(m.risk_floor),
    risk_models_s: r3(fitted.huntbook.risk),
    risk_models_sklearn_s: r3(fitted.sklearn.risk),
    risk_hunt_s: r3(m.risk_hunt),
    risk_ratio: +riskRatio.toFixed(2),
    population_floor_s: r3(m.population_floor),
    population_models_s: r3(fitted.huntbook.population),
    population_models_sklearn_s: r3(fitted.sklearn.population),
    population_hunt_s: r3(m.population_hunt),
    population_ratio: +populationRatio.toFixed(2),
    rss_after_hunts_mb: peakHunting,
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
