/**
 * Timing mode: per IP pair and per host pair (HTTP Host / TLS SNI joined to conn by Zeek uid,
 * proxy CONNECT included; proxy logs without conn records keyed by their own host), the RITA v5
 * timing score of shared/specs/beacon-timing-score.md, a jitter-tolerant periodicity score beside
 * it, and context (prevalence, first seen, allow-list) that decides the ranking and says why.
 */
import type { DuckDBValue } from '@duckdb/node-api';
import { UsageError } from '../../errors.ts';
import type { Row, Workspace } from '../../store/workspace.ts';
import { AddressClassifier } from '../../net/network.ts';
import { finishRun, startRun, type ResultRow } from '../runs.ts';
import { allowListMatch, type AllowList } from '../../net/allowlist.ts';
import type { HuntOutput } from './seed-hunts.ts';
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
}

export interface TimingOptions {
  params: TimingParams;
  top: number;
  /** Also list allow-listed pairs (they rank last either way). */
  includeAllowed?: boolean;
}

export const TIMING_COLUMNS = [
  'rank', 'kind', 'src', 'dest', 'dest_ip', 'records', 'score', 'ts_score', 'ds_score', 'dur_score', 'hist_score',
  'jitter_score', 'interval_s', 'median_size', 'prevalence', 'first_seen', 'allowed', 'rank_score', 'reasons',
] as const;

const IPCLASS = 'hb_ipclass';
const CONN = 'hb_conn';
const RECORDS = 'hb_beacon_records';

async function classifyAddresses(ws: Workspace, internal: string[]): Promise<void> {
  const classifier = new AddressClassifier(internal);
  const ips = await ws.query(`SELECT DISTINCT ip FROM (
      SELECT src_ip AS ip FROM flows UNION ALL SELECT dest_ip FROM flows UNION ALL
      SELECT src_ip FROM http UNION ALL SELECT dest_ip FROM http) WHERE ip IS NOT NULL`);
  await ws.run(`CREATE OR REPLACE TEMP TABLE ${IPCLASS} (ip VARCHAR PRIMARY KEY, internal BOOLEAN, special BOOLEAN)`);
  await ws.append(IPCLASS, ips.map((r) => {
    const c = classifier.classify(String(r.ip));
    // An address we cannot parse can be neither end of a beacon we can reason about.
    return [String(r.ip), c.internal ? 'true' : 'false', c.special || !c.valid ? 'true' : 'false'];
  }));
}

/** Builds every record the spec counts, tagged with its pair, into one temporary table. */
async function buildRecords(ws: Workspace): Promise<void> {
  await ws.run(`CREATE OR REPLACE TEMP TABLE ${CONN} AS
    SELECT f.uid, f.src_ip, f.dest_ip, CAST(floor(epoch(f.ts)) AS BIGINT) AS t, coalesce(f.ip_bytes_out, f.bytes_out, 0) AS size,
           (s.special OR d.special OR NOT (s.internal AND NOT d.internal)) AS filtered
      FROM flows f JOIN ${IPCLASS} s ON s.ip = f.src_ip JOIN ${IPCLASS} d ON d.ip = f.dest_ip
     WHERE f.ts IS NOT NULL`);
  await ws.run(`CREATE OR REPLACE TEMP TABLE ${RECORDS} AS
    WITH last_http AS (      -- one record per uid: the request with the latest http ts
      SELECT uid, arg_max(dest, ts) AS host, arg_max(method, ts) AS method FROM http WHERE uid IS NOT NULL GROUP BY uid
    ), http_rec AS (
      SELECT 'host' AS kind, c.src_ip AS src, h.host AS dest, c.dest_ip, c.t, c.size, c.uid, h.method = 'CONNECT' AS connect
        FROM last_http h JOIN ${CONN} c USING (uid)
       WHERE coalesce(h.host, '') <> '' AND (h.method = 'CONNECT' OR NOT c.filtered)
    ), tls_rec AS (
      SELECT 'host' AS kind, c.src_ip, t.server_name, c.dest_ip, c.t, c.size, c.uid, false
        FROM tls t JOIN ${CONN} c USING (uid)
       WHERE coalesce(t.server_name, '') <> '' AND NOT c.filtered
    ), proxy_rec AS (        -- proxy logs without conn records: the proxy's own view of each request
      SELECT 'host' AS kind, h.src_ip, h.dest, h.dest_ip, CAST(floor(epoch(h.ts)) AS BIGINT), coalesce(h.bytes_out, 0), NULL::VARCHAR, false
        FROM http h JOIN ${IPCLASS} s ON s.ip = h.src_ip LEFT JOIN ${IPCLASS} d ON d.ip = h.dest_ip
       WHERE h.uid IS NULL AND h.ts IS NOT NULL AND coalesce(h.dest, '') <> '' AND s.internal AND NOT s.special AND NOT coalesce(d.special, false)
    ), hosts AS (
      SELECT * FROM http_rec UNION ALL SELECT * FROM tls_rec UNION ALL SELECT * FROM proxy_rec
    ), host_pairs AS (       -- an IP pair with any uid in a host pair is scored as that host pair
      SELECT DISTINCT c.src_ip, c.dest_ip FROM ${CONN} c SEMI JOIN (SELECT uid FROM hosts WHERE uid IS NOT NULL) USING (uid)
    ), ip_rec AS (
      SELECT 'ip' AS kind, c.src_ip, c.dest_ip AS dest, c.dest_ip, c.t, c.size, c.uid, false
        FROM ${CONN} c ANTI JOIN host_pairs USING (src_ip, dest_ip) WHERE NOT c.filtered
    )
    SELECT * FROM hosts UNION ALL SELECT * FROM ip_rec`);
}

