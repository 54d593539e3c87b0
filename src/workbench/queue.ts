/**
 * One queue of threads across hunts: each entity once (a user, a profile, a beacon pair, a host),
 * with a combined score from every hunt that ranked it, as Splunk's risk-based alerting and
 * Elastic's entity risk roll a day's findings up per entity. Each hunt's rank and first reason
 * stay underneath, so the combined order explains itself.
 *
 * The thread of a result row: `user:NAME`, `profile:ID`, `pair:SRC→DEST` (the beacon hunts'
 * host, IP and flow pairs alike; a flow pair's byte size is not part of it), else `TYPE:ENTITY`.
 * A decision on a thread (triage hunt "thread") applies to every hunt's rows of that entity.
 */
import { type LogStore, stageDialect, WORKSPACE_LOGS } from '../store/logs.ts';
import { quoteIdent, quoteLiteral } from '../store/schema.ts';
import { ident, sql } from '../store/sql-template.ts';
import { listValue, type Row, type Workspace } from '../store/workspace.ts';
import { RESULT_DECISION, THREAD_KEY, TRIAGE_IN_FORCE } from './triage.ts';

/**
 * Hunts that read the same evidence are one family: a user ranked by risk, population, baseline
 * and the insider hunt is one finding seen four ways, not four findings. Families add; within a
 * family the strongest view counts.
 */
export const FAMILIES: Record<string, string> = {
  risk: 'detections',
  population: 'detections',
  baseline: 'detections',
  insider: 'detections',
  'beacons.timing': 'beacons',
  'beacons.scored': 'beacons',
  'beacons.flow': 'beacons',
  social: 'social',
};

export interface QueueOptions {
  hunt?: string;
  decision?: string;
  q?: string;
  limit?: number;
  offset?: number;
  /** Only these threads (exact keys). */
  only?: string[];
}

export interface QueueThread {
  rank: number;
  thread: string;
  kind: string;
  entity: string;
  /** A profile's name (social threads are ids otherwise). */
  name: string | null;
  score: number;
  /** Each hunt that ranked it: its best rank there (k of n rows), its strength there (0–1: how far above the hunt's median toward its top), first reason. */
  hunts: { hunt: string; rank: number; of: number; strength: number; why: string }[];
  /** For a pair: the user and host behind its source address (proxy users, logons). */
  user: string | null;
  host: string | null;
  decision: string | null;
  note: string | null;
}

/**
 * The queue, scored. A thread's strength in one hunt is how far its best score there stands
 * above that hunt's typical row, toward the hunt's top: (score − median) / (max − median),
 * clipped to 0–1 (a hunt whose rows all score alike gives its top rows 1). Rank alone would
 * give every hunt's second row the same weight whether it is a second beacon or the first of a
 * crowd of ordinary users; distance from the hunt's own median keeps a hunt's long tail near 0
 * and lets a hunt with ten real findings place all ten. Within a family of hunts (one behaviour
 * seen several ways) the strengths are averaged over the family's hunts that listed the thread,
 * so a user all four detection hunts place high outranks one a single coarse view puts at the
 * top; families add (evidence of different kinds adds up, as in risk-based alerting). Equal
 * scores keep the hunts' own order (best rank first: the timing hunt's context tie-break holds).
 * Each hunt's own rank, strength and first reason are kept underneath.
 */
export async function threadQueue(
  ws: Workspace,
  options: QueueOptions = {},
  logs: LogStore = WORKSPACE_LOGS,
): Promise<{ total: number; threads: QueueThread[] }> {
  const families = Object.entries(FAMILIES)
    .map(([hunt, family]) => `(${quoteLiteral(hunt)}, ${quoteLiteral(family)})`)
    .join(', ');
  const rows = await ws.query(
    `
WITH latest AS (SELECT max(run_id) AS run_id FROM hunt_runs WHERE hunt <> 'rules' GROUP BY hunt),
t AS (${TRIAGE_IN_FORCE}),
fam(hunt, family) AS (VALUES ${families}),
k AS (SELECT r.*, ${THREAD_KEY('r')} AS thread, count(*) OVER (PARTITION BY r.run_id) AS rows_n FROM results r JOIN latest USING (run_id)),
best AS (SELECT hunt, thread, any_value(entity_type) AS entity_type, min(rank) AS rank, arg_min(score, rank) AS score, any_value(rows_n) AS n,
           arg_min(CAST(reasons->>0 AS VARCHAR), rank) AS why, max(CAST(evidence->>'name' AS VARCHAR)) AS name,
           max_by(${RESULT_DECISION('t', 'k.thread', 'k.hunt', 'k.entity')}, rank) AS dn FROM k GROUP BY hunt, thread),
spread AS (SELECT hunt, median(score) AS mid, max(score) AS top FROM best GROUP BY hunt),
strength AS (SELECT b.*, b.rank AS k, coalesce(f.family, b.hunt) AS family,
               CASE WHEN b.score IS NULL THEN 0.0 WHEN sp.top > sp.mid THEN least(1.0, greatest(0.0, (b.score - sp.mid) / (sp.top - sp.mid)))
                    WHEN b.score >= sp.top THEN 1.0 ELSE 0.0 END AS s
             FROM best b JOIN spread sp USING (hunt) LEFT JOIN fam f USING (hunt)),
per_family AS (SELECT family, thread, avg(s) AS s FROM strength GROUP BY family, thread),
g AS (SELECT s.thread, any_value(s.entity_type) AS kind, max(s.name) AS name, max_by(s.dn, s.dn.id) FILTER (WHERE s.dn IS NOT NULL) AS dn,
        list({'hunt': s.hunt, 'rank': s.k, 'of': s.n, 'strength': round(s.s, 3), 'why': s.why} ORDER BY s.s DESC, s.hunt) AS hunts,
        list(s.hunt) AS hunt_names, min(s.k) AS first_rank, string_agg(s.thread || ' ' || coalesce(s.why, ''), ' ') AS text FROM strength s GROUP BY s.thread),
d AS (SELECT g.*, (SELECT round(sum(p.s), 3) FROM per_family p WHERE p.thread = g.thread) AS score, dn.decision AS decision, dn.note AS note FROM g)
SELECT thread, kind, name, score, CAST(to_json(hunts) AS VARCHAR) AS hunts, decision, note, count(*) OVER () AS total FROM d
WHERE ($1::VARCHAR IS NULL OR list_contains(hunt_names, $1))
  AND ($2::VARCHAR IS NULL OR coalesce(decision, 'none') = $2)
  AND ($3::VARCHAR IS NULL OR contains(lower(text), lower($3)))
  AND ($6::VARCHAR[] IS NULL OR list_contains($6::VARCHAR[], thread))
ORDER BY score DESC, first_rank, thread LIMIT $4 OFFSET $5`,
    [
      options.hunt ?? null,
      options.decision ?? null,
      options.q ?? null,
      options.limit ?? 50,
      options.offset ?? 0,
      options.only ? listValue(options.only) : null,
    ],
  );
  const total = Number(rows[0]?.total ?? 0);
  const threads: QueueThread[] = rows.map((r, i) => {
    const thread = String(r.thread);
    return {
      rank: (options.offset ?? 0) + i + 1,
      thread,
      kind: String(r.kind),
      entity: thread.slice(thread.indexOf(':') + 1),
      name: r.name === null ? null : String(r.name),
      score: Number(r.score),
      hunts: JSON.parse(String(r.hunts)) as QueueThread['hunts'],
      user: null,
      host: null,
      decision: r.decision === null ? null : String(r.decision),
      note: r.note === null ? null : String(r.note),
    };
  });
  await linkSources(ws, threads, logs);
  return { total, threads };
}

