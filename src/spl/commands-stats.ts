/**
 * The transforming commands: stats, eventstats, top, rare (their functions: stats.ts).
 */
import { ident, join, raw, type Sql, sql } from '../store/sql-template.ts';
import { expandValues } from './commands-rows.ts';
import { oneRowAggregate, STATS_FUNCTIONS, type StatsCall, statsAggregate } from './stats.ts';
import type { ArgToken, Command, SplExpr } from './ast.ts';
import { parseEval } from './parse.ts';
import {
  Args,
  type Carry,
  type Fields,
  narrowed,
  PivotNeeded,
  type Rel,
  spanSeconds,
  type Translate,
  type Translator,
} from './translator.ts';
import { asText, type Kind, type Typed } from './values.ts';

interface Aggregation {
  call: StatsCall;
  as: string;
  at: number;
  /** The field the function reads (none: count). */
  field?: string;
  /** Or an expression: count(eval(status>=400)). */
  expr?: SplExpr;
}

/**
 * What an aggregation reads: its field, or its eval expression (a test counts where it holds:
 * false is no value, as Splunk's count(eval(x>1)) counts).
 */
function aggField(t: Translate, rel: Rel, agg: Aggregation): Typed | undefined {
  if (agg.expr) {
    const value = t.expr(rel, agg.expr);
    return value.kind === 'bool' ? { sql: sql`(CASE WHEN ${value.sql} THEN 1 END)`, kind: 'num' } : value;
  }
  return agg.field === undefined ? undefined : t.field(rel, agg.field);
}

/**
 * stats/eventstats arguments: functions with optional AS, then BY fields, then (timechart) options
 * named in `trailing` (… by user limit=5).
 */
function aggregations(
  t: Translate,
  a: Args,
  trailing: readonly string[] = [],
): { aggs: Aggregation[]; by: string[]; options: Map<string, ArgToken> } {
  const aggs: Aggregation[] = [];
  while (!a.done() && !a.isWord('by')) {
    if (a.peek()?.type === 'comma') {
      a.i++;
      continue;
    }
    const head = a.next('a stats function');
    if (head.type !== 'word') t.fail(head.at, `${a.command.name}: a stats function expected, not "${head.image}"`);
    const written = head.value;
    let fn = written.toLowerCase();
    let percentile: number | undefined;
    const perc = /^(?:p|perc|exactperc|upperperc)(\d+(?:\.\d+)?)$/.exec(fn);
    if (perc) {
      percentile = Number(perc[1]);
      fn = ['upperperc', 'exactperc'].find((p) => fn.startsWith(p)) ?? 'perc';
    } else if (!STATS_FUNCTIONS.has(fn)) {
      t.fail(head.at, `${a.command.name}: function "${written}" is not supported`);
    }
    let field: string | undefined;
    let expr: SplExpr | undefined;
    let label = written;
    if (a.peek()?.type === 'lparen') {
      a.i++;
      const f = a.next('a field');
      if (f.type === 'word' && /^eval$/i.test(f.value) && a.peek()?.type === 'lparen') {
        // f(eval(expression)): the expression runs to the parenthesis that closes eval's.
        const start = a.next('(');
        let depth = 1;
        while (!a.done() && depth > 0) {
          const token = a.next(')');
          if (token.type === 'lparen') depth++;
          else if (token.type === 'rparen') depth--;
        }
        if (depth > 0) t.fail(start.at, `${a.command.name}: eval( without its )`);
        const close = a.tokens[a.i - 1];
        expr = parseEval(t.text, start.at + 1, close.at);
        if (a.next('")"').type !== 'rparen') t.fail(close.at, `${a.command.name}: one expression in ${written}(eval( ))`);
        label = t.text.slice(head.at, a.tokens[a.i - 1].at + 1);
      } else {
        field = f.value;
        if (a.next('")"').type !== 'rparen') t.fail(f.at, `${a.command.name}: one field in ${written}( )`);
        label = `${written}(${field})`;
      }
    } else if (fn !== 'count') {
      t.fail(head.at, `${a.command.name}: ${written} needs a field: ${written}(field)`);
    }
    if (a.isWord('as')) {
      a.i++;
      label = a.name('a name after AS');
    }
    aggs.push({ call: { fn, percentile }, as: label, at: head.at, field, expr });
  }
  if (aggs.length === 0) t.fail(a.command.at, `${a.command.name}: a stats function expected (count, dc(x), values(x), …)`);
  let by: string[] = [];
  if (a.isWord('by')) {
    a.i++;
    by = a.fieldList(trailing);
    if (by.length === 0) t.fail(a.command.text[1], `${a.command.name}: fields after BY`);
  }
  const options = a.options(trailing);
  a.end();
  return { aggs, by, options };
}

