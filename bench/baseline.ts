/**
 * bench/baseline: hunt baseline's daily feature matrix on USERS users × DAYS days of generated
 * activity, timed in the same run next to one hand-written DuckDB statement computing the same
 * matrix (the floor), as a ratio; then the whole hunt (matrix + scoring + results) for scale;
 * peak memory.
 *
 *   npm run bench:baseline -- [users=1000] [days=90] [repeat=3]
 *
 * Activity is made in SQL from a seeded hash, per user-day: logons (some late), e-mails (some to
 * personal providers with attachments), thumb drives, process starts (engineers archive),
 * proxy requests (some uploads, a rare leak site); detections from the shipped packs' rules.
 */
import { join } from 'node:path';
import { mkdirSync, rmSync } from 'node:fs';
import { baselineHunt, defaultBaseline } from '../src/hunts/baseline/baseline.ts';
import { buildMatrix } from '../src/hunts/baseline/matrix.ts';
import { loadRuleSources, shippedPacks } from '../src/rules/catalog.ts';
import { runRules } from '../src/rules/engine.ts';
import { Workspace } from '../src/store/workspace.ts';

const users = Number(process.argv[2] ?? 1000);
const days = Number(process.argv[3] ?? 90);
const repeat = Number(process.argv[4] ?? 3);
const dir = join(process.cwd(), '.bench');
mkdirSync(dir, { recursive: true });
const db = join(dir, 'baseline.duckdb');
rmSync(db, { force: true });
rmSync(`${db}.wal`, { force: true });
const ws = await Workspace.open(db);

const t0 = performance.now();
await ws.run(`CREATE TEMP TABLE ud AS SELECT u, d, hash(u * 7919 + d * 104729) AS h, TIMESTAMP '2026-01-05' + to_days(d::INTEGER) AS day0
  FROM range(${users}) a(u), range(${days}) b(d) WHERE d % 7 < 5 OR hash(u + d) % 10 = 0`);
await ws.run(`INSERT INTO activity (ts, kind, record_id, "user", host, action, target, size, attachments, details, file_id)
  SELECT day0 + to_minutes((480 + h % 60 + CASE WHEN h % 97 = 0 THEN 800 ELSE 0 END)::INTEGER), 'logon', 'L' || u || '-' || d, 'user' || u, 'PC-' || (u + (CASE WHEN u % 8 = 2 THEN d % 3 ELSE 0 END)), 'Logon', NULL, NULL, NULL, NULL, 1 FROM ud
  UNION ALL SELECT day0 + to_minutes(1020), 'logon', 'M' || u || '-' || d, 'user' || u, 'PC-' || u, 'Logoff', NULL, NULL, NULL, NULL, 1 FROM ud
  UNION ALL SELECT day0 + to_minutes((540 + k * 40)::INTEGER), 'email', 'E' || u || '-' || d || '-' || k, 'user' || u, 'PC-' || u, 'Send',
    CASE WHEN hash(h + k) % 50 = 0 THEN 'user' || u || '@gmail.com' ELSE 'c' || (hash(h + k) % ${users}) || '@corp.example' END, 20000,
    CASE WHEN hash(h + k) % 4 = 0 THEN '1' ELSE '0' END, NULL, 1 FROM ud, range(1 + (h % 5)::INTEGER) e(k)
  UNION ALL SELECT day0 + to_minutes(600), 'device', 'D' || u || '-' || d, 'user' || u, 'PC-' || u, 'Connect', NULL, NULL, NULL, NULL, 1 FROM ud WHERE (u % 13 = 0 AND d % 7 IN (1, 3)) OR h % 211 = 0
  UNION ALL SELECT day0 + to_minutes(605 + k), 'file', 'F' || u || '-' || d || '-' || k, 'user' || u, 'PC-' || u, 'File Copy', 'E:\\\\f' || k || '.doc', NULL, NULL, '{"to_removable_media":"True"}', 1
    FROM ud, range(3) f(k) WHERE (u % 13 = 0 AND d % 7 IN (1, 3)) OR h % 211 = 0`);
