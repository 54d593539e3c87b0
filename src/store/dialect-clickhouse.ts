/**
 * ClickHouse, where a stage runs when the logs live on a cluster. Every value is written into the
 * statement as a literal by one audited function (clickhouseLiteral): the ClickHouse servers still
 * on premises (18.16, Debian's) take no server-side query parameters, and one quoting path for
 * every server is easier to trust than two. The SQL keeps to what 18.16 already had: plain
 * functions and -If combinators, no window functions, no CTEs.
 */
import { DuckDBListValue } from '@duckdb/node-api';
import type { Dialect, FilteredAggregate } from './dialect.ts';
import type { SqlValue } from './sql.ts';
import { join, raw, type Sql, sql } from './sql-template.ts';

/** A value this engine cannot take as a literal: the statement is refused, never written. */
export class LiteralError extends Error {}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A string literal: backslash and quote escaped, every control character (NUL included) as \xHH;
 * other characters as they are (UTF-8). Nothing inside can end the literal or start a parameter
 * ({x:String} is text inside quotes).
 */
function stringLiteral(text: string): string {
  let out = "'";
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '\\') out += '\\\\';
    else if (ch === "'") out += "\\'";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}'`;
}

/** The one way a value reaches ClickHouse SQL: strings, numbers, booleans, NULL, and lists of them. */
export function clickhouseLiteral(value: SqlValue): string {
  if (value === null) return 'NULL';
  if (typeof value === 'string') return stringLiteral(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'boolean') return value ? '1' : '0'; // 18.16 has no true/false
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new LiteralError(`${value} is not a number ClickHouse can be given`);
    return Object.is(value, -0) ? '0' : String(value);
  }
  if (value instanceof DuckDBListValue) return `[${value.items.map((v) => clickhouseLiteral(v)).join(', ')}]`;
  throw new LiteralError(`a ${value.constructor.name} cannot be written as a ClickHouse literal`);
}

/** An identifier: a plain name only (the callers' whitelists give nothing else), in backquotes. */
export function clickhouseIdent(name: string): string {
  if (!IDENTIFIER.test(name)) throw new LiteralError(`"${name}" is not a plain identifier`);
  return `\`${name}\``;
}

const lit = (value: SqlValue) => raw(clickhouseLiteral(value));

/** A zone after a time of day ('09:00:00Z', '09:00+02:00'); a date's own '-04' is not one. */
const TIME_ZONE_SUFFIX = '(\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?)(Z|[+-]\\d{2}(:?\\d{2})?)$';

/** The expression language's types in ClickHouse's words. */
const CAST_TYPES: Record<string, string> = {
  VARCHAR: 'String',
  BIGINT: 'Int64',
  INTEGER: 'Int32',
  DOUBLE: 'Float64',
  BOOLEAN: 'UInt8',
  TIMESTAMP: 'DateTime',
  JSON: 'String',
};

/** The expression language's functions in ClickHouse's words (DuckDB's semantics kept). */
const FUNCTIONS: Record<string, (args: Sql[]) => Sql> = {
  lower: ([a]) => sql`lower(${a})`,
  upper: ([a]) => sql`upper(${a})`,
  length: ([a]) => sql`lengthUTF8(${a})`,
  strlen: ([a]) => sql`length(${a})`,
  contains: ([a, b]) => sql`(position(${a}, ${b}) > 0)`,
  starts_with: ([a, b]) => sql`startsWith(${a}, ${b})`,
  ends_with: ([a, b]) => sql`endsWith(${a}, ${b})`,
  regexp_matches: ([a, b]) => sql`match(${a}, ${b})`,
  regexp_full_match: ([a, b]) => sql`match(${a}, concat('^(?:', ${b}, ')$'))`,
  coalesce: (args) => sql`coalesce(${join(args)})`,
  nullif: ([a, b]) => sql`nullIf(${a}, ${b})`,
  abs: ([a]) => sql`abs(${a})`,
  hour: ([a]) => sql`toHour(${a})`,
  // DuckDB counts from Sunday = 0; ClickHouse from Monday = 1.
  dayofweek: ([a]) => sql`(toDayOfWeek(${a}) % 7)`,
  // DuckDB's trim drops spaces only; trimBoth came after 18.16.
  trim: ([a]) => sql`replaceRegexpAll(${a}, ${'^ +| +$'}, '')`,
  left: ([a, n]) => sql`substringUTF8(${a}, 1, ${n})`,
  split_part: ([a, sep, n]) => sql`splitByString(${sep}, ${a})[${n}]`,
  // DuckDB's regexp_replace without options replaces the first match, as replaceRegexpOne does.
  regexp_replace: ([a, pattern, replacement]) => sql`replaceRegexpOne(${a}, ${pattern}, ${replacement})`,
  list_contains: ([l, v]) => sql`has(${l}, ${v})`,
  len: ([l]) => sql`length(${l})`,
};