export const stats: Translator = (t, input, command) => {
  const { aggs, by } = aggregations(t, new Args(t, command));
  // A multivalue by-field groups by each of its values (an event counts in each of its groups).
  let rel = input;
  for (const name of by) if (rel.fields.get(name) === 'mv') rel = expandValues(t, rel, name);
  const groups = by.map((name) => t.field(rel, name));
  // Events without a by-field are not counted (Splunk's stats); groups in by-field order.
  const present = groups.map((g) =>
    g.kind === 'mv' ? sql`len(${g.sql}) > 0` : sql`${g.kind === 'null' ? raw('NULL') : g.sql} IS NOT NULL`,
  );
  const whereClause = present.length ? sql` WHERE ${join(present, ' AND ')}` : raw('');
  // The groups come from events with their by-fields' values: those of the lineage stay apart.
  const carry: Carry = { unique: by, sortedBy: by, lineage: narrowed(rel.carry?.lineage, (n) => by.includes(n)) };
  const fields: Fields = new Map();
  for (const [i, name] of by.entries()) fields.set(name, groups[i].kind === 'null' ? 'str' : groups[i].kind);
  const byColumns = by.map((name, i) => sql`${groups[i].sql} AS ${ident(name)}`);
  // By fields that already tell the rows apart (the seed's second stats regroups the first's
  // rows): every group is one row, no grouping needed.
  const unique = rel.carry?.unique;
  if (by.length > 0 && unique && unique.every((k) => by.includes(k))) {
    // values() of a field values() made is that field (sorted and distinct already), with its count.
    const made = (agg: Aggregation) =>
      agg.call.fn === 'values' && agg.field !== undefined && !agg.expr ? rel.carry?.counts?.get(agg.field) : undefined;
    const values = aggs.map((agg) =>
      made(agg) ? { sql: sql`${ident(agg.field!)}`, kind: 'mv' as Kind } : oneRowAggregate(agg.call, aggField(t, rel, agg)),
    );
    if (values.every((v) => v !== undefined)) {
      const columns = [...byColumns];
      const counts = new Map<string, string>();
      for (const [i, agg] of aggs.entries()) {
        columns.push(sql`${values[i]!.sql} AS ${ident(agg.as)}`);
        fields.delete(agg.as);
        fields.set(agg.as, values[i]!.kind);
        counts.delete(agg.as);
        const count = made(agg);
        if (count) counts.set(agg.as, count);
      }
      for (const [name, column] of counts) if (fields.has(column)) counts.delete(name);
      columns.push(...[...new Set(counts.values())].map((column) => sql`${ident(column)}`));
      if (counts.size) carry.counts = counts;
      const sorted = rel.carry?.sortedBy;
      // Already in by-field order: the rows keep their places.
      const inOrder = sorted !== undefined && sorted.length === by.length && sorted.every((f, i) => f === by[i]);
      const order = inOrder
        ? raw('__seq, __tie')
        : sql`row_number() OVER (ORDER BY ${join(by.map((name) => sql`${ident(name)}`))}) AS __seq, 0 AS __tie`;
      return t.step(sql`SELECT ${join(columns)}, ${order} FROM ${ident(rel.name)}${whereClause}`, fields, carry);
    }
  }
  const time = rel.fields.has('_time') ? raw('"_time"') : raw('__seq');
  const columns: Sql[] = [...byColumns];
  // values(x) also counts its values (count(DISTINCT x), a hidden column): mvcount() of the field
  // reads that while the field is as stats made it, and a search that only counts them (the
  // seed's login_count, time_count) is spared the lists (1.3 s → 0.5 s over 10 M events).
  const counted = new Map<string, { column: string; sql: Sql }>();
  for (const agg of aggs) {
    const field = aggField(t, rel, agg);
    const value = statsAggregate({ ...agg.call, field }, undefined, time);
    columns.push(sql`${value.sql} AS ${ident(agg.as)}`);
    fields.delete(agg.as);
    fields.set(agg.as, value.kind);
    counted.delete(agg.as);
    if (t.options.pushdown !== false && agg.call.fn === 'values' && field && field.kind !== 'mv' && field.kind !== 'null')
      counted.set(agg.as, { column: t.hidden('count'), sql: sql`count(DISTINCT ${field.kind === 'num' ? field.sql : asText(field)})` });
  }
  // (a field the search names like a hidden column keeps its name)
  for (const [name, { column }] of counted) if (fields.has(column)) counted.delete(name);
  const counts = new Map([...counted].map(([name, { column }]) => [name, column]));
  const countColumns = [...counted.values()].map((c) => sql`${c.sql} AS ${ident(c.column)}`);
  const groupBy = by.length ? sql` GROUP BY ${join(by.map((_, i) => raw(String(i + 1))))}` : raw('');
  const grouped = t.step(
    sql`SELECT ${join([...columns, ...countColumns])}, 0 AS __seq, 0 AS __tie FROM ${ident(rel.name)}${whereClause}${groupBy}`,
    fields,
  );
  // The groups' order is their by-fields' values: __seq is those values themselves (a row of
  // them for several), which orders as they do without numbering every group (a sort of every
  // group: 2.7 s of 15 at 10 M rows).
  let order: Sql = raw('1');
  if (by.length === 1) order = sql`${ident(by[0])}`;
  else if (by.length > 1) order = sql`row(${join(by.map((name) => sql`${ident(name)}`))})`;
  const kept = [...fields.keys(), ...counts.values()].map((name) => sql`${ident(name)}`);
  return t.step(sql`SELECT ${join(kept)}, ${order} AS __seq, 0 AS __tie FROM ${ident(grouped.name)}`, fields, {
    ...carry,
    counts: counts.size ? counts : undefined,
  });
};