async function window(ws: Workspace): Promise<Window | undefined> {
  const [row] = await ws.query(`SELECT min(t) AS lo, max(t) AS hi FROM (
      SELECT t FROM ${CONN} WHERE NOT filtered UNION ALL SELECT t FROM ${RECORDS} WHERE connect)`);
  let lo = row?.lo;
  let hi = row?.hi;
  if (lo === null || lo === undefined) {
    // Proxy logs alone: the window spans their records.
    const [proxy] = await ws.query(`SELECT min(t) AS lo, max(t) AS hi FROM ${RECORDS}`);
    lo = proxy?.lo;
    hi = proxy?.hi;
  }
  if (lo === null || lo === undefined || hi === null || hi === undefined) return undefined;
  return analysisWindow(Number(lo), Number(hi));
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
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace('T', ' ').replace('.000Z', '');

export async function timingHunt(ws: Workspace, options: TimingOptions): Promise<HuntOutput> {
  const params = options.params;
  const flows = Number(await ws.scalar('SELECT count(*) FROM flows'));
  const http = Number(await ws.scalar('SELECT count(*) FROM http'));
  if (flows + http === 0) throw new UsageError('no flows or http rows in the workspace: ingest Zeek conn/http/ssl logs or proxy logs first');
  const run = await startRun(ws, 'beacons.timing', params);
  await classifyAddresses(ws, params.internal);
  await buildRecords(ws);
  const w = await window(ws);
  if (!w) throw new UsageError('no records left after filtering: are the internal networks right? (--internal CIDR,...)');
  const start = seriesStart(w);
  const values: DuckDBValue[] = [start, params.strobeRecords];
  const pairs = (await ws.query(`
    WITH series AS (
      SELECT kind, src, dest, mode(dest_ip) AS dest_ip, count(*) AS records, count(DISTINCT t) AS distinct_ts,
             CASE WHEN count(*) < $2 THEN list(t ORDER BY t) END AS times, CASE WHEN count(*) < $2 THEN list(size ORDER BY t) END AS sizes
        FROM ${RECORDS} WHERE t >= $1 GROUP BY kind, src, dest HAVING count(DISTINCT t) >= 4
    ), reach AS (            -- prevalence: how many internal sources reach the destination in the window
      SELECT dest, count(DISTINCT src) AS prevalence_sources FROM ${RECORDS} WHERE t >= $1 GROUP BY dest
    ), seen AS (             -- first seen across everything the workspace holds
      SELECT dest, min(t) AS first_seen FROM ${RECORDS} GROUP BY dest
    )
    SELECT series.*, prevalence_sources, first_seen FROM series JOIN reach USING (dest) JOIN seen USING (dest)`, values)) as unknown as PairSeries[];
  const sources = Number(await ws.scalar(`SELECT count(DISTINCT src) FROM ${RECORDS} WHERE t >= $1`, [start]));
  const names = await namesByAddress(ws);
  const classifier = new AddressClassifier(params.internal);

  const scored = pairs.map((pair) => {
    const strobe = pair.records >= params.strobeRecords || !pair.times;
    const timing: TimingScore | undefined = strobe ? undefined : timingScore(pair.times!, pair.sizes!, w);
    const jitter = strobe ? { score: 0, interval: 0 } : jitterScore(pair.times!, params.tolerance);
    const prevalence = sources > 0 ? pair.prevalence_sources / sources : 0;
    const allowed = allowListMatch(params.allow, pair.kind === 'host' ? pair.dest : null, pair.dest_ip, pair.dest_ip ? names.get(pair.dest_ip) ?? [] : [], classifier);
    const applyPrevalence = sources >= params.minHostsForPrevalence;
    // The jitter score ranks a pair only as far as its gaps can vouch for it: full weight from 24
    // gaps (a day of hourly check-ins) up, less for a handful of gaps that line up by chance.
    const gapCount = timing?.gaps ?? 0;
    const base = Math.max(timing?.score ?? 0, jitter.score * Math.min(1, gapCount / 24));
    const rankScore = allowed ? 0 : R(base * (applyPrevalence ? 1 - prevalence : 1));
    return { pair, strobe, timing, jitter, prevalence, allowed, applyPrevalence, rankScore };
  });
  scored.sort((a, b) => b.rankScore - a.rankScore || (b.timing?.score ?? 0) - (a.timing?.score ?? 0) || b.pair.records - a.pair.records
    || a.pair.src.localeCompare(b.pair.src) || a.pair.dest.localeCompare(b.pair.dest));

  const results: ResultRow[] = [];
  const rows: Row[] = [];
  scored.forEach((s, index) => {
    const { pair, timing, jitter } = s;
    const reasons = explain(s, sources, w);
    const features = {
      kind: pair.kind, records: pair.records, score: timing?.score ?? null, ts_score: timing?.ts.score ?? null, ds_score: timing?.ds.score ?? null,
      dur_score: timing?.dur.score ?? null, hist_score: timing?.hist.score ?? null, jitter_score: jitter.score, prevalence: R(s.prevalence), strobe: s.strobe,
    };
    const evidence = timing ? {
      hourly: timing.hist.bins, intervals: topCounts(gapsOf(pair.times!)), sizes: topCounts(pair.sizes!),
      median_interval_s: timing.ts.median, interval_mad_s: timing.ts.mad, median_size: timing.ds.median, size_mad: timing.ds.mad,
    } : { strobe: true, records: pair.records };
    results.push({ rank: index + 1, entityType: `${pair.kind}-pair`, entity: `${pair.src}→${pair.dest}`, score: s.rankScore, features, reasons, evidence });
    if (s.allowed && !options.includeAllowed) return;
    rows.push({
      rank: index + 1, kind: s.strobe ? `${pair.kind} (strobe)` : pair.kind, src: pair.src, dest: pair.dest, dest_ip: pair.dest_ip, records: pair.records,
      score: timing?.score ?? null, ts_score: timing?.ts.score ?? null, ds_score: timing?.ds.score ?? null, dur_score: timing?.dur.score ?? null,
      hist_score: timing?.hist.score ?? null, jitter_score: jitter.score, interval_s: jitter.interval || (timing?.ts.median ?? null),
      median_size: timing?.ds.median ?? null, prevalence: R(s.prevalence), first_seen: iso(pair.first_seen), allowed: s.allowed ?? null,
      rank_score: s.rankScore, reasons: reasons.join('; '),
    });
  });
  await finishRun(ws, run, 'beacons.timing', results);
  const allowedCount = scored.filter((s) => s.allowed).length;
  return {
    columns: [...TIMING_COLUMNS], rows: rows.slice(0, options.top), runId: run.runId,
    notes: [`window ${iso(w.w0)} – ${iso(w.w1)} UTC; ${scored.length} pairs with ≥ 4 timestamps (${scored.filter((s) => s.strobe).length} strobes), ${sources} internal sources; ${allowedCount} allow-listed${allowedCount && !options.includeAllowed ? ' (hidden; --include-allowed shows them)' : ''}; run ${run.runId}`],
  };
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

/** Host names seen for each destination address (HTTP Host, TLS SNI): lets an IP pair be allow-listed by name. */
async function namesByAddress(ws: Workspace): Promise<Map<string, string[]>> {
  const rows = await ws.query(`SELECT dest_ip, list(DISTINCT name) AS names FROM (
      SELECT dest_ip, dest AS name FROM http WHERE dest_ip IS NOT NULL AND coalesce(dest, '') <> ''
      UNION ALL SELECT dest_ip, server_name FROM tls WHERE dest_ip IS NOT NULL AND coalesce(server_name, '') <> '') GROUP BY dest_ip`);
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

function explain(s: Explained, sources: number, w: Window): string[] {
  const reasons: string[] = [];
  const { timing, jitter, pair } = s;
  if (s.allowed) reasons.push(`allow-listed (${s.allowed})`);
  if (s.strobe) reasons.push(`strobe: ${pair.records} records in the window (≥ 86,400), reported apart`);
  if (timing) {
    reasons.push(`intervals ${timing.ts.score}: median ${timing.ts.median} s, MAD ${timing.ts.mad} s, skew ${timing.ts.skew.toFixed(2)}`);
    reasons.push(`sizes ${timing.ds.score}: median ${timing.ds.median} B, MAD ${timing.ds.mad} B`);
    reasons.push(`${timing.hist.bars}/24 hours active (hist ${timing.hist.score}, duration ${timing.dur.score})`);
  }
  if (jitter.score >= 0.5) reasons.push(`${Math.round(jitter.score * 100)} % of gaps within ±35 % of ${jitter.interval} s`);
  if (s.applyPrevalence) reasons.push(`${pair.prevalence_sources} of ${sources} internal hosts reach it (prevalence ${(s.prevalence * 100).toFixed(1)} %)`);
  else reasons.push(`prevalence not applied: only ${sources} internal host${sources === 1 ? '' : 's'}`);
  if (pair.first_seen >= w.w0) reasons.push('first seen in this window');
  return reasons;
}