/** The source address of a pair thread (`pair:SRC→DEST`). */
export function pairSource(thread: string): string | undefined {
  if (!thread.startsWith('pair:')) return undefined;
  return thread.slice(5).split('→')[0];
}

/**
 * Who is behind a beacon's source address: the user its proxy rows name most, and the host that
 * user logs on to most (CERT logons, Windows events); ties go to the first name. Only for the
 * threads on the page. Both lookups are stages: with the logs in ClickHouse they run there and
 * send back a count per (source, user) and per (user, host), never raw rows.
 */
export async function linkSources(ws: Workspace, threads: QueueThread[], logs: LogStore = WORKSPACE_LOGS): Promise<void> {
  const sources = [...new Set(threads.map((t) => pairSource(t.thread)).filter((s): s is string => Boolean(s)))];
  if (sources.length === 0) return;
  const dialect = await stageDialect(ws, logs);
  const user = ident('user');
  const top = (table: string, key: string, column: string) =>
    `SELECT ${quoteIdent(key)}, first(${quoteIdent(column)} ORDER BY n DESC, ${quoteIdent(column)}) AS ${quoteIdent(column)} FROM ${quoteIdent(table)} GROUP BY 1`;
  try {
    await logs.land(ws, {
      table: 'hb_source_users',
      sql: sql`SELECT src_ip AS src, lower(${user}) AS name, count(*) AS n FROM ${dialect.table('http')} WHERE ${dialect.listContains(sql`${listValue(sources)}`, sql`src_ip`)} AND ${user} IS NOT NULL AND ${user} <> '' GROUP BY src_ip, lower(${user})`,
      columns: [
        ['src', 'VARCHAR'],
        ['name', 'VARCHAR'],
        ['n', 'BIGINT'],
      ],
    });
    const users = (await ws.query(top('hb_source_users', 'src', 'name'))).map((r) => [String(r.src), String(r.name)] as const);
    if (users.length === 0) return;
    const names = [...new Set(users.map(([, name]) => name))];
    await logs.land(ws, {
      table: 'hb_user_hosts',
      sql: sql`SELECT lower(${user}) AS name, host, count(*) AS n FROM ${dialect.table('activity')} WHERE host IS NOT NULL AND ${user} IS NOT NULL AND ${dialect.listContains(sql`${listValue(names)}`, sql`lower(${user})`)} GROUP BY lower(${user}), host`,
      columns: [
        ['name', 'VARCHAR'],
        ['host', 'VARCHAR'],
        ['n', 'BIGINT'],
      ],
    });
    const hosts = new Map((await ws.query(top('hb_user_hosts', 'name', 'host'))).map((r) => [String(r.name), String(r.host)] as const));
    const by = new Map(users);
    for (const t of threads) {
      const name = by.get(pairSource(t.thread) ?? '');
      if (name === undefined) continue;
      t.user = name;
      t.host = hosts.get(name) ?? null;
    }
  } finally {
    for (const table of ['hb_source_users', 'hb_user_hosts']) await ws.run(`DROP TABLE IF EXISTS ${quoteIdent(table)}`);
  }
}

/** The queue as printable rows (the CLI's table and machine formats). */
export function queueRows(threads: readonly QueueThread[]): Row[] {
  return threads.map((t) => ({
    rank: t.rank,
    thread: t.thread,
    name: t.name,
    score: t.score,
    hunts: t.hunts.map((h) => `${h.hunt} #${h.rank}/${h.of}`).join(', '),
    user: t.user,
    host: t.host,
    decision: t.decision,
    note: t.note,
    why: t.hunts[0]?.why ?? null,
  }));
}
