/**
 * An SPL pipeline as one DuckDB statement: each command a CTE over the one before (one
 * translator function per command), the search's events from the canonical tables its index=
 * and sourcetype= name. Every relation carries its fields (name → kind) and two hidden columns
 * for the event order Splunk keeps (__seq, __tie: newest first, then by load order; a
 * transforming command's rows in the order of its by-fields). Field names become quoted
 * identifiers, values bound parameters: SPL text never becomes SQL text.
 */
import { ident, join, raw, render, type Sql, sql } from '../store/sql-template.ts';
import { duckdb } from '../store/dialect-duckdb.ts';
import type { SqlValue } from '../store/sql.ts';
import type { ArgToken, Command, Pipeline, SearchExpr, SplExpr } from './ast.ts';
import { EVAL_FUNCTIONS } from './functions.ts';
import { parseEval, parseSearch, SplError } from './parse.ts';
import { INDEXES, SOURCETYPES, type SplSource, type SplTable, sourceOf } from './sources.ts';
import { STATS_FUNCTIONS, type StatsCall, statsAggregate } from './stats.ts';
import { splTime } from './time.ts';
import { as, asBool, asList, asNumber, asText, common, compare, type Kind, type Typed } from './values.ts';

export interface SplOptions {
  /** What earliest=-1d counts back from. */
  now: Date;
}

export interface Translation {
  /** The statement and its values. */
  text: string;
  values: SqlValue[];
  /** Output field names, in order. */
  fields: string[];
  /** Fields named but found nowhere (null, as in Splunk). */
  warnings: string[];
}

type Fields = Map<string, Kind>;

interface Rel {
  name: string;
  fields: Fields;
}

/** The commands of the subset, each its translator. */
type Translator = (t: Translate, rel: Rel, command: Command) => Rel;

class Translate {
  readonly steps: Sql[] = [];
  readonly missing = new Set<string>();
  private n = 0;
  constructor(
    readonly text: string,
    readonly options: SplOptions,
  ) {}

  fail(at: number, message: string): never {
    throw new SplError(this.text, at, message);
  }

  /** A new CTE; its columns are `fields` (in order) and __seq, __tie. */
  step(body: Sql, fields: Fields): Rel {
    const name = `s${this.n++}`;
    this.steps.push(sql`${ident(name)} AS (${body})`);
    return { name, fields };
  }

  /** A field of a relation; one that is not there is NULL (and said once). */
  field(rel: Rel, name: string, prefix = ''): Typed {
    const kind = rel.fields.get(name);
    if (kind === undefined) {
      this.missing.add(name);
      return { sql: raw('NULL'), kind: 'null' };
    }
    return { sql: prefix ? sql`${raw(prefix)}.${ident(name)}` : sql`${ident(name)}`, kind };
  }

  /** Every field as it is, but those in `replace` (in place) and then `add` (at the end). */
  select(rel: Rel, replace: Map<string, Typed>, drop: ReadonlySet<string> = new Set()): { columns: Sql[]; fields: Fields } {
    const columns: Sql[] = [];
    const fields: Fields = new Map();
    for (const [name, kind] of rel.fields) {
      if (drop.has(name)) continue;
      const v = replace.get(name);
      columns.push(v ? sql`${v.sql} AS ${ident(name)}` : sql`${ident(name)}`);
      fields.set(name, v ? v.kind : kind);
    }
    for (const [name, v] of replace) {
      if (rel.fields.has(name) || drop.has(name)) continue;
      columns.push(sql`${v.sql} AS ${ident(name)}`);
      fields.set(name, v.kind);
    }
    return { columns: [...columns, raw('__seq'), raw('__tie')], fields };
  }

  expr(rel: Rel, e: SplExpr): Typed {
    switch (e.kind) {
      case 'num':
        return { sql: raw(String(e.value)), kind: 'num' };
      case 'str':
        return { sql: sql`${e.value}`, kind: 'str' };
      case 'bool':
        return { sql: raw(e.value ? 'true' : 'false'), kind: 'bool' };
      case 'null':
        return { sql: raw('NULL'), kind: 'null' };
      case 'field':
        return this.field(rel, e.name);
      case 'not':
        return { sql: sql`(NOT ${asBool(this.expr(rel, e.expr))})`, kind: 'bool' };
      case 'neg':
        return { sql: sql`(- ${asNumber(this.expr(rel, e.expr))})`, kind: 'num' };
      case 'like':
        return { sql: sql`(${asText(this.expr(rel, e.expr))} LIKE ${asText(this.expr(rel, e.pattern))})`, kind: 'bool' };
      case 'call': {
        const fn = EVAL_FUNCTIONS[e.fn];
        if (!fn) this.fail(e.at, `function "${e.fn}" is not supported`);
        const [lo, hi] = fn.args;
        if (e.args.length < lo || e.args.length > hi) this.fail(e.at, `${e.fn}() takes ${arity(lo, hi)} arguments`);
        try {
          return fn.fn(e.args.map((a) => this.expr(rel, a)));
        } catch (error) {
          return this.fail(e.at, (error as Error).message);
        }
      }
      case 'bin': {
        const [a, b] = [this.expr(rel, e.left), this.expr(rel, e.right)];
        switch (e.op) {
          case 'AND':
          case 'OR':
            return { sql: sql`(${asBool(a)} ${raw(e.op)} ${asBool(b)})`, kind: 'bool' };
          case 'XOR':
            return { sql: sql`(${asBool(a)} <> ${asBool(b)})`, kind: 'bool' };
          case '.':
            return { sql: sql`(${asText(a)} || ${asText(b)})`, kind: 'str' };
          case '+':
            // Two texts are joined; otherwise numbers are added.
            if (a.kind === 'str' && b.kind === 'str') return { sql: sql`(${a.sql} || ${b.sql})`, kind: 'str' };
            return { sql: sql`(${asNumber(a)} + ${asNumber(b)})`, kind: 'num' };
          case '-':
          case '*':
          case '%':
            return { sql: sql`(${asNumber(a)} ${raw(e.op)} ${asNumber(b)})`, kind: 'num' };
          case '/':
            return { sql: sql`(${asNumber(a)} / nullif(${asNumber(b)}, 0))`, kind: 'num' };
          default:
            return { sql: compare(e.op, a, b), kind: 'bool' };
        }
      }
    }
  }

