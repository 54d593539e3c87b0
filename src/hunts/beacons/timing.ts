/**
 * Timing mode: per IP pair and per host pair (HTTP Host / TLS SNI joined to conn by Zeek uid,
 * proxy CONNECT included; proxy logs without conn records keyed by their own host), the RITA v5
 * timing score of shared/specs/beacon-timing-score.md, a jitter-tolerant periodicity score beside
 * it, and context (prevalence, first seen, allow-list) that decides the ranking and says why.
 */
import type { SqlValue } from '../../store/sql.ts';
import { raw, sql } from '../../store/sql-template.ts';
import { UsageError } from '../../errors.ts';
import type { Config } from '../../config.ts';
import { integer, text, timeRange, type Flags } from '../../model/flags.ts';
import type { Row, Workspace } from '../../store/workspace.ts';
import { AddressClassifier } from '../../net/network.ts';
import type { ResultRow } from '../run.ts';
import { runHunt, type Hunt, type HuntContext, type HuntOutput, type Stage } from '../contract.ts';
import type { Dialect } from '../../store/dialect.ts';
import { timingStagesClickHouse } from './timing-clickhouse.ts';
import { allowListMatch, type AllowList } from '../../net/allowlist.ts';
import { analysisWindow, jitterScore, R, seriesStart, timingScore, type TimingScore, type Window } from './timing-score.ts';

export interface TimingParams {
  internal: string[];
  allow: AllowList;
  /** Jitter window: gaps within ±tolerance of the dominant interval count as periodic. */
  tolerance: number;
  /** Prevalence only says something with enough hosts: below this many internal sources it is not applied. */
  minHostsForPrevalence: number;
  /** Records at or above this make a strobe (reported apart, not scored). */
  strobeRecords: number;
  /** rank_score × this for a destination the proxy categorises (default 1: off). */
  categorisedFactor?: number;
}

export interface TimingOptions {
  params: TimingParams;
  top: number;
  /** Also list allow-listed pairs (they rank last either way). */
  includeAllowed?: boolean;
  /** Only records at or after / before these times (ISO 8601); the window is the last 24 h of what is left. */
  since?: string;
  until?: string;
  /** Score every UTC day of the span as its own 24 h window (one run per day), instead of only the last 24 h. */
  eachDay?: boolean;
}

export const TIMING_COLUMNS = [
  'rank',
  'window_start',
  'kind',
  'src',
  'dest',
  'dest_ip',
  'records',
  'score',
  'ts_score',
  'ds_score',
  'dur_score',
  'hist_score',
  'jitter_score',
  'interval_s',
  'median_size',
  'prevalence',
  'first_seen',
  'allowed',
  'rank_score',
  'reasons',
] as const;

const IPCLASS = 'hb_ipclass';
const CONN = 'hb_conn';
const RECORDS = 'hb_beacon_records';

const COUNTS = 'hb_timing_counts';
const NAMES = 'hb_timing_names';
const CATEGORIES = 'hb_timing_categories';

/**
 * Every address of the network tables with its class, worked out in SQL from the configured
 * networks (no address travels to JS and back). An address that cannot be parsed counts as
 * special: it can be neither end of a beacon we can reason about.
 */
function classifyStage(internal: string[], dialect: Dialect): Stage {
  const addresses = sql`SELECT src_ip AS ip FROM flows UNION ALL SELECT dest_ip FROM flows UNION ALL
      SELECT src_ip FROM http UNION ALL SELECT dest_ip FROM http UNION ALL SELECT src_ip FROM tls UNION ALL SELECT dest_ip FROM tls`;
  return {
    table: IPCLASS,
    sql: sql`SELECT ip, internal, special OR NOT valid AS special FROM (${dialect.classifyAddresses(addresses, internal)})`,
  };
}

/**
 * Builds every record the spec counts, tagged with its pair, into one temporary table:
 * - conn records with an HTTP Host or TLS SNI (joined by uid) belong to that host pair; a host pair
 *   takes over only the connections whose uid it covers, the rest of the IP pair stays an IP pair
 *   (one HTTP request to a C2 address must not hide its TLS beacon);
 * - Zeek http/ssl rows whose uid has no conn record (http.log exported without conn.log) count on
 *   their own times and addresses; sizes are unknown for ssl;
 * - proxy logs (no uid) count one record per request.
 */
