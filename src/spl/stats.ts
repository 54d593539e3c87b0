/**
 * The stats functions of the subset (stats, eventstats), as Splunk's documentation describes them:
 * values() distinct and sorted lexicographically, list() in event order (at most 100), dc() the
 * distinct count, stdev/var the sample ones, first/last in event order, earliest/latest by _time.
 * A function of a multivalue field reads each of its values.
 */
import { raw, type Sql, sql } from '../store/sql-template.ts';
import { asList, asNumber, asText, type Kind, numberText, type Typed } from './values.ts';

export interface StatsCall {
  fn: string;
  /** Undefined for count with no field. */
  field?: Typed;
  /** Percentile of perc/pNN/exactperc/upperperc. */
  percentile?: number;
}

/** The event order (for list/first/last): earlier rows first. */
const ORDER = raw('__seq, __tie');

/** An aggregate over a group's rows; `over` makes it a window (eventstats). */
export function statsAggregate(call: StatsCall, over: Sql | undefined, time: Sql): Typed {
  const w = (aggregate: Sql) => (over ? sql`${aggregate} OVER (${over})` : aggregate);
  const f = call.field;
  const n = f ? asNumber(f) : raw('NULL');
  const t = f ? asText(f) : raw('NULL');
  const each = f?.kind === 'mv';
  switch (call.fn) {
    case 'count':
      if (!f) return { sql: w(raw('count(*)')), kind: 'num' };
      // A number is there when its text is: counted without making texts.
      return { sql: each ? w(sql`sum(len(${asList(f)}))`) : w(sql`count(${f.kind === 'num' ? f.sql : t})`), kind: 'num' };
    case 'dc':
    case 'distinct_count': {
      if (each) return { sql: sql`len(list_distinct(${w(sql`flatten(list(${asList(f!)}))`)}))`, kind: 'num' };
      // Distinct numbers are distinct texts: no text made per row.
      return { sql: w(sql`count(DISTINCT ${f?.kind === 'num' ? f.sql : t})`), kind: 'num' };
    }
    case 'sum':
      return { sql: w(sql`sum(${n})`), kind: 'num' };
    case 'avg':
    case 'mean':
      return { sql: w(sql`avg(${n})`), kind: 'num' };
    case 'min':
      return { sql: w(sql`min(${n})`), kind: 'num' };
    case 'max':
      return { sql: w(sql`max(${n})`), kind: 'num' };
    case 'range':
      return { sql: sql`(${w(sql`max(${n})`)} - ${w(sql`min(${n})`)})`, kind: 'num' };
    case 'median':
      return { sql: w(sql`quantile_disc(${n}, 0.5)`), kind: 'num' };
    case 'stdev':
      return { sql: w(sql`stddev_samp(${n})`), kind: 'num' };
    case 'stdevp':
      return { sql: w(sql`stddev_pop(${n})`), kind: 'num' };
    case 'var':
      return { sql: w(sql`var_samp(${n})`), kind: 'num' };
    case 'varp':
      return { sql: w(sql`var_pop(${n})`), kind: 'num' };
    case 'mode':
      return { sql: w(sql`mode(${t})`), kind: 'str' };
    case 'perc':
    case 'exactperc':
      return { sql: w(sql`quantile_cont(${n}, ${call.percentile! / 100})`), kind: 'num' };
    case 'upperperc':
      return { sql: w(sql`quantile_disc(${n}, ${call.percentile! / 100})`), kind: 'num' };
    case 'values': {
      if (each) return { sql: sql`list_sort(list_distinct(${w(sql`flatten(list(${asList(f!)}))`)}))`, kind: 'mv' };
      // A number made text only once per distinct value (not once per event); sorted as text, as
      // Splunk sorts values().
      if (over) return { sql: sql`list_sort(list_distinct(${w(sql`list(${t})`)}))`, kind: 'mv' };
      if (f?.kind === 'num')
        return {
          sql: sql`list_sort(list_transform(list_distinct(list(${f.sql}) FILTER (WHERE ${f.sql} IS NOT NULL)), v -> ${numberText(raw('v'))}))`,
          kind: 'mv',
        };
      return { sql: sql`list_sort(list_distinct(list(${t}) FILTER (WHERE ${t} IS NOT NULL)))`, kind: 'mv' };
    }
    case 'list': {
      const all = each
        ? w(sql`flatten(list(${asList(f!)} ORDER BY ${ORDER}))`)
        : w(sql`list(${t} ORDER BY ${ORDER}) FILTER (WHERE ${t} IS NOT NULL)`);
      return { sql: sql`${all}[1:100]`, kind: 'mv' };
    }
    case 'first':
      return { sql: w(sql`arg_min(${t}, (__seq, __tie)) FILTER (WHERE ${t} IS NOT NULL)`), kind: kindOf(f) };
    case 'last':
      return { sql: w(sql`arg_max(${t}, (__seq, __tie)) FILTER (WHERE ${t} IS NOT NULL)`), kind: kindOf(f) };
    case 'earliest':
      return { sql: w(sql`arg_min(${t}, ${time}) FILTER (WHERE ${t} IS NOT NULL)`), kind: kindOf(f) };
    case 'latest':
      return { sql: w(sql`arg_max(${t}, ${time}) FILTER (WHERE ${t} IS NOT NULL)`), kind: kindOf(f) };
    default:
      throw new Error(`stats function ${call.fn}() is not supported`);
  }
}