  /** A search command's terms as a condition over a relation's fields (or a table's columns, at the start). */
  search(e: SearchExpr, fieldOf: (name: string) => Typed): Sql {
    switch (e.kind) {
      case 'and':
        return e.items.length === 0
          ? raw('true')
          : sql`(${join(
              e.items.map((i) => this.search(i, fieldOf)),
              ' AND ',
            )})`;
      case 'or':
        return sql`(${join(
          e.items.map((i) => this.search(i, fieldOf)),
          ' OR ',
        )})`;
      case 'not':
        return sql`(NOT ${this.search(e.item, fieldOf)})`;
      case 'term':
        if (e.value === '*') return raw('true');
        return this.fail(e.at, `free-text term "${e.value}" is not supported (there is no _raw to search): name the field, field=value`);
      case 'in':
        return sql`(${join(
          e.values.map((v) => matches(fieldOf(e.field), v)),
          ' OR ',
        )})`;
      case 'test': {
        const f = fieldOf(e.field);
        if (e.op === '=') return matches(f, e.value);
        // field!=value: the field is there and is not the value.
        if (e.op === '!=') return sql`(${present(f)} AND NOT ${matches(f, e.value)})`;
        return sql`coalesce(${compare(e.op, f, literal(e.value))}, false)`;
      }
    }
  }
}

const arity = (lo: number, hi: number): string => {
  if (lo === hi) return String(lo);
  return hi === Number.POSITIVE_INFINITY ? `${lo} or more` : `${lo} to ${hi}`;
};

/** The SQL type of a kind (a NULL column that must have one). */
const SQL_TYPE: Record<Kind, string> = { num: 'DOUBLE', mv: 'VARCHAR[]', str: 'VARCHAR', bool: 'BOOLEAN', null: 'VARCHAR' };

const literal = (value: string): Typed =>
  /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(value)
    ? { sql: raw(String(Number(value))), kind: 'num' }
    : { sql: sql`${value}`, kind: 'str' };

const present = (f: Typed): Sql => {
  if (f.kind === 'null') return raw('false');
  return f.kind === 'mv' ? sql`(len(${asList(f)}) > 0)` : sql`(${f.sql} IS NOT NULL)`;
};

/** field=value in a search: case-insensitive, * a wildcard; a multivalue field matches when one of its values does. */
function matches(f: Typed, value: string): Sql {
  if (f.kind === 'null') return raw('false');
  const wildcard = value.includes('*');
  if (!wildcard && f.kind === 'num' && literal(value).kind === 'num') return sql`coalesce(${f.sql} = ${Number(value)}, false)`;
  const pattern = value.replace(/[\\%_]/g, (c) => `\\${c}`).replaceAll('*', '%');
  if (f.kind === 'mv') return sql`coalesce(len(list_filter(${f.sql}, v -> v ILIKE ${pattern} ESCAPE '\\')) > 0, false)`;
  if (!wildcard) return sql`coalesce(lower(${asText(f)}) = lower(${value}), false)`;
  return sql`coalesce(${asText(f)} ILIKE ${pattern} ESCAPE '\\', false)`;
}

// ---- The events -----------------------------------------------------------------------------

const KIND_OF_TYPE = (type: string): Kind => {
  if (type.endsWith('[]')) return 'mv';
  if (['INTEGER', 'BIGINT', 'DOUBLE'].includes(type)) return 'num';
  return 'str';
};

/** A table's columns as SPL fields: _time (epoch seconds), each column, the CIM aliases. */
function sourceFields(source: SplSource): Map<string, { sql: Sql; kind: Kind }> {
  const out = new Map<string, { sql: Sql; kind: Kind }>();
  out.set('_time', { sql: raw('epoch(ts)'), kind: 'num' });
  for (const c of source.columns) {
    if (c.name === 'ts') continue;
    const column = sql`${ident(c.name)}`;
    const kind = KIND_OF_TYPE(c.type);
    let value: Sql = column;
    if (c.type === 'TIMESTAMP') value = sql`strftime(${column}, '%Y-%m-%dT%H:%M:%S')`;
    else if (c.type === 'BOOLEAN' || c.type === 'JSON') value = sql`CAST(${column} AS VARCHAR)`;
    else if (kind === 'mv') value = sql`CAST(${column} AS VARCHAR[])`;
    out.set(c.name, { sql: value, kind });
  }
  for (const [alias, column] of Object.entries(source.aliases)) {
    const target = out.get(column);
    if (target && !out.has(alias)) out.set(alias, target);
  }
  return out;
}