function recordStages(): Stage[] {
  const [CONN_, IPCLASS_] = [raw(CONN), raw(IPCLASS)];
  const conn = sql`
    SELECT f.uid, f.src_ip, f.dest_ip, CAST(floor(epoch(f.ts)) AS BIGINT) AS t, coalesce(f.ip_bytes_out, f.bytes_out, 0) AS size,
           (s.special OR d.special OR NOT (s.internal AND NOT d.internal)) AS filtered
      FROM flows f JOIN ${IPCLASS_} s ON s.ip = f.src_ip JOIN ${IPCLASS_} d ON d.ip = f.dest_ip
     WHERE f.ts IS NOT NULL`;
  // An own-time record is kept when its source is internal and its destination is external (or
  // unknown), or when it is a CONNECT through an internal proxy.
  const ownTimeKept = `s.internal AND NOT s.special AND (method = 'CONNECT' OR (NOT coalesce(d.internal, false) AND NOT coalesce(d.special, false)))`;
  const [kept, keptTls] = [raw(ownTimeKept), raw(ownTimeKept.replace("method = 'CONNECT' OR ", ''))];
  const records = sql`
    WITH last_http AS (      -- one record per uid: the request with the latest http ts
      SELECT uid, arg_max(dest, ts) AS host, arg_max(method, ts) AS method, arg_min(src_ip, ts) AS src_ip, arg_min(dest_ip, ts) AS dest_ip,
             min(ts) AS ts, sum(bytes_out) AS size
        FROM http WHERE uid IS NOT NULL GROUP BY uid
    ), http_rec AS (
      SELECT 'host' AS kind, c.src_ip AS src, h.host AS dest, c.dest_ip, c.t, c.size, c.uid, h.method = 'CONNECT' AS connect
        FROM last_http h JOIN ${CONN_} c USING (uid)
       WHERE coalesce(h.host, '') <> '' AND (h.method = 'CONNECT' OR NOT c.filtered)
    ), http_own AS (         -- http.log without its conn.log
      SELECT 'host', h.src_ip, h.host, h.dest_ip, CAST(floor(epoch(h.ts)) AS BIGINT), h.size, h.uid, h.method = 'CONNECT'
        FROM last_http h ANTI JOIN ${CONN_} c USING (uid) JOIN ${IPCLASS_} s ON s.ip = h.src_ip LEFT JOIN ${IPCLASS_} d ON d.ip = h.dest_ip
       WHERE coalesce(h.host, '') <> '' AND h.ts IS NOT NULL AND ${kept}
    ), tls_rec AS (
      SELECT 'host' AS kind, c.src_ip, t.server_name, c.dest_ip, c.t, c.size, c.uid, false
        FROM tls t JOIN ${CONN_} c USING (uid)
       WHERE coalesce(t.server_name, '') <> '' AND NOT c.filtered
    ), tls_own AS (          -- ssl.log without its conn.log: no sizes
      SELECT 'host', t.src_ip, t.server_name, t.dest_ip, CAST(floor(epoch(t.ts)) AS BIGINT), NULL::BIGINT, t.uid, false
        FROM (SELECT * FROM tls WHERE uid IS NOT NULL) t ANTI JOIN ${CONN_} c USING (uid) JOIN ${IPCLASS_} s ON s.ip = t.src_ip LEFT JOIN ${IPCLASS_} d ON d.ip = t.dest_ip
       WHERE coalesce(t.server_name, '') <> '' AND t.ts IS NOT NULL AND ${keptTls}
    ), tls_ip_own AS (       -- ssl.log without conn.log and without SNI: an IP pair on the handshake's time
      SELECT 'ip', t.src_ip, t.dest_ip, t.dest_ip, CAST(floor(epoch(t.ts)) AS BIGINT), NULL::BIGINT, t.uid, false
        FROM (SELECT * FROM tls WHERE uid IS NOT NULL AND coalesce(server_name, '') = '') t ANTI JOIN ${CONN_} c USING (uid)
        JOIN ${IPCLASS_} s ON s.ip = t.src_ip JOIN ${IPCLASS_} d ON d.ip = t.dest_ip
       WHERE t.ts IS NOT NULL AND s.internal AND NOT s.special AND NOT d.internal AND NOT d.special
    ), proxy_rec AS (        -- proxy logs without conn records: the proxy's own view of each request
      SELECT 'host' AS kind, h.src_ip, h.dest, h.dest_ip, CAST(floor(epoch(h.ts)) AS BIGINT), coalesce(h.bytes_out, 0), NULL::VARCHAR, false
        FROM http h JOIN ${IPCLASS_} s ON s.ip = h.src_ip LEFT JOIN ${IPCLASS_} d ON d.ip = h.dest_ip
       WHERE h.uid IS NULL AND h.ts IS NOT NULL AND coalesce(h.dest, '') <> '' AND s.internal AND NOT s.special AND NOT coalesce(d.special, false)
    ), hosts AS (
      SELECT * FROM http_rec UNION ALL SELECT * FROM tls_rec
    ), ip_rec AS (           -- connections no host record covers stay with their IP pair
      SELECT 'ip' AS kind, c.src_ip, c.dest_ip AS dest, c.dest_ip, c.t, c.size, c.uid, false
        FROM ${CONN_} c ANTI JOIN (SELECT uid FROM hosts) h USING (uid) WHERE NOT c.filtered
    )
    SELECT * FROM hosts UNION ALL SELECT * FROM http_own UNION ALL SELECT * FROM tls_own UNION ALL SELECT * FROM tls_ip_own
    UNION ALL SELECT * FROM proxy_rec UNION ALL SELECT * FROM ip_rec`;
  return [
    { table: CONN, sql: conn },
    { table: RECORDS, sql: records },
  ];
}