/**
 * Aggregates over each row's group (eventstats: the whole group; streamstats: the rows before it,
 * `frame` in event order); a row without a by-field gets no value.
 */
function windowed(t: Translate, rel: Rel, aggs: Aggregation[], by: string[], frame?: Sql): Rel {
  const groups = by.map((name) => t.field(rel, name));
  const partition = by.length ? sql`PARTITION BY ${join(groups.map((g) => g.sql))}` : raw('');
  const over = frame ? sql`${partition} ORDER BY __seq, __tie ${frame}` : partition;
  const time = rel.fields.has('_time') ? raw('"_time"') : raw('__seq');
  const present = groups.map((g) => sql`${g.kind === 'null' ? raw('NULL') : g.sql} IS NOT NULL`);
  const replace = new Map<string, Typed>();
  for (const agg of aggs) {
    const field = aggField(t, rel, agg);
    // Rows told apart by the by-fields and this one: within a group its values are distinct
    // already, so dc() is a count (no distinct window: the seed's dc(bytes_out) by pair).
    const distinctAlready =
      !frame && field !== undefined && field.kind !== 'mv' && rel.carry?.unique?.every((k) => by.includes(k) || k === agg.field);
    const call = distinctAlready && (agg.call.fn === 'dc' || agg.call.fn === 'distinct_count') ? { ...agg.call, fn: 'count' } : agg.call;
    const value = statsAggregate({ ...call, field }, over, time);
    replace.set(
      agg.as,
      present.length ? { sql: sql`(CASE WHEN ${join(present, ' AND ')} THEN ${value.sql} END)`, kind: value.kind } : value,
    );
  }
  const { columns, fields, carry } = t.select(rel, replace);
  // A group's aggregate mixes its rows: only the by-fields keep rows of other values apart.
  carry.lineage = narrowed(carry.lineage, (n) => by.includes(n));
  return t.step(sql`SELECT ${join(columns)} FROM ${ident(rel.name)}`, fields, carry);
}

export const eventstats: Translator = (t, rel, command) => {
  const { aggs, by } = aggregations(t, new Args(t, command));
  return windowed(t, rel, aggs, by);
};