/** Which tables index= and sourcetype= name in a search's terms (anywhere in it). */
function tablesOf(t: Translate, e: SearchExpr, found: Set<SplTable>): void {
  if (e.kind === 'and' || e.kind === 'or') for (const i of e.items) tablesOf(t, i, found);
  else if (e.kind === 'not') tablesOf(t, e.item, found);
  else if ((e.kind === 'test' || e.kind === 'in') && ['sourcetype', 'index'].includes(e.field.toLowerCase())) {
    const values = e.kind === 'in' ? e.values : [e.value];
    for (const value of values) {
      const key = value.toLowerCase();
      const table = e.field.toLowerCase() === 'sourcetype' ? SOURCETYPES[key] : INDEXES[key];
      if (table) found.add(table);
      else if (e.field.toLowerCase() === 'sourcetype')
        t.fail(
          e.at,
          `sourcetype "${value}" maps to no table huntbook keeps (known: ${Object.keys(SOURCETYPES).slice(0, 12).join(', ')}, …)`,
        );
    }
  }
}

/** The search's earliest/latest (top level only), taken out of its terms. */
function timeRange(t: Translate, e: SearchExpr): { rest: SearchExpr; earliest?: number; latest?: number } {
  const items = e.kind === 'and' ? e.items : [e];
  const rest: SearchExpr[] = [];
  let earliest: number | undefined;
  let latest: number | undefined;
  for (const item of items) {
    if (item.kind === 'test' && ['earliest', 'latest'].includes(item.field.toLowerCase()) && item.op === '=') {
      let seconds: number;
      try {
        seconds = splTime(item.value, t.options.now);
      } catch (error) {
        return t.fail(item.at, (error as Error).message);
      }
      if (item.field.toLowerCase() === 'earliest') earliest = seconds;
      else latest = seconds;
    } else rest.push(item);
  }
  return { rest: { kind: 'and', items: rest }, earliest, latest };
}

/** The first command: events of the named tables where the terms hold, in Splunk's order (newest first). */
function events(t: Translate, command: Command): Rel {
  const terms = parseSearch(t.text, command.args);
  const tables = new Set<SplTable>();
  tablesOf(t, terms, tables);
  if (tables.size === 0) {
    t.fail(
      command.at,
      'the search names no index or sourcetype huntbook maps to a table: add sourcetype=… (e.g. stream:tcp, stream:http, bro:conn:json, xmlwineventlog) or index=a_summary_index',
    );
  }
  const { rest, earliest, latest } = timeRange(t, terms);
  const sources = [...tables].map(sourceOf);
  const fields: Fields = new Map();
  const perSource = sources.map((source) => sourceFields(source));
  for (const map of perSource) for (const [name, f] of map) if (!fields.has(name)) fields.set(name, f.kind);
  const selects = sources.map((source, i) => {
    const own = perSource[i];
    const fieldOf = (name: string): Typed => {
      const lower = name.toLowerCase();
      if (lower === 'index' || lower === 'sourcetype') return { sql: raw('NULL'), kind: 'null' };
      const f = own.get(name);
      if (f) return f;
      t.missing.add(name);
      return { sql: raw('NULL'), kind: 'null' };
    };
    const condition = t.search(mapSourceTerms(rest, source.table), fieldOf);
    const range = [
      ...(earliest !== undefined ? [sql`ts >= to_timestamp(${earliest})::TIMESTAMP`] : []),
      ...(latest !== undefined ? [sql`ts < to_timestamp(${latest})::TIMESTAMP`] : []),
    ];
    const columns = [...fields].map(([name, kind]) => {
      const f = own.get(name);
      return f ? sql`${f.sql} AS ${ident(name)}` : sql`CAST(NULL AS ${raw(SQL_TYPE[kind])}) AS ${ident(name)}`;
    });
    const tie = source.tie ? sql`${ident(source.tie)}` : raw('0');
    return sql`SELECT ${join(columns)}, -epoch_us(ts) AS __seq, ${tie} AS __tie FROM ${ident(source.table)}
      WHERE ts IS NOT NULL AND ${join([condition, ...range], ' AND ')}`;
  });
  return t.step(join(selects, ' UNION ALL BY NAME '), fields);
}

/** The terms with index=/sourcetype= decided for one table: true where they name it. */
function mapSourceTerms(e: SearchExpr, table: SplTable): SearchExpr {
  const yes: SearchExpr = { kind: 'and', items: [] };
  const no: SearchExpr = { kind: 'not', item: yes };
  switch (e.kind) {
    case 'and':
    case 'or':
      return { kind: e.kind, items: e.items.map((i) => mapSourceTerms(i, table)) };
    case 'not':
      return { kind: 'not', item: mapSourceTerms(e.item, table) };
    case 'test':
    case 'in': {
      const field = e.field.toLowerCase();
      if (field !== 'index' && field !== 'sourcetype') return e;
      const values = e.kind === 'in' ? e.values : [e.value];
      const names = values.some((v) => (field === 'sourcetype' ? SOURCETYPES[v.toLowerCase()] : INDEXES[v.toLowerCase()]) === table);
      // An index that maps to no one table holds every table (the sourcetype decides).
      const any = field === 'index' && values.some((v) => INDEXES[v.toLowerCase()] === undefined);
      const holds = names || any;
      if (e.kind === 'test' && e.op === '!=') return holds ? no : yes;
      return holds ? yes : no;
    }
    default:
      return e;
  }
}