/** Host names seen for each destination address (HTTP Host, TLS SNI): lets an IP pair be allow-listed by name. */
const namesStage = (): Stage => ({
  table: NAMES,
  sql: sql`SELECT dest_ip, list(DISTINCT name) AS names FROM (
      SELECT dest_ip, dest AS name FROM http WHERE dest_ip IS NOT NULL AND coalesce(dest, '') <> ''
      UNION ALL SELECT dest_ip, server_name FROM tls WHERE dest_ip IS NOT NULL AND coalesce(server_name, '') <> '') GROUP BY dest_ip`,
});

/** What the proxy says each destination is (a known category, or nothing). */
const categoriesStage = (): Stage => ({
  table: CATEGORIES,
  // The most frequent category, the first by name on a tie (mode() would pick by row order).
  sql: sql`SELECT dest, first(category ORDER BY n DESC, category) AS category FROM (
      SELECT lower(dest) AS dest, category, count(*) AS n FROM http
      WHERE dest IS NOT NULL AND category IS NOT NULL AND lower(trim(category)) NOT IN ('', '-', 'uncategorized', 'unknown', 'none', 'unrated', 'not rated')
      GROUP BY 1, 2) GROUP BY 1`,
});

/** The stages, in order (each may read the ones before): sizes of the tables, address classes, connections, records, names, categories. */
function timingStages(options: TimingOptions, dialect: Dialect): Stage[] {
  if (dialect.name !== 'duckdb')
    return timingStagesClickHouse(options.params.internal, dialect, {
      counts: COUNTS,
      ipclass: IPCLASS,
      conn: CONN,
      records: RECORDS,
      names: NAMES,
      categories: CATEGORIES,
    });
  return [
    {
      table: COUNTS,
      sql: sql`SELECT (SELECT count(*) FROM flows) AS flows, (SELECT count(*) FROM http) AS http, (SELECT count(*) FROM tls) AS tls`,
    },
    classifyStage(options.params.internal, dialect),
    ...recordStages(),
    namesStage(),
    categoriesStage(),
  ];
}

/** Epoch-second bounds of --since / --until, read the way DuckDB reads a timestamp. */
interface Range {
  lo?: number;
  hi?: number;
}