/** streamstats [current=bool] [window=N] aggregates [by fields]: running values in event order. */
export const streamstats: Translator = (t, rel, command) => {
  const a = new Args(t, command);
  const options = a.options(['current', 'window', 'global', 'reset_on_change', 'reset_before', 'reset_after', 'time_window', 'allnum']);
  for (const [name, token] of options) {
    if (name !== 'current' && name !== 'window') t.fail(token.at, `streamstats: option ${name}= is not supported`);
  }
  const current = (options.get('current')?.value ?? 'true').toLowerCase();
  const includeCurrent = current === 'true' || current === 't';
  const windowText = options.get('window')?.value ?? '0';
  if (!/^\d+$/.test(windowText)) t.fail(options.get('window')!.at, `streamstats: window=${windowText} is not a count`);
  const size = Number(windowText);
  const { aggs, by } = aggregations(t, a);
  const end = raw(includeCurrent ? 'CURRENT ROW' : '1 PRECEDING');
  let start: Sql = raw('UNBOUNDED PRECEDING');
  if (size > 0) start = raw(`${includeCurrent ? size - 1 : size} PRECEDING`);
  return windowed(t, rel, aggs, by, sql`ROWS BETWEEN ${start} AND ${end}`);
};

/**
 * timechart span=N[unit] aggregates [by field [limit=N] [useother=bool] [usenull=bool]]: one row
 * per time bucket from the first to the last (empty buckets counted 0); with a split field, one
 * column per value: the `limit` series with the highest totals (10), the rest summed up as OTHER,
 * events without the field as NULL.
 */
export const timechart: Translator = (t, rel, command) => {
  const a = new Args(t, command);
  const known = ['span', 'limit', 'useother', 'usenull', 'cont', 'partial', 'fixedrange', 'bins'];
  const options = a.options(known);
  const { aggs, by, options: after } = aggregations(t, a, known);
  for (const [name, token] of [...options, ...after]) {
    if (!['span', 'limit', 'useother', 'usenull'].includes(name)) t.fail(token.at, `timechart: option ${name}= is not supported`);
    options.set(name, token);
  }
  const span = options.get('span');
  if (!span) return t.fail(command.at, 'timechart: span= is required (e.g. span=1h)');
  const width = spanSeconds(t, span.value, span.at, 'timechart');
  if (by.length > 1) t.fail(command.at, 'timechart: one split field at most');
  if (by.length === 1 && aggs.length > 1) t.fail(command.at, 'timechart: one function with a split field');
  const time = t.field(rel, '_time');
  const bucket = sql`floor(${time.sql} / ${width}) * ${width}`;
  const isCount = (fn: string) => fn === 'count' || fn === 'dc' || fn === 'distinct_count';
  const aggregate = (agg: Aggregation) => statsAggregate({ ...agg.call, field: aggField(t, rel, agg) }, undefined, raw('"_time"'));
  const buckets = (from: string) =>
    sql`(SELECT unnest(range(CAST(min("_time") AS BIGINT), CAST(max("_time") AS BIGINT) + 1, ${width})) AS "_time" FROM ${ident(from)}) b`;
  if (by.length === 0) {
    const columns: Sql[] = [sql`${bucket} AS "_time"`];
    const fields: Fields = new Map([['_time', 'num' as Kind]]);
    for (const agg of aggs) {
      const value = aggregate(agg);
      columns.push(sql`${value.sql} AS ${ident(agg.as)}`);
      fields.set(agg.as, value.kind);
    }
    const grouped = t.step(
      sql`SELECT ${join(columns)}, 0 AS __seq, 0 AS __tie FROM ${ident(rel.name)} WHERE "_time" IS NOT NULL GROUP BY 1`,
      fields,
    );
    // Every bucket between the first and the last; counts of an empty one are 0.
    const filled = [...fields.keys()].map((name) => {
      if (name === '_time') return sql`b."_time"`;
      const count = aggs.some((agg) => agg.as === name && isCount(agg.call.fn));
      return count ? sql`coalesce(g.${ident(name)}, 0) AS ${ident(name)}` : sql`g.${ident(name)} AS ${ident(name)}`;
    });
    return t.step(
      sql`SELECT ${join(filled)}, row_number() OVER (ORDER BY b."_time") AS __seq, 0 AS __tie
        FROM ${buckets(grouped.name)} LEFT JOIN ${ident(grouped.name)} g ON g."_time" = b."_time"`,
      fields,
    );
  }
  const row = { name: '_time', key: bucket, kind: 'num' as Kind, fill: width };
  return pivot(t, rel, command, row, aggs[0], by[0], options);
};