// ---- The commands ---------------------------------------------------------------------------

/** Arguments as a cursor: words, options (name=value), field lists. */
class Args {
  i = 0;
  constructor(
    readonly t: Translate,
    readonly command: Command,
  ) {}
  get tokens(): ArgToken[] {
    return this.command.args;
  }
  peek(): ArgToken | undefined {
    return this.tokens[this.i];
  }
  done(): boolean {
    return this.i >= this.tokens.length;
  }
  next(what: string): ArgToken {
    const t = this.peek();
    if (!t) return this.t.fail(this.command.text[1], `${this.command.name}: ${what} expected`);
    this.i++;
    return t;
  }
  /** A field name: a word or a quoted string. */
  name(what = 'a field name'): string {
    const t = this.next(what);
    if (t.type !== 'word' && t.type !== 'string') this.t.fail(t.at, `${this.command.name}: ${what} expected, not "${t.image}"`);
    return t.value;
  }
  isWord(word: string): boolean {
    const t = this.peek();
    return t?.type === 'word' && t.value.toLowerCase() === word;
  }
  /** name=value options at the cursor (only those in `known`). */
  options(known: readonly string[]): Map<string, ArgToken> {
    const out = new Map<string, ArgToken>();
    while (this.peek()?.type === 'word' && this.tokens[this.i + 1]?.type === 'op' && this.tokens[this.i + 1].image === '=') {
      const key = this.peek()!.value.toLowerCase();
      if (!known.includes(key)) break;
      this.i += 2;
      out.set(key, this.next(`a value for ${key}`));
    }
    return out;
  }
  /** Field names separated by commas or spaces, up to a stop word or the end. */
  fieldList(stop: readonly string[] = []): string[] {
    const out: string[] = [];
    while (!this.done() && !stop.some((w) => this.isWord(w))) {
      if (this.peek()?.type === 'comma') {
        this.i++;
        continue;
      }
      out.push(this.name());
    }
    return out;
  }
  end(): void {
    const t = this.peek();
    if (t) this.t.fail(t.at, `${this.command.name}: unexpected "${t.image}"`);
  }
}

const search: Translator = (t, rel, command) => {
  const terms = parseSearch(t.text, command.args);
  const condition = t.search(terms, (name) => t.field(rel, name));
  const { columns, fields } = t.select(rel, new Map());
  return t.step(sql`SELECT ${join(columns)} FROM ${ident(rel.name)} WHERE ${condition}`, fields);
};

const where: Translator = (t, rel, command) => {
  if (command.args.length === 0) t.fail(command.at, 'where: an expression expected');
  const e = parseEval(t.text, command.text[0], command.text[1]);
  const { columns, fields } = t.select(rel, new Map());
  return t.step(sql`SELECT ${join(columns)} FROM ${ident(rel.name)} WHERE coalesce(${asBool(t.expr(rel, e))}, false)`, fields);
};

/** eval a=…, b=…: each assignment sees the ones before it. */
const evaluate: Translator = (t, rel, command) => {
  const args = command.args;
  if (args.length === 0) t.fail(command.at, 'eval: field=expression expected');
  // Assignments start at a name followed by "=" at parenthesis depth 0 after a comma (or at the start).
  const starts: number[] = [];
  let depth = 0;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a.type === 'lparen') depth++;
    else if (a.type === 'rparen') depth--;
    else if (depth === 0 && (i === 0 || args[i - 1].type === 'comma') && args[i + 1]?.type === 'op' && args[i + 1].image === '=')
      starts.push(i);
  }
  if (starts[0] !== 0) t.fail(args[0].at, 'eval: field=expression expected');
  let current = rel;
  for (const [k, start] of starts.entries()) {
    const name = args[start].value.replace(/^'(.*)'$/, '$1');
    const from = args[start + 2]?.at;
    if (from === undefined) t.fail(args[start + 1].at, `eval: an expression after "${name}="`);
    const next = starts[k + 1];
    const to = next === undefined ? command.text[1] : args[next - 1].at; // up to the comma before the next assignment
    const value = t.expr(current, parseEval(t.text, from, to));
    const { columns, fields } = t.select(
      current,
      new Map([[name, value.kind === 'null' ? { sql: raw('CAST(NULL AS VARCHAR)'), kind: 'str' } : value]]),
    );
    current = t.step(sql`SELECT ${join(columns)} FROM ${ident(current.name)}`, fields);
  }
  return current;
};

interface Aggregation {
  call: StatsCall;
  as: string;
  at: number;
}