async function parseRange(ws: Workspace, since?: string, until?: string): Promise<Range> {
  const read = async (name: string, text?: string) => {
    if (text === undefined) return undefined;
    const value = await ws.scalar('SELECT epoch(TRY_CAST($1 AS TIMESTAMP))', [text]);
    if (value === null) throw new UsageError(`${name} must be a time like 2024-03-04 or 2024-03-04T09:00:00, got "${text}"`);
    return Number(value);
  };
  const range = { lo: await read('--since', since), hi: await read('--until', until) };
  if (range.lo !== undefined && range.hi !== undefined && range.lo >= range.hi) throw new UsageError('--since must be before --until');
  return range;
}

function rangeFilter(range: Range, values: SqlValue[]): string {
  const parts = ['true'];
  if (range.lo !== undefined) parts.push(`t >= $${values.push(range.lo)}`);
  if (range.hi !== undefined) parts.push(`t < $${values.push(range.hi)}`);
  return parts.join(' AND ');
}

/**
 * The span the records cover within the range: the sensor's view (every unfiltered conn and
 * CONNECT record) when there is one, else the records themselves (proxy, http or ssl logs alone).
 */
async function span(ws: Workspace, range: Range): Promise<{ lo: number; hi: number } | undefined> {
  const values: SqlValue[] = [];
  const inRange = rangeFilter(range, values);
  const [row] = await ws.query(
    `SELECT min(t) AS lo, max(t) AS hi FROM (
      SELECT t FROM ${CONN} WHERE NOT filtered UNION ALL SELECT t FROM ${RECORDS} WHERE connect) WHERE ${inRange}`,
    values,
  );
  if (row?.lo !== null && row?.lo !== undefined) return { lo: Number(row.lo), hi: Number(row.hi) };
  const [own] = await ws.query(`SELECT min(t) AS lo, max(t) AS hi FROM ${RECORDS} WHERE ${inRange}`, values);
  return own?.lo === null || own?.lo === undefined ? undefined : { lo: Number(own.lo), hi: Number(own.hi) };
}

/** The windows to score: the last 24 h of the span (RITA), or every UTC day of it. */
function windowsOf(bounds: { lo: number; hi: number }, eachDay: boolean): { w: Window; from: number }[] {
  if (!eachDay) {
    const w = analysisWindow(bounds.lo, bounds.hi);
    return [{ w, from: seriesStart(w) }];
  }
  const windows: { w: Window; from: number }[] = [];
  for (let day = Math.floor(bounds.lo / 86400) * 86400; day <= bounds.hi; day += 86400) {
    windows.push({ w: { w0: Math.max(day, bounds.lo), w1: Math.min(day + 86399, bounds.hi) }, from: day });
  }
  return windows;
}

/** When nothing is left to score: which filter removed what, so the user knows which flag to change. */
async function explainEmpty(ws: Workspace, internal: string[], range: Range): Promise<string> {
  const values: SqlValue[] = [];
  const inRange = rangeFilter(range, values);
  const [conn] = await ws.query(
    `SELECT count(*) AS n, count(*) FILTER (WHERE NOT filtered) AS kept,
      count(*) FILTER (WHERE s.special OR d.special) AS special,
      count(*) FILTER (WHERE NOT s.special AND NOT d.special AND NOT s.internal) AS external_source,
      count(*) FILTER (WHERE NOT s.special AND NOT d.special AND s.internal AND d.internal) AS internal_dest
    FROM ${CONN} c JOIN ${IPCLASS} s ON s.ip = c.src_ip JOIN ${IPCLASS} d ON d.ip = c.dest_ip WHERE ${inRange}`,
    values,
  );
  const total = Number(await ws.scalar(`SELECT flows + http + tls FROM ${COUNTS}`));
  const parts = [
    `no records left to score${range.lo !== undefined || range.hi !== undefined ? ' in the --since/--until range' : ''} (${total} flows, http and tls rows in the workspace)`,
  ];
  if (Number(conn.n) > 0) {
    parts.push(
      `of ${conn.n} connections: ${conn.external_source} have a source outside the internal networks, ${conn.internal_dest} stay inside them, ${conn.special} involve loopback, link-local, multicast or broadcast addresses`,
    );
  }
  parts.push(`internal networks: ${internal.join(', ')} (a lab with public addresses needs --internal CIDR,...)`);
  return parts.join('; ');
}