await ws.run(`INSERT INTO events (ts, host, "user", event_id, channel, provider, action, process, parent_process, command_line, file_path, target, raw, file_id)
  SELECT day0 + to_minutes((500 + k * 30)::INTEGER), 'pc-' || u, 'CORP\\\\user' || u, 1, 'Sysmon', NULL, NULL,
    CASE WHEN k = 0 AND (u % 6 = 0 OR hash(h) % 40 = 0) THEN 'C:\\\\Program Files\\\\7-Zip\\\\7z.exe' ELSE 'C:\\\\Windows\\\\explorer.exe' END,
    NULL, CASE WHEN k = 0 AND (u % 6 = 0 OR hash(h) % 40 = 0) THEN '7z.exe a build.zip out' WHEN k = 1 AND hash(h) % 300 = 0 THEN 'cmd /c ren a.7z a.jpg' ELSE 'explorer.exe' END,
    NULL, NULL, NULL, 1 FROM ud, range(6) p(k)`);
await ws.run(`INSERT INTO http (ts, uid, src_ip, src_port, "user", dest, dest_ip, dest_port, method, url, status, bytes_out, bytes_in, user_agent, referrer, content_type, category, file_id)
  SELECT day0 + to_minutes((500 + k * 7)::INTEGER), NULL, '10.0.0.1', 50000, 'user' || u,
    CASE WHEN hash(h + k) % 20000 = 0 THEN 'wikileaks.org' ELSE 'site' || (hash(h + k) % 500) || '.example' END, NULL, 443,
    CASE WHEN hash(h + k) % 3000 = 0 THEN 'POST' ELSE 'GET' END, '/p', 200,
    CASE WHEN hash(h + k) % 3000 = 0 THEN 5000000 ELSE 400 END, 9000, NULL, NULL, NULL, NULL, 1 FROM ud, range(20) r(k)`);
await ws.run('DROP TABLE ud');
// Rows written here, not by ingest: each gets its record key as ingest gives it (detections point at file:rec).
for (const table of ['activity', 'events', 'http']) await ws.run(`UPDATE ${table} SET rec = nextval('record_ids') WHERE rec IS NULL`);
const { rules } = await loadRuleSources(shippedPacks(), []);
await runRules(ws, rules);
const rows = await ws.query(
  `SELECT (SELECT count(*) FROM activity) AS activity, (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM http) AS http, (SELECT count(*) FROM detections) AS detections`,
);
console.log(`generated in ${((performance.now() - t0) / 1000).toFixed(1)} s:`, rows[0]);

