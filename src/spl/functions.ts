/**
 * The eval functions of the subset, each as Splunk's documentation describes it, in DuckDB SQL.
 * Arguments arrive compiled (values.ts kinds); a function outside this table is refused by name.
 */
import { join, raw, type Sql, sql } from '../store/sql-template.ts';
import type { SplExpr } from './ast.ts';
import { parseRelative } from './time.ts';
import { as, asBool, asList, asNumber, asText, common, type Kind, type Typed } from './values.ts';

type EvalFunction = { args: [number, number]; fn: (a: Typed[]) => Typed };

const num = (s: Sql): Typed => ({ sql: s, kind: 'num' });
const str = (s: Sql): Typed => ({ sql: s, kind: 'str' });
const mv = (s: Sql): Typed => ({ sql: s, kind: 'mv' });
const bool = (s: Sql): Typed => ({ sql: s, kind: 'bool' });
const many = Number.POSITIVE_INFINITY;

/** A multivalue result: NULL when it has no values (Splunk drops an empty field). */
const mvOrNull = (list: Sql) => mv(sql`(CASE WHEN len(${list}) > 0 THEN ${list} END)`);

/** case() and if(): the first branch whose test holds; the branches' values in one kind. */
function branches(pairs: [Typed, Typed][], otherwise?: Typed): Typed {
  const kind: Kind = common([...pairs.map(([, v]) => v.kind), ...(otherwise ? [otherwise.kind] : [])]);
  const whens = pairs.map(([test, value]) => sql`WHEN ${asBool(test)} THEN ${as(value, kind)}`);
  const last = otherwise ? sql` ELSE ${as(otherwise, kind)}` : raw('');
  return { sql: sql`(CASE ${join(whens, ' ')}${last} END)`, kind: kind === 'null' ? 'str' : kind };
}