interface PairSeries {
  kind: string;
  src: string;
  dest: string;
  dest_ip: string | null;
  records: number;
  distinct_ts: number;
  times: number[] | null;
  sizes: number[] | null;
  prevalence_sources: number;
  first_seen: number;
  /** The proxy's category of the destination (null: none, or "uncategorized"). */
  category: string | null;
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace('T', ' ').replace('.000Z', '');

async function finishTiming({ ws, record }: HuntContext, options: TimingOptions): Promise<HuntOutput> {
  const params = options.params;
  const counts = await ws.query(`SELECT * FROM ${COUNTS}`);
  if (Number(counts[0].flows) + Number(counts[0].http) + Number(counts[0].tls) === 0) {
    throw new UsageError('no flows, http or tls rows in the workspace: ingest Zeek conn/http/ssl logs or proxy logs first');
  }
  const range = await parseRange(ws, options.since, options.until);
  const bounds = await span(ws, range);
  if (!bounds) throw new UsageError(await explainEmpty(ws, params.internal, range));
  const names = await namesByAddress(ws);
  const classifier = new AddressClassifier(params.internal);
  const windows = windowsOf(bounds, Boolean(options.eachDay));
  const rows: Row[] = [];
  const notes: string[] = [];
  const runIds: number[] = [];
  for (const { w, from } of windows) {
    const scored = await scoreWindow(ws, params, w, from, names, classifier);
    if (options.eachDay && scored.pairs.length === 0) continue;
    const results: ResultRow[] = [];
    const windowRows: Row[] = [];
    scored.pairs.forEach((s, index) => {
      const { pair, timing, jitter } = s;
      const reasons = explain(s, scored.sources, w, params);
      if (s.tieBreak) reasons.push(s.tieBreak);
      if (s.pair.category)
        reasons.push(
          `the proxy categorises the destination as "${s.pair.category}"${(params.categorisedFactor ?? 1) < 1 ? `: rank × ${params.categorisedFactor} (beacons.categorised_factor)` : ''}`,
        );
      const features = {
        kind: pair.kind,
        records: pair.records,
        score: timing?.score ?? null,
        ts_score: timing?.ts.score ?? null,
        ds_score: timing?.ds?.score ?? null,
        dur_score: timing?.dur.score ?? null,
        hist_score: timing?.hist.score ?? null,
        jitter_score: jitter.score,
        prevalence: R(s.prevalence),
        strobe: s.strobe,
      };
      const evidence = timing
        ? {
            hourly: timing.hist.bins,
            intervals: topCounts(gapsOf(pair.times!)),
            sizes: pair.sizes ? topCounts(pair.sizes) : null,
            median_interval_s: timing.ts.median,
            interval_mad_s: timing.ts.mad,
            median_size: timing.ds?.median ?? null,
            size_mad: timing.ds?.mad ?? null,
            interval_bins: intervalBins(gapsOf(pair.times!)),
            first_seen: iso(pair.first_seen),
            window_first: iso(pair.times![0]),
            window_last: iso(pair.times![pair.times!.length - 1]),
          }
        : { strobe: true, records: pair.records };
      results.push({
        rank: index + 1,
        entityType: `${pair.kind}-pair`,
        entity: `${pair.src}→${pair.dest}`,
        score: s.rankScore,
        features,
        reasons,
        evidence,
      });
      if (s.allowed && !options.includeAllowed) return;
      windowRows.push({
        rank: index + 1,
        window_start: iso(w.w0),
        kind: s.strobe ? `${pair.kind} (strobe)` : pair.kind,
        src: pair.src,
        dest: pair.dest,
        dest_ip: pair.dest_ip,
        records: pair.records,
        score: timing?.score ?? null,
        ts_score: timing?.ts.score ?? null,
        ds_score: timing?.ds?.score ?? null,
        dur_score: timing?.dur.score ?? null,
        hist_score: timing?.hist.score ?? null,
        jitter_score: jitter.score,
        interval_s: intervalOf(s),
        median_size: timing?.ds?.median ?? null,
        prevalence: R(s.prevalence),
        first_seen: iso(pair.first_seen),
        allowed: s.allowed ?? null,
        rank_score: s.rankScore,
        reasons: reasons.join('; '),
      });
    });
    const runId = await record({
      parameters: { ...params, since: options.since ?? null, until: options.until ?? null, eachDay: Boolean(options.eachDay) },
      window: { start: iso(w.w0), end: iso(w.w1) },
      results,
    });
    runIds.push(runId);
    for (const row of windowRows) rows.push(row);
    const allowedCount = scored.pairs.filter((s) => s.allowed).length;
    notes.push(
      `window ${iso(w.w0)} – ${iso(w.w1)} UTC${!options.eachDay && options.since === undefined && options.until === undefined ? ' (the last 24 h of the data; --since/--until choose another, --each-day scores every day)' : ''}; ${scored.pairs.length} pairs with ≥ 4 timestamps (${scored.pairs.filter((s) => s.strobe).length} strobes), ${scored.sources} internal sources; ${allowedCount} allow-listed${allowedCount && !options.includeAllowed ? ' (hidden; --include-allowed shows them)' : ''}; run ${runId}`,
    );
  }
  if (options.eachDay) {
    // One list across the days, best first; rank stays the rank within its own day.
    rows.sort(
      (a, b) =>
        Number(b.rank_score) - Number(a.rank_score) ||
        Number(a.rank) - Number(b.rank) ||
        String(a.window_start).localeCompare(String(b.window_start)),
    );
  }
  return { columns: [...TIMING_COLUMNS], rows: rows.slice(0, options.top), runId: runIds.at(-1) ?? 0, notes };
}

/**
 * interval_s, one definition: the median of the gaps that make the dominant interval (those
 * within ±tolerance of it, see jitterScore); with too few gaps for that, the median of all gaps.
 */
function intervalOf(s: ScoredPair): number | null {
  return s.jitter.interval || (s.timing?.ts.median ?? null);
}

interface ScoredPair extends Explained {
  rankScore: number;
  /** When its score ties with others: which context placed it. */
  tieBreak?: string;
}

async function scoreWindow(
  ws: Workspace,
  params: TimingParams,
  w: Window,
  from: number,
  names: Map<string, string[]>,
  classifier: AddressClassifier,
): Promise<{ pairs: ScoredPair[]; sources: number }> {
  const values: SqlValue[] = [from, w.w1, params.strobeRecords];
  const pairs = (await ws.query(
    `
    WITH win AS (SELECT * FROM ${RECORDS} WHERE t >= $1 AND t <= $2),
    series AS (
      SELECT kind, src, dest, mode(dest_ip) AS dest_ip, count(*) AS records, count(DISTINCT t) AS distinct_ts,
             CASE WHEN count(*) < $3 THEN list(t ORDER BY t) END AS times,
             CASE WHEN count(*) < $3 AND count(size) = count(*) THEN list(size ORDER BY t) END AS sizes
        FROM win GROUP BY kind, src, dest HAVING count(DISTINCT t) >= 4
    ), reach AS (            -- prevalence: how many internal sources reach the destination in the window
      SELECT dest, count(DISTINCT src) AS prevalence_sources FROM win GROUP BY dest
    ), seen AS (             -- first seen across everything the workspace holds
      SELECT dest, min(t) AS first_seen FROM ${RECORDS} GROUP BY dest
    )
    SELECT series.*, prevalence_sources, first_seen, cat.category FROM series JOIN reach USING (dest) JOIN seen USING (dest)
      LEFT JOIN ${CATEGORIES} cat ON series.kind = 'host' AND cat.dest = lower(series.dest)`,
    values,
  )) as unknown as PairSeries[];
  const sources = Number(await ws.scalar(`SELECT count(DISTINCT src) FROM ${RECORDS} WHERE t >= $1 AND t <= $2`, [from, w.w1]));
  const scored: ScoredPair[] = pairs.map((pair) => {
    const strobe = pair.records >= params.strobeRecords || !pair.times;
    const timing: TimingScore | undefined = strobe ? undefined : timingScore(pair.times!, pair.sizes, w);
    const jitter = strobe ? { score: 0, interval: 0 } : jitterScore(pair.times!, params.tolerance);
    const prevalence = sources > 0 ? pair.prevalence_sources / sources : 0;
    const allowed = allowListMatch(
      params.allow,
      pair.kind === 'host' ? pair.dest : null,
      pair.dest_ip,
      pair.dest_ip ? (names.get(pair.dest_ip) ?? []) : [],
      classifier,
    );
    const applyPrevalence = sources >= params.minHostsForPrevalence;
    // The jitter score ranks a pair only as far as its gaps can vouch for it: full weight from 24
    // gaps (a day of hourly check-ins) up, less for a handful of gaps that line up by chance.
    const gapCount = timing?.gaps ?? 0;
    const base = Math.max(timing?.score ?? 0, jitter.score * Math.min(1, gapCount / 24));
    const categorised = pair.category !== null && (params.categorisedFactor ?? 1) < 1;
    const rankScore = allowed ? 0 : R(base * (applyPrevalence ? 1 - prevalence : 1) * (categorised ? params.categorisedFactor! : 1));
    return { pair, strobe, timing, jitter, prevalence, allowed, applyPrevalence, rankScore };
  });
  // Equal scores are told apart by context, as a hunter would: a destination the proxy has no
  // category for (new, rare, or made for the purpose) before a categorised one (a weather widget,
  // a stock ticker), then the one fewer hosts reach, then the one first seen later.
  const context = (x: ScoredPair) => [x.pair.category === null ? 0 : 1, x.prevalence, -x.pair.first_seen] as const;
  const byContext = (a: ScoredPair, b: ScoredPair) => {
    const [ca, cb] = [context(a), context(b)];
    return ca[0] - cb[0] || ca[1] - cb[1] || ca[2] - cb[2];
  };
  scored.sort(
    (a, b) =>
      b.rankScore - a.rankScore ||
      byContext(a, b) ||
      (b.timing?.score ?? 0) - (a.timing?.score ?? 0) ||
      b.pair.records - a.pair.records ||
      a.pair.src.localeCompare(b.pair.src) ||
      a.pair.dest.localeCompare(b.pair.dest),
  );
  // Each pair in a tie says which context placed it.
  const ties = new Map<number, ScoredPair[]>();
  for (const x of scored) ties.set(x.rankScore, [...(ties.get(x.rankScore) ?? []), x]);
  for (const group of ties.values()) {
    if (group.length < 2 || group[0].rankScore === 0) continue;
    for (const x of group) {
      x.tieBreak = `tie at ${x.rankScore} among ${group.length} pairs, placed by context: ${x.pair.category === null ? 'the proxy has no category for the destination' : `the proxy categorises the destination as "${x.pair.category}"`}, ${x.pair.prevalence_sources} internal host${x.pair.prevalence_sources === 1 ? '' : 's'} reach it, first seen ${iso(x.pair.first_seen)}`;
    }
  }
  return { pairs: scored, sources };
}

/**
 * The gaps as a histogram a hunter can read a period from: 40 equal bins from 0 to twice the
 * median gap (a jittered 600 s beacon is one hump around 600 s, not scattered exact seconds),
 * the gaps beyond in the last bin. [from s, to s, count] per bin.
 */
export function intervalBins(gaps: readonly number[], bins = 40): [number, number, number][] {
  if (gaps.length === 0) return [];
  const sorted = [...gaps].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  const top = Math.max(2 * median, 1);
  const width = top / bins;
  const counts = new Array<number>(bins).fill(0);
  for (const g of sorted) counts[Math.min(bins - 1, Math.floor(g / width))]++;
  const r = (x: number) => Math.round(x * 10) / 10;
  return counts.map((n, i) => [r(i * width), r(i === bins - 1 ? Math.max(top, sorted[sorted.length - 1]) : (i + 1) * width), n]);
}

function gapsOf(times: number[]): number[] {
  const gaps: number[] = [];
  for (let i = 1; i < times.length; i++) if (times[i] > times[i - 1]) gaps.push(times[i] - times[i - 1]);
  return gaps;
}

/** The ten most frequent values with their counts: the evidence a chart draws. */
function topCounts(values: number[]): [number, number][] {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, 10);
}