/** stats/eventstats arguments: functions with optional AS, then BY fields. */
function aggregations(t: Translate, a: Args): { aggs: Aggregation[]; by: string[] } {
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
    let label = written;
    if (a.peek()?.type === 'lparen') {
      a.i++;
      const f = a.next('a field');
      if (f.type === 'word' && /^eval$/i.test(f.value))
        t.fail(f.at, `${a.command.name}: ${written}(eval(…)) is not supported; eval the field first`);
      field = f.value;
      if (a.next('")"').type !== 'rparen') t.fail(f.at, `${a.command.name}: one field in ${written}( )`);
      label = `${written}(${field})`;
    } else if (fn !== 'count') {
      t.fail(head.at, `${a.command.name}: ${written} needs a field: ${written}(field)`);
    }
    if (a.isWord('as')) {
      a.i++;
      label = a.name('a name after AS');
    }
    aggs.push({ call: { fn, percentile, field: undefined }, as: label, at: head.at, ...(field ? { field } : {}) } as Aggregation & {
      field?: string;
    });
  }
  if (aggs.length === 0) t.fail(a.command.at, `${a.command.name}: a stats function expected (count, dc(x), values(x), …)`);
  let by: string[] = [];
  if (a.isWord('by')) {
    a.i++;
    by = a.fieldList();
    if (by.length === 0) t.fail(a.command.text[1], `${a.command.name}: fields after BY`);
  }
  a.end();
  return { aggs, by };
}

const stats: Translator = (t, rel, command) => {
  const { aggs, by } = aggregations(t, new Args(t, command));
  const groups = by.map((name) => t.field(rel, name));
  const time = rel.fields.has('_time') ? raw('"_time"') : raw('__seq');
  const columns: Sql[] = [];
  const fields: Fields = new Map();
  for (const [i, name] of by.entries()) {
    columns.push(sql`${groups[i].sql} AS ${ident(name)}`);
    fields.set(name, groups[i].kind === 'null' ? 'str' : groups[i].kind);
  }
  for (const agg of aggs) {
    const f = (agg as Aggregation & { field?: string }).field;
    const value = statsAggregate({ ...agg.call, field: f === undefined ? undefined : t.field(rel, f) }, undefined, time);
    columns.push(sql`${value.sql} AS ${ident(agg.as)}`);
    fields.delete(agg.as);
    fields.set(agg.as, value.kind);
  }
  // Events without a by-field are not counted (Splunk's stats); groups in by-field order.
  const present = groups.map((g) =>
    g.kind === 'mv' ? sql`len(${g.sql}) > 0` : sql`${g.kind === 'null' ? raw('NULL') : g.sql} IS NOT NULL`,
  );
  const whereClause = present.length ? sql` WHERE ${join(present, ' AND ')}` : raw('');
  const groupBy = by.length ? sql` GROUP BY ${join(by.map((_, i) => raw(String(i + 1))))}` : raw('');
  const grouped = t.step(sql`SELECT ${join(columns)}, 0 AS __seq, 0 AS __tie FROM ${ident(rel.name)}${whereClause}${groupBy}`, fields);
  const order = by.length ? join(by.map((name) => sql`${ident(name)}`)) : raw('1');
  return t.step(
    sql`SELECT ${join([...fields.keys()].map((name) => sql`${ident(name)}`))}, row_number() OVER (ORDER BY ${order}) AS __seq, 0 AS __tie FROM ${ident(grouped.name)}`,
    fields,
  );
};

const eventstats: Translator = (t, rel, command) => {
  const { aggs, by } = aggregations(t, new Args(t, command));
  const groups = by.map((name) => t.field(rel, name));
  const partition = by.length ? sql`PARTITION BY ${join(groups.map((g) => g.sql))}` : raw('');
  const time = rel.fields.has('_time') ? raw('"_time"') : raw('__seq');
  const present = groups.map((g) => sql`${g.kind === 'null' ? raw('NULL') : g.sql} IS NOT NULL`);
  const replace = new Map<string, Typed>();
  for (const agg of aggs) {
    const f = (agg as Aggregation & { field?: string }).field;
    const value = statsAggregate({ ...agg.call, field: f === undefined ? undefined : t.field(rel, f) }, partition, time);
    // A row without a by-field gets no value.
    replace.set(
      agg.as,
      present.length ? { sql: sql`(CASE WHEN ${join(present, ' AND ')} THEN ${value.sql} END)`, kind: value.kind } : value,
    );
  }
  const { columns, fields } = t.select(rel, replace);
  return t.step(sql`SELECT ${join(columns)} FROM ${ident(rel.name)}`, fields);
};

const table: Translator = (t, rel, command) => {
  const names = new Args(t, command).fieldList();
  if (names.length === 0) t.fail(command.at, 'table: field names expected');
  const fields: Fields = new Map();
  const columns: Sql[] = [];
  for (const pattern of names) {
    const matched = pattern.includes('*') ? [...rel.fields.keys()].filter((f) => wildcard(pattern).test(f)) : [pattern];
    for (const name of matched) {
      if (fields.has(name)) continue;
      const f = t.field(rel, name);
      if (f.kind === 'null') continue; // Splunk's table leaves out a field that is not there
      columns.push(sql`${f.sql} AS ${ident(name)}`);
      fields.set(name, f.kind);
    }
  }
  return t.step(sql`SELECT ${join([...columns, raw('__seq'), raw('__tie')])} FROM ${ident(rel.name)}`, fields);
};