export const EVAL_FUNCTIONS: Record<string, EvalFunction> = {
  if: { args: [3, 3], fn: ([t, a, b]) => branches([[t, a]], b) },
  case: {
    args: [2, many],
    fn: (a) => {
      if (a.length % 2 !== 0) throw new Error('case() takes pairs: test, value, test, value, …');
      const pairs: [Typed, Typed][] = [];
      for (let i = 0; i < a.length; i += 2) pairs.push([a[i], a[i + 1]]);
      return branches(pairs);
    },
  },
  coalesce: {
    args: [1, many],
    fn: (a) => {
      const kind = common(a.map((x) => x.kind));
      return { sql: sql`coalesce(${join(a.map((x) => as(x, kind)))})`, kind: kind === 'null' ? 'str' : kind };
    },
  },
  isnull: { args: [1, 1], fn: ([a]) => bool(sql`(${a.kind === 'null' ? raw('NULL') : a.sql} IS NULL)`) },
  isnotnull: { args: [1, 1], fn: ([a]) => bool(sql`(${a.kind === 'null' ? raw('NULL') : a.sql} IS NOT NULL)`) },
  null: { args: [0, 0], fn: () => ({ sql: raw('NULL'), kind: 'null' }) },
  true: { args: [0, 0], fn: () => bool(raw('true')) },
  false: { args: [0, 0], fn: () => bool(raw('false')) },
  isnum: { args: [1, 1], fn: ([a]) => bool(sql`(${asNumber(a)} IS NOT NULL)`) },
  isstr: { args: [1, 1], fn: ([a]) => bool(raw(a.kind === 'str' ? 'true' : 'false')) },
  typeof: {
    args: [1, 1],
    fn: ([a]) => {
      if (a.kind === 'num') return str(sql`(CASE WHEN ${a.sql} IS NULL THEN 'Invalid' ELSE 'Number' END)`);
      if (a.kind === 'bool') return str(raw("'Boolean'"));
      if (a.kind === 'null') return str(raw("'Invalid'"));
      if (a.kind === 'mv') return str(sql`(CASE WHEN ${a.sql} IS NULL THEN 'Invalid' ELSE 'Multivalue' END)`);
      return str(sql`(CASE WHEN ${a.sql} IS NULL THEN 'Invalid' ELSE 'String' END)`);
    },
  },
  // Numbers
  abs: { args: [1, 1], fn: ([a]) => num(sql`abs(${asNumber(a)})`) },
  ceil: { args: [1, 1], fn: ([a]) => num(sql`ceil(${asNumber(a)})`) },
  ceiling: { args: [1, 1], fn: ([a]) => num(sql`ceil(${asNumber(a)})`) },
  floor: { args: [1, 1], fn: ([a]) => num(sql`floor(${asNumber(a)})`) },
  round: {
    args: [1, 2],
    // Half away from zero, as Splunk rounds.
    fn: ([a, d]) => num(d ? sql`round(${asNumber(a)}, CAST(${asNumber(d)} AS INTEGER))` : sql`round(${asNumber(a)})`),
  },
  sqrt: { args: [1, 1], fn: ([a]) => num(sql`(CASE WHEN ${asNumber(a)} >= 0 THEN sqrt(${asNumber(a)}) END)`) },
  pow: { args: [2, 2], fn: ([a, b]) => num(sql`pow(${asNumber(a)}, ${asNumber(b)})`) },
  exp: { args: [1, 1], fn: ([a]) => num(sql`exp(${asNumber(a)})`) },
  ln: { args: [1, 1], fn: ([a]) => num(sql`(CASE WHEN ${asNumber(a)} > 0 THEN ln(${asNumber(a)}) END)`) },
  log: {
    args: [1, 2],
    fn: ([a, b]) => num(sql`(CASE WHEN ${asNumber(a)} > 0 THEN ln(${asNumber(a)}) / ln(${b ? asNumber(b) : raw('10')}) END)`),
  },
  // Text
  len: { args: [1, 1], fn: ([a]) => num(sql`length(${asText(a)})`) },
  lower: { args: [1, 1], fn: ([a]) => str(sql`lower(${asText(a)})`) },
  upper: { args: [1, 1], fn: ([a]) => str(sql`upper(${asText(a)})`) },
  trim: { args: [1, 2], fn: ([a, c]) => str(c ? sql`trim(${asText(a)}, ${asText(c)})` : sql`trim(${asText(a)}, ' 	')`) },
  ltrim: { args: [1, 2], fn: ([a, c]) => str(c ? sql`ltrim(${asText(a)}, ${asText(c)})` : sql`ltrim(${asText(a)}, ' 	')`) },
  rtrim: { args: [1, 2], fn: ([a, c]) => str(c ? sql`rtrim(${asText(a)}, ${asText(c)})` : sql`rtrim(${asText(a)}, ' 	')`) },
  substr: {
    args: [2, 3],
    // 1-based; a negative start counts from the end.
    fn: ([a, s, n]) => {
      const start = sql`(CASE WHEN ${asNumber(s)} < 0 THEN length(${asText(a)}) + CAST(${asNumber(s)} AS BIGINT) + 1 ELSE CAST(${asNumber(s)} AS BIGINT) END)`;
      return str(n ? sql`substr(${asText(a)}, ${start}, CAST(${asNumber(n)} AS BIGINT))` : sql`substr(${asText(a)}, ${start})`);
    },
  },
  replace: {
    args: [3, 3],
    // PCRE replacement: \1 back-references, as DuckDB's RE2 reads them; every match replaced.
    fn: ([a, re, by]) => str(sql`regexp_replace(${asText(a)}, ${asText(re)}, ${asText(by)}, 'g')`),
  },
  urldecode: { args: [1, 1], fn: ([a]) => str(sql`url_decode(replace(${asText(a)}, '+', ' '))`) },
  md5: { args: [1, 1], fn: ([a]) => str(sql`md5(${asText(a)})`) },
  sha256: { args: [1, 1], fn: ([a]) => str(sql`sha256(${asText(a)})`) },
  match: { args: [2, 2], fn: ([a, re]) => bool(sql`regexp_matches(${asText(a)}, ${asText(re)})`) },
  like: { args: [2, 2], fn: ([a, p]) => bool(sql`(${asText(a)} LIKE ${asText(p)})`) },
  tostring: {
    args: [1, 2],
    fn: ([a, f]) => {
      if (!f) return str(asText(a));
      // tostring(x, "hex" | "commas" | "duration")
      const n = asNumber(a);
      return str(sql`(CASE lower(${asText(f)})
        WHEN 'hex' THEN '0x' || lower(hex(CAST(${n} AS BIGINT)))
        WHEN 'commas' THEN format('{:,}', round(${n}, 2))
        WHEN 'duration' THEN printf('%02d:%02d:%02d', CAST(${n} AS BIGINT) // 3600, (CAST(${n} AS BIGINT) % 3600) // 60, CAST(${n} AS BIGINT) % 60)
        END)`);
    },
  },
  tonumber: {
    args: [1, 2],
    // Base 10 (a number), 16 or 2 (whole numbers).
    fn: ([a, base]) =>
      base
        ? num(sql`(CASE CAST(${asNumber(base)} AS INTEGER) WHEN 16 THEN TRY_CAST(('0x' || trim(${asText(a)})) AS BIGINT)
            WHEN 2 THEN TRY_CAST(('0b' || trim(${asText(a)})) AS BIGINT) WHEN 10 THEN TRY_CAST(trim(${asText(a)}) AS DOUBLE) END)`)
        : num(sql`TRY_CAST(trim(${asText(a)}) AS DOUBLE)`),
  },
  // Multivalue
  split: { args: [2, 2], fn: ([a, d]) => mvOrNull(sql`string_split(${asText(a)}, ${asText(d)})`) },
  mvcount: { args: [1, 1], fn: ([a]) => num(sql`(CASE WHEN len(${asList(a)}) > 0 THEN len(${asList(a)}) END)`) },
  mvindex: {
    args: [2, 3],
    // 0-based, negative from the end; with an end index, both ends included.
    fn: ([a, s, e]) => {
      const list = asList(a);
      const at = (i: Typed) =>
        sql`(CASE WHEN ${asNumber(i)} < 0 THEN len(${list}) + CAST(${asNumber(i)} AS BIGINT) ELSE CAST(${asNumber(i)} AS BIGINT) END)`;
      if (!e) return str(sql`${list}[${at(s)} + 1]`);
      return mvOrNull(sql`${list}[${at(s)} + 1:${at(e)} + 1]`);
    },
  },
  mvjoin: {
    args: [2, 2],
    fn: ([a, d]) => str(sql`(CASE WHEN len(${asList(a)}) > 0 THEN array_to_string(${asList(a)}, ${asText(d)}) END)`),
  },
  mvappend: { args: [1, many], fn: (a) => mvOrNull(sql`flatten([${join(a.map(asList))}])`) },
  // The first of each value, in order.
  mvdedup: { args: [1, 1], fn: ([a]) => mvOrNull(sql`list_filter(${asList(a)}, (x, i) -> list_position(${asList(a)}, x) = i)`) },
  mvsort: { args: [1, 1], fn: ([a]) => mvOrNull(sql`list_sort(${asList(a)})`) },
  // Time (epoch seconds)
  now: { args: [0, 0], fn: () => num(raw('epoch(current_timestamp)')) },
  time: { args: [0, 0], fn: () => num(raw('epoch(current_timestamp)')) },
  strftime: {
    args: [2, 2],
    fn: ([t, f]) => str(sql`strftime(to_timestamp(${asNumber(t)}) AT TIME ZONE 'UTC', ${asText(f)})`),
  },
  strptime: {
    args: [2, 2],
    fn: ([s, f]) => num(sql`epoch(try_strptime(${asText(s)}, ${asText(f)}))`),
  },
};