async function namesByAddress(ws: Workspace): Promise<Map<string, string[]>> {
  const rows = await ws.query(`SELECT dest_ip, names FROM ${NAMES}`);
  return new Map(rows.map((r) => [String(r.dest_ip), (r.names as string[]) ?? []]));
}

interface Explained {
  pair: PairSeries;
  strobe: boolean;
  timing?: TimingScore;
  jitter: { score: number; interval: number };
  prevalence: number;
  allowed?: string;
  applyPrevalence: boolean;
}

function explain(s: Explained, sources: number, w: Window, params: TimingParams): string[] {
  const reasons: string[] = [];
  const { timing, jitter, pair } = s;
  if (s.allowed) reasons.push(`allow-listed (${s.allowed})`);
  if (s.strobe)
    reasons.push(`strobe: ${pair.records} records in the window (≥ ${params.strobeRecords.toLocaleString('en-US')}), reported apart`);
  if (timing) {
    reasons.push(
      `intervals ${timing.ts.score}: all gaps median ${timing.ts.median} s, MAD ${timing.ts.mad} s, skew ${timing.ts.skew.toFixed(2)}`,
    );
    reasons.push(
      timing.ds
        ? `sizes ${timing.ds.score}: median ${timing.ds.median} B sent per connection, MAD ${timing.ds.mad} B (IP bytes where Zeek counts them, orig_ip_bytes; else payload or proxy request bytes)`
        : 'sizes unknown (ssl records without their conn records): score from intervals, duration and hours only',
    );
    reasons.push(`${timing.hist.bars}/24 hours active (hist ${timing.hist.score}, duration ${timing.dur.score})`);
  }
  // interval_s is always said, with what it is, so it never reads as a contradiction of the median above.
  if (jitter.interval > 0)
    reasons.push(
      `interval_s ${jitter.interval}: ${Math.round(jitter.score * 100)} % of gaps within ±${Math.round(params.tolerance * 100)} % of ${jitter.interval} s (their median)`,
    );
  else if (timing) reasons.push(`interval_s ${timing.ts.median}: the median of all gaps (too few gaps for a dominant interval)`);
  if (s.applyPrevalence)
    reasons.push(`${pair.prevalence_sources} of ${sources} internal hosts reach it (prevalence ${(s.prevalence * 100).toFixed(1)} %)`);
  else reasons.push(`prevalence not applied: only ${sources} internal host${sources === 1 ? '' : 's'}`);
  if (pair.first_seen >= w.w0) reasons.push('first seen in this window');
  return reasons;
}

