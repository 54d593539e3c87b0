/**
 * The timing beacon stage on ClickHouse, beside its DuckDB form in timing.ts: the same records,
 * built where the logs are and sent back grouped. Each statement groups by the record's pair (the
 * source address first, the sharding key, so on a cluster every shard groups its own sources)
 * and returns one row per pair with its times and sizes as arrays; the workspace unrolls them into
 * the records table the finisher reads, and applies the address classes there (the configured
 * internal networks are worked out by the workspace's own classifier, not a second one).
 *
 * What the DuckDB stage does with joins and anti-joins, this does in SQL 18.16 runs: one JOIN per
 * SELECT, `uid NOT IN (…)` for "no conn record". On a cluster these subqueries read the shard's
 * own table (the client sets distributed_product_mode = 'local'): a uid's conn, http and ssl rows
 * share their source address, so they sit on one shard.
 *
 * Each record carries its origin, which decides the address test the workspace applies to it:
 *   0 conn (host records by uid, else the IP pair); 1 http without conn; 2 ssl without conn, with
 *   SNI; 3 ssl without conn or SNI (an IP pair); 4 proxy request (no uid).
 */
import type { Dialect } from '../../store/dialect.ts';
import { duckdb } from '../../store/dialect-duckdb.ts';
import { raw, type Sql, sql } from '../../store/sql-template.ts';
import type { SqlType } from '../../store/schema.ts';
import type { Stage } from '../contract.ts';

/** The tables the timing finisher reads (timing.ts names them). */
export interface TimingTables {
  counts: string;
  ipclass: string;
  conn: string;
  records: string;
  names: string;
  categories: string;
}

/** What a grouped stage sends back: a pair of one origin, and its records' times and sizes. */
const GROUPED: readonly (readonly [string, SqlType])[] = [
  ['origin', 'INTEGER'],
  ['kind', 'VARCHAR'],
  ['src', 'VARCHAR'],
  ['target', 'VARCHAR'],
  ['target_ip', 'VARCHAR'],
  ['connect', 'INTEGER'],
  // 1 on the first record of a conn row (a uid with HTTP and SNI makes two records of one connection)
  ['lead', 'INTEGER'],
  // 1 when the records have no size (ssl without conn; http without conn whose requests say none)
  ['no_size', 'INTEGER'],
  ['times', 'BIGINT[]'],
  ['sizes', 'BIGINT[]'],
];

const GROUPS = ['hb_timing_g_conn', 'hb_timing_g_more', 'hb_timing_g_http', 'hb_timing_g_proxy', 'hb_timing_g_tls'] as const;
const GROUP_KEY = raw('origin, kind, src, target, target_ip, connect, lead, no_size');