/** The filtered aggregates in ClickHouse's words (the -If combinator). */
const CLICKHOUSE_AGGREGATES: Record<FilteredAggregate, string> = {
  count_distinct: 'uniqExactIf',
  sum: 'sumIf',
  max: 'maxIf',
  min: 'minIf',
};

/**
 * ClickHouse with the log tables in `database`. Rows of the `hidden` files (loads not finished,
 * copies --force replaced: ingest --logs) are left out of every table a stage reads.
 */
export function clickhouseFor(database: string, hidden: readonly number[] = []): Dialect {
  const db = clickhouseIdent(database);
  const table = (name: string) => `${db}.${clickhouseIdent(name)}`;
  if (hidden.length === 0) return { ...clickhouse, table: (name) => raw(table(name)) };
  const ids = hidden.map((id) => clickhouseLiteral(id)).join(', ');
  return { ...clickhouse, table: (name) => raw(`(SELECT * FROM ${table(name)} WHERE \`file_id\` NOT IN (${ids}))`) };
}

export const clickhouse: Dialect = {
  name: 'clickhouse',
  value: (value) => clickhouseLiteral(value),
  ident: clickhouseIdent,
  table: (name) => raw(clickhouseIdent(name)),
  // The workspace reads '2024-03-04T09:00:00+02:00' as 09:00 (DuckDB's TIMESTAMP cast drops the
  // zone): the zone is dropped here too, so both engines cut a window at the same second.
  timestamp: (text) => sql`parseDateTimeBestEffort(replaceRegexpOne(${text}, ${TIME_ZONE_SUFFIX}, ${'\\1'}), 'UTC')`,
  bool: (value) => raw(value ? '1' : '0'),
  cast: (value, type, tryCast) => {
    const target = CAST_TYPES[type];
    if (!target) throw new LiteralError(`CAST to ${type} has no ClickHouse rendering`);
    return tryCast ? sql`${raw(`to${target}OrNull`)}(toString(${value}))` : sql`CAST(${value} AS ${raw(target)})`;
  },
  like: (value, pattern, o) => {
    // DuckDB's LIKE has no escape character unless ESCAPE names one; ClickHouse's is always the
    // backslash: the pattern is rewritten so both read it alike.
    // A literal character: a backslash doubled, a wildcard escaped, anything else as it is.
    const literal = (ch: string) => (ch === '\\' || ch === '%' || ch === '_' ? `\\${ch}` : ch);
    let converted = '';
    for (let i = 0; i < pattern.length; i++) {
      const ch = pattern[i];
      if (o.escape !== undefined && ch === o.escape && i + 1 < pattern.length) converted += literal(pattern[++i]);
      else converted += ch === '\\' ? '\\\\' : ch;
    }
    const test = o.caseInsensitive ? sql`like(lowerUTF8(${value}), lowerUTF8(${lit(converted)}))` : sql`like(${value}, ${lit(converted)})`;
    return o.negated ? sql`(NOT ${test})` : test;
  },
  epochSeconds: (ts) => sql`toInt64(toUnixTimestamp(${ts}))`,
  countIf: (condition) => sql`countIf(${condition})`,
  aggregateIf: (fn, value, condition) => sql`${raw(CLICKHOUSE_AGGREGATES[fn])}(${value}, ${condition})`,
  day: (ts) => sql`toDate(${ts})`,
  argMax: (value, by) => sql`argMax(${value}, ${by})`,
  argMin: (value, by) => sql`argMin(${value}, ${by})`,
  listAgg: (value, orderBy) =>
    orderBy
      ? sql`arrayMap(x -> tupleElement(x, 2), arraySort(x -> tupleElement(x, 1), groupArray(tuple(${orderBy}, ${value}))))`
      : sql`groupArray(${value})`,
  listContains: (list, value) => sql`has(${list}, ${value})`,
  regexMatch: (value, pattern) => sql`match(${value}, ${pattern})`,
  // toStartOfInterval came after 18.16: whole seconds, floored to the bucket.
  timeBucket: (seconds, ts) => sql`toDateTime(intDiv(toUInt32(${ts}), ${lit(seconds)}) * ${lit(seconds)}, 'UTC')`,
  // DuckDB's json_extract_string gives a number or boolean as its text, JSON null as NULL: the
  // raw text where the value is no string, read as a string where it is. The raw text is empty
  // only when the key is absent (an empty string is '""'), so one pass finds both; the server
  // computes the repeated call once.
  jsonField: (json, key) => {
    const [j, k] = [json, lit(key)];
    const rawText = sql`visitParamExtractRaw(${j}, ${k})`;
    return sql`if(${rawText} = '', NULL, if(startsWith(${rawText}, '"'), visitParamExtractString(${j}, ${k}), nullIf(${rawText}, 'null')))`;
  },
  call: (fn, args) => {
    const render = FUNCTIONS[fn];
    if (!render) throw new LiteralError(`${fn}() has no ClickHouse rendering`);
    return render(args);
  },
  classifyAddresses: () => {
    throw new LiteralError('address classes have no ClickHouse rendering yet');
  },
};