const wildcard = (pattern: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );

const fields: Translator = (t, rel, command) => {
  const a = new Args(t, command);
  let remove = false;
  if (a.peek()?.type === 'word' && (a.peek()!.value === '-' || a.peek()!.value === '+')) remove = a.next('-').value === '-';
  const names = a.fieldList();
  const match = (f: string) => names.some((p) => wildcard(p).test(f));
  const keep = new Set([...rel.fields.keys()].filter((f) => (remove ? !match(f) : match(f))));
  const drop = new Set([...rel.fields.keys()].filter((f) => !keep.has(f)));
  const { columns, fields: out } = t.select(rel, new Map(), drop);
  return t.step(sql`SELECT ${join(columns)} FROM ${ident(rel.name)}`, out);
};

const rename: Translator = (t, rel, command) => {
  const a = new Args(t, command);
  const pairs: [string, string][] = [];
  while (!a.done()) {
    if (a.peek()?.type === 'comma') {
      a.i++;
      continue;
    }
    const from = a.name();
    if (!a.isWord('as')) t.fail(a.peek()?.at ?? command.text[1], 'rename: old AS new');
    a.i++;
    pairs.push([from, a.name('a new name')]);
  }
  const renamed = new Map(pairs);
  const columns: Sql[] = [];
  const out: Fields = new Map();
  for (const [name, kind] of rel.fields) {
    const target = renamed.get(name) ?? name;
    if ([...renamed.values()].includes(name) && !renamed.has(name)) continue; // overwritten by a rename
    columns.push(sql`${ident(name)} AS ${ident(target)}`);
    out.set(target, kind);
  }
  return t.step(sql`SELECT ${join([...columns, raw('__seq'), raw('__tie')])} FROM ${ident(rel.name)}`, out);
};

/** sort [N] [limit=N] [+|-]field … [desc|d]: at most 10,000 rows unless a count says otherwise (0: all). */
const sort: Translator = (t, rel, command) => {
  const a = new Args(t, command);
  let limit = 10_000;
  const first = a.peek();
  if (first?.type === 'word' && /^\d+$/.test(first.value)) {
    limit = Number(first.value);
    a.i++;
  }
  const option = a.options(['limit']).get('limit');
  if (option) limit = Number(option.value);
  const keys: { name: string; desc: boolean; how?: string }[] = [];
  let reverse = false;
  while (!a.done()) {
    const token = a.next('a field');
    if (token.type === 'comma') continue;
    let word = token.value;
    if ((word === 'desc' || word === 'd') && a.done() && keys.length > 0) {
      reverse = true;
      break;
    }
    let desc = false;
    if (word === '-' || word === '+') {
      desc = word === '-';
      word = a.name();
    } else if (word.startsWith('-') || word.startsWith('+')) {
      desc = word.startsWith('-');
      word = word.slice(1);
    }
    let how: string | undefined;
    if (['num', 'str', 'ip', 'auto'].includes(word.toLowerCase()) && a.peek()?.type === 'lparen') {
      how = word.toLowerCase();
      a.i++;
      word = a.name();
      a.next('")"');
    }
    keys.push({ name: word, desc, how });
  }
  if (keys.length === 0) t.fail(command.at, 'sort: a field expected');
  const order = keys.map((k) => {
    const f = t.field(rel, k.name);
    const desc = k.desc !== reverse;
    const dir = raw(desc ? 'DESC NULLS LAST' : 'ASC NULLS LAST');
    // Numbers before texts, each in its own order (Splunk's auto sort).
    if (k.how === 'str') return sql`${asText(f)} ${dir}`;
    return sql`${asNumber(f)} ${dir}, ${asText(f)} ${dir}`;
  });
  const { columns, fields: out } = t.select(rel, new Map());
  const ranked = t.step(
    sql`SELECT ${join(columns.slice(0, -2))}, row_number() OVER (ORDER BY ${join(order)}, __seq, __tie) AS __seq, 0 AS __tie FROM ${ident(rel.name)}`,
    out,
  );
  if (limit === 0) return ranked;
  return t.step(sql`SELECT * FROM ${ident(ranked.name)} WHERE __seq <= ${limit}`, out);
};

const headOrTail =
  (tail: boolean): Translator =>
  (t, rel, command) => {
    const a = new Args(t, command);
    const options = a.options(['limit']);
    let n = 10;
    const count = options.get('limit') ?? (a.done() ? undefined : a.next('a count'));
    if (count) {
      if (!/^\d+$/.test(count.value)) t.fail(count.at, `${command.name}: a count expected, not "${count.value}"`);
      n = Number(count.value);
    }
    a.end();
    const { columns, fields: out } = t.select(rel, new Map());
    const direction = raw(tail ? 'DESC' : 'ASC');
    // tail gives the last rows, last first (as Splunk).
    const ranked = t.step(
      sql`SELECT ${join(columns.slice(0, -2))}, row_number() OVER (ORDER BY __seq ${direction}, __tie ${direction}) AS __seq, 0 AS __tie FROM ${ident(rel.name)}`,
      out,
    );
    return t.step(sql`SELECT * FROM ${ident(ranked.name)} WHERE __seq <= ${n}`, out);
  };

