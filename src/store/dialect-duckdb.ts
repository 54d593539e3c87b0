/** The workspace's own dialect: DuckDB, with values bound as `$n` parameters. */
import { parseCidr, SPECIAL_NETWORKS } from '../net/network.ts';
import type { Dialect } from './dialect.ts';
import { quoteIdent } from './schema.ts';
import { ident, join, raw, sql, type Sql } from './sql-template.ts';

/** An address's sort key: '4:' + 8 hex digits or '6:' + 32; a network is a range of keys. */
function keyRange(cidr: string): [string, string] {
  const c = parseCidr(cidr);
  const width = c.v6 ? 128 : 32;
  const last = c.bits | ((1n << BigInt(width - c.prefix)) - 1n);
  const key = (bits: bigint) => `${c.v6 ? 6 : 4}:${bits.toString(16).padStart(width / 4, '0')}`;
  return [key(c.bits), key(last)];
}

function inAny(key: Sql, cidrs: readonly string[]): Sql {
  if (cidrs.length === 0) return raw('false');
  return sql`coalesce(${join(
    cidrs.map((c) => {
      const [lo, hi] = keyRange(c);
      return sql`${key} BETWEEN ${lo} AND ${hi}`;
    }),
    ' OR ',
  )}, false)`;
}

/**
 * Address text to its key, as net/network.ts's parseIp reads it: dotted quads of 1–3 digits up to
 * 255; IPv6 with one '::' at most, a zone (%eth0) ignored, an IPv4 tail (::ffff:1.2.3.4) allowed.
 * Anything else has no key. Tested against parseIp on the same strings (test/dialect.test.ts).
 */
const ADDRESS_KEYS = `
  p AS (SELECT ip, lower(regexp_replace(ip, '%.*$', '')) AS t FROM a),
  q AS (
    SELECT ip,
      CASE WHEN regexp_full_match(ip, '[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}')
           THEN list_transform(string_split(ip, '.'), o -> TRY_CAST(o AS BIGINT)) END AS v4,
      CASE WHEN NOT contains(ip, ':') THEN NULL
           WHEN NOT contains(t, '.') THEN t
           WHEN regexp_full_match(regexp_extract(t, ':([^:]*)$', 1), '[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}')
            AND list_max(list_transform(string_split(regexp_extract(t, ':([^:]*)$', 1), '.'), o -> TRY_CAST(o AS BIGINT))) <= 255
           THEN regexp_extract(t, '^(.*:)[^:]*$', 1) || (SELECT printf('%x:%x', o[1] * 256 + o[2], o[3] * 256 + o[4])
                  FROM (SELECT list_transform(string_split(regexp_extract(t, ':([^:]*)$', 1), '.'), x -> TRY_CAST(x AS BIGINT)) AS o))
      END AS s
    FROM p
  ),
  h AS (SELECT ip, v4, s, string_split(s, '::') AS halves FROM q),
  g AS (
    SELECT ip, v4, halves,
      CASE WHEN halves[1] = '' THEN []::VARCHAR[] ELSE string_split(halves[1], ':') END AS head,
      CASE WHEN len(halves) = 2 AND halves[2] <> '' THEN string_split(halves[2], ':') ELSE []::VARCHAR[] END AS tail
    FROM h
  ),
  k AS (
    SELECT ip,
      CASE WHEN v4 IS NOT NULL AND list_max(v4) <= 255
             THEN '4:' || lpad(lower(hex(v4[1] * 16777216 + v4[2] * 65536 + v4[3] * 256 + v4[4])), 8, '0')
           WHEN halves IS NOT NULL AND len(halves) <= 2 AND 8 - len(head) - len(tail) >= 0 AND NOT (len(halves) = 1 AND len(head) + len(tail) <> 8)
            AND coalesce(list_bool_and(list_transform(list_concat(head, tail), x -> regexp_full_match(x, '[0-9a-f]{1,4}'))), true)
             THEN '6:' || array_to_string(list_transform(
                    list_concat(list_concat(head, CASE WHEN len(halves) = 2 THEN list_transform(range(8 - len(head) - len(tail)), x -> '0') ELSE []::VARCHAR[] END), tail),
                    x -> lpad(x, 4, '0')), '')
      END AS key
    FROM g
  )`;

export const duckdb: Dialect = {
  name: 'duckdb',
  value: (value, params) => `$${params.push(value)}`,
  ident: quoteIdent,
  table: (name) => sql`${ident(name)}`,
  timestamp: (text) => sql`CAST(${text} AS TIMESTAMP)`,
  epochSeconds: (ts) => sql`CAST(floor(epoch(${ts})) AS BIGINT)`,
  countIf: (condition) => sql`count(*) FILTER (WHERE ${condition})`,
  aggregateIf: (fn, value, condition) =>
    fn === 'count_distinct'
      ? sql`count(DISTINCT ${value}) FILTER (WHERE ${condition})`
      : sql`${raw(fn)}(${value}) FILTER (WHERE ${condition})`,
  day: (ts) => sql`CAST(${ts} AS DATE)`,
  argMax: (value, by) => sql`arg_max(${value}, ${by})`,
  argMin: (value, by) => sql`arg_min(${value}, ${by})`,
  listAgg: (value, orderBy) => (orderBy ? sql`list(${value} ORDER BY ${orderBy})` : sql`list(${value})`),
  listContains: (list, value) => sql`list_contains(${list}, ${value})`,
  regexMatch: (value, pattern) => sql`regexp_matches(${value}, ${pattern})`,
  timeBucket: (seconds, ts) => sql`time_bucket(to_seconds(${seconds}::BIGINT), ${ts})`,
  bool: (value) => raw(value ? 'TRUE' : 'FALSE'),
  cast: (value, type, tryCast) => sql`${raw(tryCast ? 'TRY_CAST' : 'CAST')}(${value} AS ${raw(type)})`,
  like: (value, pattern, o) =>
    sql`(${value} ${raw(o.negated ? 'NOT ' : '')}${raw(o.caseInsensitive ? 'ILIKE' : 'LIKE')} ${pattern}${o.escape === undefined ? raw('') : sql` ESCAPE ${o.escape}`})`,
  // The expression language's functions are DuckDB's own names.
  call: (fn, args) => sql`${raw(fn)}(${join(args)})`,
  jsonField: (json, key) => sql`json_extract_string(${json}, ${`$.${JSON.stringify(key)}`})`,
  classifyAddresses: (addresses, internal) => {
    const key = raw('key');
    return sql`WITH a AS (SELECT DISTINCT ip FROM (${addresses}) WHERE ip IS NOT NULL),${raw(ADDRESS_KEYS)}
  SELECT ip, ${inAny(key, internal)} AS internal, ${inAny(key, SPECIAL_NETWORKS)} AS special, key IS NOT NULL AS valid FROM k`;
  },
};