/** The rows' key of a pivot (timechart: the time bucket, filled from first to last; chart: the over-field). */
interface PivotRow {
  name: string;
  key: Sql;
  kind: Kind;
  /** Every bucket of this width between the first and the last gets a row. */
  fill?: number;
}

/**
 * A table of one column per value of the split field (timechart … by, chart … over … by): the
 * `limit` series with the highest totals (10; the function summed over the rows), the rest
 * summed up as OTHER, rows without the field as NULL; columns in text order, then NULL, then
 * OTHER; empty cells of a count 0. The series are read from the data first (PivotNeeded).
 */
function pivot(
  t: Translate,
  rel: Rel,
  command: Command,
  row: PivotRow,
  agg: Aggregation,
  split: string,
  options: Map<string, ArgToken>,
): Rel {
  const value = statsAggregate({ ...agg.call, field: aggField(t, rel, agg) }, undefined, raw('"_time"'));
  const series = asText(t.field(rel, split));
  const present = sql`${row.key} IS NOT NULL`;
  const known = t.options.pivots?.[command.at];
  if (!known) {
    const ask =
      t.query(sql`SELECT s, sum(v) AS total FROM (SELECT ${row.key} AS k, ${series} AS s, ${value.sql} AS v FROM ${ident(rel.name)}
      WHERE ${present} GROUP BY 1, 2) GROUP BY s ORDER BY s IS NULL, total DESC NULLS LAST, s`);
    throw new PivotNeeded(command.at, ask.text, ask.values);
  }
  const limitText = options.get('limit')?.value ?? '10';
  if (!/^\d+$/.test(limitText)) t.fail(options.get('limit')!.at, `${command.name}: limit= is a count (0: every series)`);
  const limit = Number(limitText);
  const flag = (name: string) => (options.get(name)?.value ?? 'true').toLowerCase() !== 'false';
  const top = limit === 0 ? [...known.ranked] : known.ranked.slice(0, limit);
  const others = known.ranked.length > top.length && flag('useother');
  const withNull = known.hasNull && flag('usenull');
  const label = sql`(CASE WHEN ${series} IN (${top.length ? join(top.map((v) => sql`${v}`)) : raw('NULL')}) THEN ${series}
    WHEN ${series} IS NULL THEN ${withNull ? raw("'NULL'") : raw('NULL')} ELSE ${others ? raw("'OTHER'") : raw('NULL')} END)`;
  const grouped = t.step(
    sql`SELECT ${row.key} AS __k, ${label} AS __label, ${value.sql} AS __v, 0 AS __seq, 0 AS __tie FROM ${ident(rel.name)}
      WHERE ${present} GROUP BY 1, 2`,
    new Map(),
  );
  const columns = [...[...top].sort(), ...(withNull ? ['NULL'] : []), ...(others ? ['OTHER'] : [])].filter((c) => c !== row.name);
  const fields: Fields = new Map([[row.name, row.kind]]);
  const count = ['count', 'dc', 'distinct_count'].includes(agg.call.fn);
  const cells = columns.map((name) => {
    fields.set(name, value.kind);
    const cell = sql`max(g.__v) FILTER (WHERE g.__label = ${name})`;
    return count ? sql`coalesce(${cell}, 0) AS ${ident(name)}` : sql`${cell} AS ${ident(name)}`;
  });
  const keys = row.fill
    ? sql`(SELECT unnest(range(CAST(min(__k) AS BIGINT), CAST(max(__k) AS BIGINT) + 1, ${row.fill})) AS __k FROM ${ident(grouped.name)}) b`
    : sql`(SELECT DISTINCT __k FROM ${ident(grouped.name)}) b`;
  return t.step(
    sql`SELECT b.__k AS ${ident(row.name)}${cells.length ? sql`, ${join(cells)}` : raw('')}, b.__k AS __seq, 0 AS __tie
      FROM ${keys} LEFT JOIN ${ident(grouped.name)} g ON g.__k = b.__k GROUP BY b.__k`,
    fields,
  );
}