const params = defaultBaseline();
const ruleIds = [
  ...new Set(
    (
      await loadRuleSources(
        params.packs.map((p) => join(process.cwd(), 'rules', `${p}.yml`)),
        [],
      )
    ).rules.map((r) => r.id),
  ),
].sort();
const user = (col: string) => `nullif(regexp_replace(regexp_replace(lower(trim(${col})), '^.*\\\\', ''), '@.*$', ''), '')`;
const f = (name: string) => params.features.find((x) => x.name === name)!;
// The floor: the same matrix in one statement, written by hand (same predicates and aggregates as the shipped features).
const floor = `
CREATE OR REPLACE TEMP TABLE floor AS
WITH a AS (
  SELECT ${user('"user"')} AS u, CAST(ts AS DATE) AS day,
    count(*) FILTER (WHERE ${f('mail_count').where}) AS mail_count,
    count(*) FILTER (WHERE ${f('removable_count').where}) AS removable_count,
    count(*) FILTER (WHERE ${f('removable_files').where}) AS removable_files,
    max(hour(ts)) FILTER (WHERE ${f('latest_logon_hour').where}) AS latest_logon_hour,
    count(DISTINCT host) FILTER (WHERE ${f('logon_hosts').where}) AS logon_hosts, count(*) AS n
  FROM activity GROUP BY ALL
), e AS (
  SELECT ${user('"user"')} AS u, CAST(ts AS DATE) AS day, count(*) FILTER (WHERE ${f('archive_count').where}) AS archive_count,
    count(*) FILTER (WHERE ${f('rename_count').where}) AS rename_count, count(*) AS n FROM events GROUP BY ALL
), h AS (
  SELECT ${user('"user"')} AS u, CAST(ts AS DATE) AS day, count(*) FILTER (WHERE ${f('ntu_count').where}) AS ntu_count,
    count(*) FILTER (WHERE ${f('leak_site_visits').where}) AS leak_site_visits, count(*) AS n FROM http GROUP BY ALL
), r AS (
  SELECT u, day, ${ruleIds.map((id, i) => `coalesce(sum(n) FILTER (WHERE rule_id = '${id}'), 0) AS r${i}`).join(', ')},
    sum(least(w, ${params.weighted.capK} * mx)) + sum(n) + greatest(count(DISTINCT phase) - 1, 0) * ${params.weighted.phaseStep} + greatest(count(*) - 1, 0) * ${params.weighted.sourceStep} AS weighted
  FROM (SELECT entity AS u, CAST(ts AS DATE) AS day, rule_id, any_value(phase) AS phase, count(*) AS n, sum(weight) AS w, max(weight) AS mx
        FROM detections WHERE entity_type = 'user' GROUP BY ALL) GROUP BY ALL
), dom AS (SELECT ${user('"user"')} AS u, lower(dest) AS v, min(CAST(ts AS DATE)) AS day FROM http WHERE dest IS NOT NULL GROUP BY 1, 2
), hst AS (SELECT ${user('"user"')} AS u, lower(host) AS v, min(CAST(ts AS DATE)) AS day FROM activity WHERE kind = 'logon' AND host IS NOT NULL GROUP BY 1, 2
), grp AS (SELECT ${user('"user"')} AS u, max_by(role, coalesce(valid_from, TIMESTAMP '1970-01-01')) AS g FROM directory WHERE role IS NOT NULL GROUP BY 1
), nd AS (SELECT u, day, count(*) AS new_domains FROM dom GROUP BY ALL
), nh AS (SELECT u, day, count(*) AS new_hosts FROM hst GROUP BY ALL
), np AS (SELECT u, day, count(*) AS new_domains_in_peers FROM (SELECT dom.*, min(day) OVER (PARTITION BY g, v) AS gf FROM dom JOIN grp USING (u)) WHERE day = gf GROUP BY ALL
), users AS (SELECT u FROM a UNION SELECT u FROM e UNION SELECT u FROM h),
span AS (SELECT min(day) AS lo, max(day) AS hi FROM (SELECT day FROM a UNION ALL SELECT day FROM e UNION ALL SELECT day FROM h)),
days AS (SELECT CAST(d AS DATE) AS day FROM span, generate_series(CAST(lo AS TIMESTAMP), CAST(hi AS TIMESTAMP), INTERVAL 1 DAY) t(d))
SELECT users.u AS "user", days.day, coalesce(archive_count, 0), coalesce(mail_count, 0), coalesce(rename_count, 0), coalesce(ntu_count, 0),
  coalesce(removable_count, 0), coalesce(removable_files, 0), coalesce(latest_logon_hour, 0), coalesce(logon_hosts, 0), coalesce(leak_site_visits, 0),
  coalesce(new_domains, 0), coalesce(new_hosts, 0), coalesce(new_domains_in_peers, 0),
  ${ruleIds.map((_, i) => `coalesce(r${i}, 0)`).join(', ')}, coalesce(weighted, 0), coalesce(a.n, 0) + coalesce(e.n, 0) + coalesce(h.n, 0) AS day_count
FROM users CROSS JOIN days LEFT JOIN a USING (u, day) LEFT JOIN e USING (u, day) LEFT JOIN h USING (u, day) LEFT JOIN r USING (u, day)
  LEFT JOIN nd USING (u, day) LEFT JOIN nh USING (u, day) LEFT JOIN np USING (u, day)
ORDER BY "user", day`;

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const result: Record<string, number[]> = { floor: [], matrix: [], hunt: [] };
let shape = '';
let differ = -1;
for (let i = 0; i < repeat; i++) {
  result.floor.push(await time(() => ws.run(floor)));
  result.matrix.push(
    await time(async () => {
      const s = await buildMatrix(ws, { features: params.features, ruleIds, peerKey: params.peerKey, weighted: params.weighted });
      shape = `${s.users} users × ${s.days} days × ${s.columns.length} features`;
    }),
  );
  // The two matrices agree cell for cell (the floor is only a floor if it computes the same thing).
  if (i === 0) differ = Number(await ws.scalar('SELECT count(*) FROM (SELECT * FROM floor EXCEPT ALL SELECT * FROM hb_baseline)'));
  result.hunt.push(await time(() => baselineHunt(ws, params, { top: 10 })));
  console.log(
    `run ${i + 1}: floor ${result.floor[i].toFixed(2)} s, matrix ${result.matrix[i].toFixed(2)} s, whole hunt ${result.hunt[i].toFixed(2)} s`,
  );
}
ws.close();
const m = Object.fromEntries(Object.entries(result).map(([k, v]) => [k, median(v)]));
console.log(
  JSON.stringify({
    bench: 'baseline',
    users,
    days,
    matrix: shape,
    rows_differing: differ,
    floor_s: +m.floor.toFixed(3),
    matrix_s: +m.matrix.toFixed(3),
    matrix_ratio: +(m.matrix / m.floor).toFixed(2),
    hunt_s: +m.hunt.toFixed(3),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