/** An IPv4 address as a number (NULL for anything else). */
const ipv4 = (
  text: Sql,
) => sql`(CASE WHEN regexp_full_match(${text}, '(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])([.](25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}')
  THEN (CAST(split_part(${text}, '.', 1) AS BIGINT) << 24) + (CAST(split_part(${text}, '.', 2) AS BIGINT) << 16)
     + (CAST(split_part(${text}, '.', 3) AS BIGINT) << 8) + CAST(split_part(${text}, '.', 4) AS BIGINT) END)`;

EVAL_FUNCTIONS.cidrmatch = {
  args: [2, 2],
  // IPv4: true when the address falls in the network (false for anything that is not one).
  fn: ([cidr, ip]) => {
    const c = asText(cidr);
    const bits = sql`coalesce(TRY_CAST(nullif(split_part(${c}, '/', 2), '') AS INTEGER), 32)`;
    const shift = sql`(32 - least(greatest(${bits}, 0), 32))`;
    return bool(sql`coalesce((${ipv4(asText(ip))} >> ${shift}) = (${ipv4(sql`split_part(${c}, '/', 1)`)} >> ${shift}), false)`);
  },
};

/** Functions that read their arguments as written (a literal, or an expression over each value). */
type Compile = (e: SplExpr, bound?: ReadonlyMap<string, Typed>) => Typed;
export const SPECIAL_FUNCTIONS: Record<string, (args: SplExpr[], compile: Compile) => Typed> = {
  /** relative_time(t, "-1d@d"): the time moved as earliest=/latest= move now (the modifier a literal). */
  relative_time: (args, compile) => {
    if (args.length !== 2 || args[1].kind !== 'str')
      throw new Error('relative_time() takes a time and a literal modifier, e.g. relative_time(now(), "-1d@d")');
    let ts = sql`(to_timestamp(${asNumber(compile(args[0]))}) AT TIME ZONE 'UTC')`;
    const seconds: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
    const months: Record<string, number> = { mon: 1, q: 3, y: 12 };
    const trunc: Record<string, string> = { s: 'second', m: 'minute', h: 'hour', d: 'day', mon: 'month', q: 'quarter', y: 'year' };
    for (const move of parseRelative(args[1].value)) {
      if (move.kind === 'step' && move.unit in seconds) ts = sql`(${ts} + to_seconds(${move.count * seconds[move.unit]}))`;
      else if (move.kind === 'step') ts = sql`(${ts} + to_months(${move.count * months[move.unit]}))`;
      else if (move.unit === 'w')
        ts = sql`(date_trunc('day', ${ts}) - to_days(CAST((dayofweek(${ts}) - ${move.weekday ?? 0} + 7) % 7 AS INTEGER)))`;
      else ts = sql`date_trunc(${trunc[move.unit]}, ${ts})`;
    }
    return num(sql`epoch(${ts})`);
  },
  /** mvfilter(test): the values of the one multivalue field the test names for which it holds. */
  mvfilter: (args, compile) => {
    if (args.length !== 1) throw new Error('mvfilter() takes one test over one field, e.g. mvfilter(match(email, "@example"))');
    const names = new Set<string>();
    const walk = (e: SplExpr): void => {
      if (e.kind === 'field') names.add(e.name);
      else if (e.kind === 'call') e.args.forEach(walk);
      else if (e.kind === 'bin') [e.left, e.right].forEach(walk);
      else if (e.kind === 'not' || e.kind === 'neg') walk(e.expr);
      else if (e.kind === 'like') [e.expr, e.pattern].forEach(walk);
    };
    walk(args[0]);
    if (names.size !== 1) throw new Error(`mvfilter() tests one field; this test names ${names.size}`);
    const [name] = names;
    const list = asList(compile({ kind: 'field', name, at: 0 }));
    const test = compile(args[0], new Map([[name, { sql: raw('__v'), kind: 'str' }]]));
    return mvOrNull(sql`list_filter(${list}, __v -> coalesce(${asBool(test)}, false))`);
  },
};