/** dedup [N] fields [keepempty=bool] [consecutive=…]: the first row of each combination; rows without a field dropped. */
const dedup: Translator = (t, rel, command) => {
  const a = new Args(t, command);
  let keep = 1;
  const first = a.peek();
  if (first?.type === 'word' && /^\d+$/.test(first.value)) {
    keep = Number(first.value);
    a.i++;
  }
  const names = a.fieldList(['keepempty', 'sortby']);
  const options = a.options(['keepempty']);
  a.end();
  if (names.length === 0) t.fail(command.at, 'dedup: field names expected');
  const keys = names.map((n) => t.field(rel, n));
  const keepEmpty = options.get('keepempty')?.value.toLowerCase() === 'true';
  const present = keys.map((k) => sql`${k.kind === 'null' ? raw('NULL') : asText(k)} IS NOT NULL`);
  const { columns, fields: out } = t.select(rel, new Map());
  const ranked = t.step(
    sql`SELECT ${join(columns)}, row_number() OVER (PARTITION BY ${join(keys.map((k) => (k.kind === 'null' ? raw('NULL') : asText(k))))} ORDER BY __seq, __tie) AS __n,
      ${join(present, ' AND ')} AS __all FROM ${ident(rel.name)}`,
    out,
  );
  const kept = keepEmpty ? sql`(__n <= ${keep} OR NOT __all)` : sql`(__all AND __n <= ${keep})`;
  return t.step(sql`SELECT ${join(columns)} FROM ${ident(ranked.name)} WHERE ${kept}`, out);
};

const nomv: Translator = (t, rel, command) => {
  const a = new Args(t, command);
  const name = a.name();
  a.end();
  const f = t.field(rel, name);
  if (f.kind !== 'mv') return rel;
  const { columns, fields: out } = t.select(rel, new Map([[name, { sql: sql`array_to_string(${f.sql}, ${'\n'})`, kind: 'str' as Kind }]]));
  return t.step(sql`SELECT ${join(columns)} FROM ${ident(rel.name)}`, out);
};

const SPAN_SECONDS: Record<string, number> = { s: 1, sec: 1, m: 60, min: 60, h: 3600, hr: 3600, d: 86400, day: 86400, w: 604800 };

/** bin/bucket field span=N[unit] (times) or span=N (numbers): each value to the start of its bin. */
const bin: Translator = (t, rel, command) => {
  const a = new Args(t, command);
  let options = a.options(['span', 'bins']);
  const name = a.name();
  let target = name;
  if (a.isWord('as')) {
    a.i++;
    target = a.name('a name after AS');
  }
  options = new Map([...options, ...a.options(['span', 'bins'])]);
  a.end();
  const span = options.get('span');
  if (!span) return t.fail(command.at, `${command.name}: span= is required (bins= is not supported)`);
  const m = /^(\d+(?:\.\d+)?)([a-z]*)$/i.exec(span.value);
  if (!m) return t.fail(span.at, `${command.name}: span "${span.value}" is not a number with an optional unit (1h, 10m, 1d)`);
  const unit = m[2].toLowerCase();
  const width =
    Number(m[1]) *
    (unit === '' ? 1 : (SPAN_SECONDS[unit] ?? t.fail(span.at, `${command.name}: span unit "${m[2]}" is not supported (s, m, h, d, w)`)));
  const f = t.field(rel, name);
  const value = { sql: sql`floor(${asNumber(f)} / ${width}) * ${width}`, kind: 'num' as Kind };
  const { columns, fields: out } = t.select(rel, new Map([[target, value]]));
  return t.step(sql`SELECT ${join(columns)} FROM ${ident(rel.name)}`, out);
};

/** fillnull [value=X] [fields]: NULL (or no field) becomes X (default 0). */
const fillnull: Translator = (t, rel, command) => {
  const a = new Args(t, command);
  const value = a.options(['value']).get('value')?.value ?? '0';
  const names = a.fieldList();
  const targets = names.length > 0 ? names : [...rel.fields.keys()];
  const replace = new Map<string, Typed>();
  const v = literal(value);
  for (const name of targets) {
    const f = rel.fields.has(name) ? t.field(rel, name) : ({ sql: raw('NULL'), kind: 'null' } as Typed);
    if (f.kind === 'mv') replace.set(name, { sql: sql`coalesce(${f.sql}, [${asText(v)}])`, kind: 'mv' });
    else if (f.kind === 'num' && v.kind === 'num') replace.set(name, { sql: sql`coalesce(${f.sql}, ${v.sql})`, kind: 'num' });
    else replace.set(name, { sql: sql`coalesce(${asText(f)}, ${asText(v)})`, kind: 'str' });
  }
  const { columns, fields: out } = t.select(rel, replace);
  return t.step(sql`SELECT ${join(columns)} FROM ${ident(rel.name)}`, out);
};