/** first/last/earliest/latest give a field's value back as it was written: text (Splunk's values are). */
const kindOf = (_f: Typed | undefined): Kind => 'str';

/** The stats function names of the subset (pNN and percNN are read apart). */
export const STATS_FUNCTIONS = new Set([
  'count',
  'dc',
  'distinct_count',
  'sum',
  'avg',
  'mean',
  'min',
  'max',
  'range',
  'median',
  'stdev',
  'stdevp',
  'var',
  'varp',
  'mode',
  'values',
  'list',
  'first',
  'last',
  'earliest',
  'latest',
]);

/**
 * The aggregate over a group of exactly one row (stats by fields that already tell the rows
 * apart: the seed's second stats regroups the first's rows), as a plain expression; undefined
 * where only the aggregate itself says it (a number function of a multivalue field).
 */
export function oneRowAggregate(call: StatsCall, f: Typed | undefined): Typed | undefined {
  if (!f) return call.fn === 'count' ? { sql: raw('1'), kind: 'num' } : undefined;
  const there = f.kind === 'mv' ? sql`(len(${asList(f)}) > 0)` : sql`(${asText(f)} IS NOT NULL)`;
  const text = asText(f);
  switch (call.fn) {
    case 'count':
      return { sql: f.kind === 'mv' ? sql`len(${asList(f)})` : sql`CAST(${there} AS INTEGER)`, kind: 'num' };
    case 'dc':
    case 'distinct_count':
      return { sql: f.kind === 'mv' ? sql`len(list_distinct(${asList(f)}))` : sql`CAST(${there} AS INTEGER)`, kind: 'num' };
    case 'values':
    case 'list':
      // One value is a single value (as Splunk gives it): the field itself.
      if (f.kind !== 'mv') return f.kind === 'null' ? { sql: raw('CAST(NULL AS VARCHAR)'), kind: 'str' } : f;
      return {
        sql: sql`(CASE WHEN ${there} THEN ${call.fn === 'values' ? sql`list_sort(list_distinct(${asList(f)}))` : sql`${asList(f)}[1:100]`} END)`,
        kind: 'mv',
      };
  }
  if (f.kind === 'mv') return undefined;
  switch (call.fn) {
    case 'sum':
    case 'avg':
    case 'mean':
    case 'min':
    case 'max':
    case 'median':
    case 'perc':
    case 'exactperc':
    case 'upperperc':
      return { sql: asNumber(f), kind: 'num' };
    case 'range':
      return { sql: sql`(CASE WHEN ${asNumber(f)} IS NOT NULL THEN 0 END)`, kind: 'num' };
    case 'stdev':
    case 'var':
      return { sql: raw('CAST(NULL AS DOUBLE)'), kind: 'num' };
    case 'stdevp':
    case 'varp':
      return { sql: sql`(CASE WHEN ${asNumber(f)} IS NOT NULL THEN 0 END)`, kind: 'num' };
    default:
      // mode, first, last, earliest, latest: the value itself, as text.
      return { sql: text, kind: 'str' };
  }
}
