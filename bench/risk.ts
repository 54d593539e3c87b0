/**
 * bench/risk: `hunt risk` and `hunt population` on generated detections (USERS users × DAYS
 * days), each timed in the same run next to one hand-written DuckDB statement that computes the
 * same features (the floor: no models, no explanations, nothing kept), as a ratio; peak memory.
 *
 *   npm run bench:risk -- [users=10000] [days=30] [repeat=3]
 *
 * Detections are made in SQL from a seeded hash: each user-day has a detection with probability
 * 0.3 (1–4 of them, from 40 rules over 8 phases, weights 5–100), a few users far more.
 */
import { join } from 'node:path';
import { mkdirSync, rmSync } from 'node:fs';
import { populationHunt } from '../src/hunts/risk/population.ts';
import { defaultRisk, riskHunt } from '../src/hunts/risk/risk.ts';
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

// The floor for hunt risk: its features in one statement (same capping, steps and look-back).
const riskFloor = `
WITH d AS (SELECT entity, rule_id, phase, weight, ts, time_bucket(INTERVAL 1 DAY, ts) AS w FROM detections WHERE entity_type = 'user'),
r AS (SELECT entity, w, rule_id, any_value(phase) AS phase, count(*) AS n, sum(weight) AS s, max(weight) AS mx FROM d GROUP BY ALL),
e AS (SELECT entity, w, sum(least(s, 3 * mx)) AS tweight, sum(n) AS scount, count(*) AS dscount, count(DISTINCT phase) AS pcount FROM r GROUP BY ALL),
t AS (SELECT e.entity, e.w, count(DISTINCT d.phase) AS tactics, count(DISTINCT d.rule_id) AS rules FROM e LEFT JOIN d ON d.entity = e.entity
      AND d.ts >= e.w + INTERVAL 1 DAY - INTERVAL 7 DAY AND d.ts < e.w + INTERVAL 1 DAY GROUP BY ALL)
SELECT count(*), sum(tweight + scount + (pcount - 1) * 100 + (dscount - 1) * 50), sum(tactics) FROM e JOIN t USING (entity, w)`;
// The floor for hunt population: its per-user sets, shared counts and multipliers in one statement.
const populationFloor = `
WITH u AS (SELECT entity, list(DISTINCT phase ORDER BY phase) AS p, count(*) AS n, count(DISTINCT phase) AS dp, list(DISTINCT rule_id ORDER BY rule_id) AS s,
           count(DISTINCT rule_id) AS ds FROM detections WHERE entity_type = 'user' GROUP BY entity),
c AS (SELECT *, count(*) OVER (PARTITION BY p) AS uc, count(*) OVER (PARTITION BY s) AS usc, md5(array_to_string(p, chr(10))) AS ph FROM u)
SELECT count(*), sum(CASE WHEN uc = 1 THEN 200 WHEN uc < 5 THEN 150 WHEN uc < 10 THEN 50 ELSE 0 END + CASE WHEN dp >= 2 THEN 100 ELSE 0 END
  + CASE WHEN ds > 2 THEN 100 WHEN ds = 2 THEN 50 ELSE 0 END) FROM c`;

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const result: Record<string, number[]> = { risk_floor: [], risk_hunt: [], population_floor: [], population_hunt: [] };
let windows = 0;
for (let i = 0; i < repeat; i++) {
  result.risk_floor.push(await time(() => ws.query(riskFloor)));
  result.risk_hunt.push(
    await time(async () => {
      const out = await riskHunt(ws, defaultRisk(), 20);
      windows = Number(/^(\d+) /.exec(out.notes[0])?.[1] ?? 0);
    }),
  );
  result.population_floor.push(await time(() => ws.query(populationFloor)));
  result.population_hunt.push(await time(() => populationHunt(ws, { k: 'auto', seed: 1, top: 20 })));
  console.log(
    `run ${i + 1}: risk floor ${result.risk_floor[i].toFixed(2)} s, hunt risk ${result.risk_hunt[i].toFixed(2)} s; population floor ${result.population_floor[i].toFixed(2)} s, hunt population ${result.population_hunt[i].toFixed(2)} s`,
  );
}
ws.close();
const m = Object.fromEntries(Object.entries(result).map(([k, v]) => [k, median(v)]));
console.log(
  JSON.stringify({
    bench: 'risk',
    users,
    days,
    detections,
    user_windows: windows,
    risk_floor_s: +m.risk_floor.toFixed(3),
    risk_hunt_s: +m.risk_hunt.toFixed(3),
    risk_ratio: +(m.risk_hunt / m.risk_floor).toFixed(2),
    population_floor_s: +m.population_floor.toFixed(3),
    population_hunt_s: +m.population_hunt.toFixed(3),
    population_ratio: +(m.population_hunt / m.population_floor).toFixed(2),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