/**
 * chart aggregate over X [by Y] | chart aggregate by X [Y]: one row per X (in X's order); with a
 * second field, one column per value of it (as timechart … by).
 */
export const chart: Translator = (t, rel, command) => {
  const known = ['limit', 'useother', 'usenull'];
  const args = command.args;
  const overAt = args.findIndex((x) => x.type === 'word' && x.value.toLowerCase() === 'over');
  // chart f over x [by y] reads as chart f by x [y].
  const rewritten =
    overAt < 0
      ? command
      : {
          ...command,
          args: args
            .filter((_, i) => i !== overAt + 2 || args[i].value.toLowerCase() !== 'by')
            .map((x, i) => (i === overAt ? { ...x, image: 'by', value: 'by' } : x)),
        };
  const a = new Args(t, rewritten);
  const before = a.options(known);
  const { aggs, by, options: after } = aggregations(t, a, known);
  const options = new Map([...before, ...after]);
  if (by.length > 2) t.fail(command.at, 'chart: two fields at most (over X by Y)');
  if (by.length < 2)
    return stats(t, rel, { ...rewritten, args: rewritten.args.filter((x) => !known.some((k) => x.value.toLowerCase() === k)) });
  if (aggs.length > 1) t.fail(command.at, 'chart: one function with a split field');
  const over = t.field(rel, by[0]);
  const row = { name: by[0], key: over.kind === 'null' ? raw('NULL') : over.sql, kind: over.kind === 'null' ? ('str' as Kind) : over.kind };
  return pivot(t, rel, command, row, aggs[0], by[1], options);
};

/** top/rare [N] [limit=N] field… [by field…]: the most (least) common values, count and percent. */
export const topOrRare =
  (rare: boolean): Translator =>
  (t, rel, command) => {
    const a = new Args(t, command);
    let limit = a.leadingCount(10);
    const options = a.options(['limit', 'countfield', 'percentfield', 'showcount', 'showperc']);
    if (options.get('limit')) limit = Number(options.get('limit')!.value);
    const names = a.fieldList(['by']);
    let by: string[] = [];
    if (a.isWord('by')) {
      a.i++;
      by = a.fieldList();
    }
    a.end();
    if (names.length === 0) t.fail(command.at, `${command.name}: a field expected`);
    const countField = options.get('countfield')?.value ?? 'count';
    const percentField = options.get('percentfield')?.value ?? 'percent';
    const keys = [...by, ...names].map((n) => ({ name: n, f: t.field(rel, n) }));
    const present = keys.map(({ f }) => sql`${f.kind === 'null' ? raw('NULL') : asText(f)} IS NOT NULL`);
    const byKeys = by.map((n) => sql`${ident(n)}`);
    const out: Fields = new Map(keys.map(({ name }) => [name, 'str' as Kind]));
    out.set(countField, 'num');
    out.set(percentField, 'num');
    const counted = t.step(
      sql`SELECT ${join(keys.map(({ name, f }) => sql`${asText(f)} AS ${ident(name)}`))}, count(*) AS ${ident(countField)},
        count(*) * 100.0 / sum(count(*)) OVER (${by.length ? sql`PARTITION BY ${join(byKeys)}` : raw('')}) AS ${ident(percentField)}, 0 AS __seq, 0 AS __tie
        FROM ${ident(rel.name)} WHERE ${join(present, ' AND ')} GROUP BY ${join(keys.map((_, i) => raw(String(i + 1))))}`,
      out,
    );
    const direction = raw(rare ? 'ASC' : 'DESC');
    const names_ = join(names.map((n) => sql`${ident(n)}`));
    const ranked = t.step(
      sql`SELECT * EXCLUDE (__seq, __tie), row_number() OVER (${by.length ? sql`PARTITION BY ${join(byKeys)} ` : raw('')}ORDER BY ${ident(countField)} ${direction}, ${names_}) AS __r,
        0 AS __tie FROM ${ident(counted.name)}`,
      out,
    );
    const order = by.length ? sql`${join(byKeys)}, __r` : raw('__r');
    return t.step(
      sql`SELECT * EXCLUDE (__r, __tie), row_number() OVER (ORDER BY ${order}) AS __seq, 0 AS __tie FROM ${ident(ranked.name)}${limit > 0 ? sql` WHERE __r <= ${limit}` : raw('')}`,
      out,
    );
  };