/** join [type=inner|left|outer] [max=N] [overwrite=bool] fields [subsearch]: rows matched on the fields' values. */
const joinCommand: Translator = (t, rel, command) => {
  const a = new Args(t, command);
  const options = a.options(['type', 'max', 'overwrite', 'usetime', 'earlier']);
  const keys = a.fieldList(['type', 'max', 'overwrite']);
  const more = a.options(['type', 'max', 'overwrite']);
  for (const [k, v] of more) options.set(k, v);
  a.end();
  if (keys.length === 0) t.fail(command.at, 'join: the fields to join on are required (join on all common fields is not supported)');
  if (command.subsearches.length !== 1) t.fail(command.at, 'join: one subsearch in [ ] expected');
  const type = (options.get('type')?.value ?? 'inner').toLowerCase();
  if (!['inner', 'left', 'outer'].includes(type)) t.fail(options.get('type')!.at, `join: type "${type}" is not inner, left or outer`);
  const max = Number(options.get('max')?.value ?? 1);
  const overwrite = (options.get('overwrite')?.value ?? 'true').toLowerCase() !== 'false';
  const sub = pipelineRel(t, command.subsearches[0]);
  // Each key's first max rows of the subsearch (max=0: all of them).
  const subKeys = keys.map((k) => asText(t.field(sub, k)));
  const ranked = t.step(
    sql`SELECT *, row_number() OVER (PARTITION BY ${join(subKeys)} ORDER BY __seq, __tie) AS __n FROM ${ident(sub.name)}`,
    sub.fields,
  );
  const on = keys.map((k) => sql`${asText(t.field(rel, k, 'm'))} = ${asText(t.field(sub, k, 's'))}`);
  const columns: Sql[] = [];
  const out: Fields = new Map();
  for (const [name, kind] of rel.fields) {
    const subKind = sub.fields.get(name);
    if (subKind === undefined || keys.includes(name) || !overwrite) {
      columns.push(sql`m.${ident(name)} AS ${ident(name)}`);
      out.set(name, kind);
    } else {
      const both = subKind === kind ? kind : common([subKind, kind, 'str']);
      const mine = { sql: sql`m.${ident(name)}`, kind };
      const theirs = { sql: sql`s.${ident(name)}`, kind: subKind };
      columns.push(sql`(CASE WHEN s.__n IS NOT NULL THEN ${as(theirs, both)} ELSE ${as(mine, both)} END) AS ${ident(name)}`);
      out.set(name, both);
    }
  }
  for (const [name, kind] of sub.fields) {
    if (out.has(name)) continue;
    columns.push(sql`s.${ident(name)} AS ${ident(name)}`);
    out.set(name, kind);
  }
  const how = raw(type === 'inner' ? 'JOIN' : 'LEFT JOIN');
  const limit = max > 0 ? sql` AND s.__n <= ${max}` : raw('');
  return t.step(
    sql`SELECT ${join([...columns, raw('m.__seq AS __seq'), raw('row_number() OVER (ORDER BY m.__seq, m.__tie, s.__seq, s.__tie) AS __tie')])}
      FROM ${ident(rel.name)} m ${how} ${ident(ranked.name)} s ON ${join(on, ' AND ')}${limit}`,
    out,
  );
};

/** top/rare [N] [limit=N] field… [by field…]: the most (least) common values, count and percent. */
const topOrRare =
  (rare: boolean): Translator =>
  (t, rel, command) => {
    const a = new Args(t, command);
    let limit = 10;
    const first = a.peek();
    if (first?.type === 'word' && /^\d+$/.test(first.value)) {
      limit = Number(first.value);
      a.i++;
    }
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

const COMMANDS: Record<string, Translator> = {
  search,
  where,
  eval: evaluate,
  stats,
  eventstats,
  table,
  fields,
  rename,
  sort,
  head: headOrTail(false),
  tail: headOrTail(true),
  dedup,
  nomv,
  bin,
  bucket: bin,
  fillnull,
  join: joinCommand,
  top: topOrRare(false),
  rare: topOrRare(true),
};

/** The SPL commands huntbook runs. */
export const SUPPORTED_COMMANDS = Object.keys(COMMANDS);

function pipelineRel(t: Translate, pipeline: Pipeline): Rel {
  const [first, ...rest] = pipeline.commands;
  if (first.name !== 'search') t.fail(first.at, `a search must start with its events (search …), not "${first.name}"`);
  let rel = events(t, first);
  for (const command of rest) {
    const translator = COMMANDS[command.name];
    if (!translator) t.fail(command.at, `command "${command.name}" is not supported`);
    rel = translator(t, rel, command);
  }
  return rel;
}

/** The statement an SPL pipeline runs as (the output gives _time as a time, every value as text, a multivalue as a list). */
export function translate(text: string, pipeline: Pipeline, options: SplOptions): Translation {
  const t = new Translate(text, options);
  const rel = pipelineRel(t, pipeline);
  const out = [...rel.fields].map(([name, kind]) => {
    const column = sql`${ident(name)}`;
    if (name === '_time' && kind === 'num')
      return sql`strftime(to_timestamp(${column}) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S') AS ${ident(name)}`;
    if (kind === 'mv') return sql`${column} AS ${ident(name)}`;
    return sql`${as({ sql: column, kind }, 'str')} AS ${ident(name)}`;
  });
  const statement = sql`WITH ${join(t.steps, ',\n')}
SELECT ${out.length ? join(out) : raw('NULL AS "_empty"')} FROM ${ident(rel.name)} ORDER BY __seq, __tie`;
  const rendered = render(statement, duckdb);
  return { text: rendered.text, values: rendered.params, fields: [...rel.fields.keys()], warnings: [...t.missing].sort() };
}