export function timingStagesClickHouse(internal: readonly string[], d: Dialect, tables: TimingTables): Stage[] {
  const [flows, http, tls] = [d.table('flows'), d.table('http'), d.table('tls')];
  const epoch = (ts: Sql) => d.epochSeconds(ts);
  const ts = raw('ts');
  // The conn rows the DuckDB stage keeps (a time, both addresses): their uids are "has a conn record".
  const connUids = sql`SELECT uid FROM ${flows} WHERE uid IS NOT NULL AND ts IS NOT NULL AND src_ip IS NOT NULL AND dest_ip IS NOT NULL`;
  // Per uid, the host names it carries: the HTTP Host of its latest request, and its SNIs.
  const hosts = (having: Sql) => sql`SELECT uid, groupArray(name) AS names, groupArray(is_connect) AS connects FROM (
      SELECT uid, assumeNotNull(argMax(dest, ts)) AS name, toUInt8(argMax(method, ts) = 'CONNECT') AS is_connect
        FROM ${http} WHERE uid IS NOT NULL GROUP BY uid HAVING name != ''
      UNION ALL
      SELECT uid, assumeNotNull(server_name) AS name, toUInt8(0) AS is_connect FROM ${tls} WHERE uid IS NOT NULL AND server_name != ''
    ) GROUP BY uid${having}`;
  const connKept = raw('ts IS NOT NULL AND src_ip IS NOT NULL AND dest_ip IS NOT NULL');
  const size = raw('coalesce(ip_bytes_out, bytes_out, 0)');
  const stages: Stage[] = [
    {
      table: tables.counts,
      sql: sql`SELECT (SELECT count() FROM ${flows}) AS flows, (SELECT count() FROM ${http}) AS http, (SELECT count() FROM ${tls}) AS tls`,
      columns: [
        ['flows', 'BIGINT'],
        ['http', 'BIGINT'],
        ['tls', 'BIGINT'],
      ],
    },
    {
      // Every conn row as its first record: its first host name, or its IP pair when it has none.
      table: GROUPS[0],
      sql: sql`SELECT toInt32(0) AS origin, if(empty(names), 'ip', 'host') AS kind, assumeNotNull(src_ip) AS src,
          if(empty(names), assumeNotNull(dest_ip), names[1]) AS target, dest_ip AS target_ip, if(empty(names), toUInt8(0), connects[1]) AS connect,
          toUInt8(1) AS lead, toUInt8(0) AS no_size, groupArray(${epoch(ts)}) AS times, groupArray(${size}) AS sizes
        FROM ${flows} ALL LEFT JOIN (${hosts(raw(''))}) AS hosts USING uid
        WHERE ${connKept}
        GROUP BY ${GROUP_KEY}`,
      columns: GROUPED,
    },
    {
      // The rare conn row with more than one host name (HTTP Host and SNI): its further records.
      table: GROUPS[1],
      sql: sql`SELECT toInt32(0) AS origin, 'host' AS kind, src, target, target_ip, connect, toUInt8(0) AS lead, toUInt8(0) AS no_size,
          groupArray(t) AS times, groupArray(size) AS sizes
        FROM (
          SELECT assumeNotNull(src_ip) AS src, dest_ip AS target_ip, ${epoch(ts)} AS t, ${size} AS size,
                 arrayJoin(arraySlice(arrayEnumerate(names), 2)) AS i, names[i] AS target, connects[i] AS connect
            FROM ${flows} ALL INNER JOIN (${hosts(raw(' HAVING length(names) > 1'))}) AS hosts USING uid
           WHERE ${connKept}
        )
        GROUP BY ${GROUP_KEY}`,
      columns: GROUPED,
    },
    {
      // http.log without its conn.log: one record per uid, on its first request's time.
      table: GROUPS[2],
      sql: sql`SELECT toInt32(1) AS origin, 'host' AS kind, assumeNotNull(first_src) AS src, assumeNotNull(host) AS target, first_dest AS target_ip,
          is_connect AS connect, toUInt8(1) AS lead, toUInt8(isNull(bytes)) AS no_size,
          groupArray(t) AS times, groupArrayIf(assumeNotNull(bytes), isNotNull(bytes)) AS sizes
        FROM (
          SELECT uid, argMax(dest, ts) AS host, toUInt8(argMax(method, ts) = 'CONNECT') AS is_connect, argMin(src_ip, ts) AS first_src,
                 argMin(dest_ip, ts) AS first_dest, ${epoch(sql`min(ts)`)} AS t, sum(bytes_out) AS bytes
            FROM ${http} WHERE uid IS NOT NULL AND uid NOT IN (${connUids}) GROUP BY uid
        )
        WHERE host != '' AND t IS NOT NULL AND first_src IS NOT NULL
        GROUP BY ${GROUP_KEY}`,
      columns: GROUPED,
    },
    {
      // Proxy requests (no uid): one record per request.
      table: GROUPS[3],
      sql: sql`SELECT toInt32(4) AS origin, 'host' AS kind, assumeNotNull(src_ip) AS src, assumeNotNull(dest) AS target, dest_ip AS target_ip,
          toUInt8(0) AS connect, toUInt8(1) AS lead, toUInt8(0) AS no_size, groupArray(${epoch(ts)}) AS times, groupArray(coalesce(bytes_out, 0)) AS sizes
        FROM ${http} WHERE uid IS NULL AND ts IS NOT NULL AND src_ip IS NOT NULL AND dest != ''
        GROUP BY ${GROUP_KEY}`,
      columns: GROUPED,
    },
    {
      // ssl.log without its conn.log: a host pair by SNI, else an IP pair; no sizes.
      table: GROUPS[4],
      sql: sql`SELECT if(ifNull(server_name, '') != '', toInt32(2), toInt32(3)) AS origin, if(origin = 2, 'host', 'ip') AS kind, assumeNotNull(src_ip) AS src,
          if(origin = 2, server_name, dest_ip) AS target, dest_ip AS target_ip, toUInt8(0) AS connect, toUInt8(1) AS lead, toUInt8(1) AS no_size,
          groupArray(${epoch(ts)}) AS times, emptyArrayInt64() AS sizes
        FROM ${tls} WHERE uid IS NOT NULL AND ts IS NOT NULL AND src_ip IS NOT NULL AND uid NOT IN (${connUids})
        GROUP BY ${GROUP_KEY}`,
      columns: GROUPED,
    },
    {
      table: tables.names,
      sql: sql`SELECT assumeNotNull(dest_ip) AS dest_ip, groupUniqArray(name) AS names FROM (
          SELECT dest_ip, assumeNotNull(dest) AS name FROM ${http} WHERE dest_ip IS NOT NULL AND dest != ''
          UNION ALL SELECT dest_ip, assumeNotNull(server_name) AS name FROM ${tls} WHERE dest_ip IS NOT NULL AND server_name != '')
        GROUP BY dest_ip`,
      columns: [
        ['dest_ip', 'VARCHAR'],
        ['names', 'VARCHAR[]'],
      ],
    },
    {
      // The most frequent category, the first by name on a tie (as timing.ts's DuckDB stage).
      table: tables.categories,
      sql: sql`SELECT lower_dest AS dest, argMin(category, tuple(-n, category)) AS category FROM (
          SELECT lower(assumeNotNull(dest)) AS lower_dest, assumeNotNull(category) AS category, count() AS n FROM ${http}
           WHERE dest IS NOT NULL AND category IS NOT NULL
             AND lower(replaceRegexpAll(assumeNotNull(category), '^ +| +$', '')) NOT IN ('', '-', 'uncategorized', 'unknown', 'none', 'unrated', 'not rated')
           GROUP BY lower_dest, category)
        GROUP BY lower_dest`,
      columns: [
        ['dest', 'VARCHAR'],
        ['category', 'VARCHAR'],
      ],
    },
  ];
  return [...stages, ...unrolled(internal, tables)];
}