/** `hunt beacons` (timing mode): the flags over the configuration in force. */
function readTimingFlags(config: Config, flags: Flags): TimingOptions {
  const internal = text(flags, 'internal');
  return {
    params: {
      internal: internal
        ? internal
            .split(',')
            .map((c) => c.trim())
            .filter(Boolean)
        : config.networks.internal,
      allow: flags.allowlist === false ? { domains: [], cidrs: [] } : config.beacons.allow,
      tolerance: config.beacons.jitterTolerance,
      categorisedFactor: config.beacons.categorisedFactor,
      minHostsForPrevalence: config.beacons.prevalenceMinHosts,
      strobeRecords: config.beacons.strobeRecords,
    },
    top: integer(flags, 'top', '--top', 20, 1),
    includeAllowed: flags.includeAllowed === true,
    ...timeRange(flags),
    eachDay: flags.eachDay === true,
  };
}

export const TIMING: Hunt<TimingOptions> = {
  name: 'beacons.timing',
  columns: TIMING_COLUMNS,
  params: readTimingFlags,
  stage: timingStages,
  finish: finishTiming,
  thread: (row) => `${String(row.src)}→${String(row.dest)}`,
};

/** One timing run (the library's and the tests' entry; the CLI runs TIMING itself). */
export async function timingHunt(ws: Workspace, options: TimingOptions): Promise<HuntOutput> {
  return runHunt(ws, TIMING, options);
}