/**
 * In the workspace: the address classes of what came back, then the records and conn rows the
 * finisher reads, each record kept by the address test of its origin (timing.ts recordStages).
 */
function unrolled(internal: readonly string[], tables: TimingTables): Stage[] {
  const [IPCLASS, all] = [raw(tables.ipclass), raw(GROUPS.map((g) => `SELECT * FROM ${g}`).join(' UNION ALL '))];
  const filtered = raw('(s.special OR d.special OR NOT (s.internal AND NOT d.internal))');
  const ownKept = (connect: boolean) =>
    raw(
      `s.internal AND NOT s.special AND (${connect ? 'g.connect = 1 OR ' : ''}(NOT coalesce(d.internal, false) AND NOT coalesce(d.special, false)))`,
    );
  return [
    {
      table: tables.ipclass,
      local: true,
      sql: sql`SELECT ip, internal, special OR NOT valid AS special FROM (${duckdb.classifyAddresses(
        raw(GROUPS.map((g) => `SELECT src AS ip FROM ${g} UNION ALL SELECT target_ip FROM ${g}`).join(' UNION ALL ')),
        internal,
      )})`,
    },
    {
      table: tables.conn,
      local: true,
      sql: sql`SELECT g.src AS src_ip, g.target_ip AS dest_ip, unnest(g.times) AS t, ${filtered} AS filtered
        FROM ${raw(GROUPS[0])} g JOIN ${IPCLASS} s ON s.ip = g.src JOIN ${IPCLASS} d ON d.ip = g.target_ip WHERE g.lead = 1`,
    },
    {
      table: tables.records,
      local: true,
      sql: sql`SELECT g.kind, g.src, g.target AS dest, g.target_ip AS dest_ip, unnest(g.times) AS t, unnest(g.sizes) AS size,
          NULL::VARCHAR AS uid, g.connect = 1 AS connect
        FROM (${all}) g JOIN ${IPCLASS} s ON s.ip = g.src LEFT JOIN ${IPCLASS} d ON d.ip = g.target_ip
        WHERE CASE g.origin
          WHEN 0 THEN d.ip IS NOT NULL AND (g.connect = 1 OR NOT ${filtered})
          WHEN 1 THEN ${ownKept(true)}
          WHEN 2 THEN ${ownKept(false)}
          WHEN 3 THEN d.ip IS NOT NULL AND s.internal AND NOT s.special AND NOT d.internal AND NOT d.special
          ELSE s.internal AND NOT s.special AND NOT coalesce(d.special, false) END`,
    },
  ];
}
