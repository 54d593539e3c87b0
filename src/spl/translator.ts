/**
 * What every command's translator shares: the relation a command reads (a CTE with its fields
 * and the hidden event order __seq, __tie), the translation state (its CTEs, the fields found
 * nowhere), eval expressions and search terms as SQL, and the arguments' cursor.
 */
import { duckdb } from '../store/dialect-duckdb.ts';
import { ident, join, raw, render, type Sql, sql } from '../store/sql-template.ts';
import type { SqlValue } from '../store/sql.ts';
import type { ArgToken, Command, Pipeline, SearchExpr, SplExpr } from './ast.ts';
import { EVAL_FUNCTIONS, SPECIAL_FUNCTIONS } from './functions.ts';
import { SplError } from './parse.ts';
import { asBool, asList, asNumber, asText, compare, type Kind, type Typed } from './values.ts';

export interface SplOptions {
  /** What earliest=-1d counts back from. */
  now: Date;
  /** Where sourcetype= and index= point (lower-case names → tables): the configuration's spl: section. */
  sourcetypes: Readonly<Record<string, string>>;
  indexes: Readonly<Record<string, string>>;
  /** The workspace's lookups (name → columns), for lookup and inputlookup. */
  lookups?: Readonly<Record<string, readonly string[]>>;
  /**
   * Rewrites that read less (a join reads only the events it can match: commands-join.ts; mvcount
   * of values() counts without the list: commands-stats.ts); on unless false, which writes every
   * command as it stands (the tests compare the two).
   */
  pushdown?: boolean;
  /** The series of each `timechart … by` (by the command's offset), read from the data first (PivotNeeded). */
  pivots?: Readonly<Record<number, Series>>;
}

/** A split field's series, ranked as timechart ranks them (highest total first), and whether some events have none. */
export interface Series {
  ranked: readonly string[];
  hasNull: boolean;
}

/**
 * A command needs values from the data before it can be written (timechart … by: its columns are
 * the split field's values): the statement that lists them. runSpl runs it and translates again.
 */
export class PivotNeeded extends Error {
  constructor(
    readonly at: number,
    readonly text: string,
    readonly values: SqlValue[],
  ) {
    super('timechart … by needs the series from the data');
  }
}

export interface Translation {
  /** The statement and its values. */
  text: string;
  values: SqlValue[];
  /** Output field names, in order. */
  fields: string[];
  /** Fields named but found nowhere (null, as in Splunk). */
  warnings: string[];
  /** Fields read from the events' JSON, and the tables and JSON columns they may be in (runSpl says which exist nowhere). */
  fromExtra: { fields: string[]; sources: [string, string][] };
}

export type Fields = Map<string, Kind>;

export interface Rel {
  name: string;
  fields: Fields;
  /** What a later stats can lean on: fields whose values tell the rows apart, and the fields the rows are in order of. */
  carry?: Carry;
}

export interface Carry {
  /** No two rows share these fields' values (stats … by them made the rows). */
  unique?: readonly string[];
  /** The rows are in the order of these fields' values (and __seq counts that order). */
  sortedBy?: readonly string[];
  /** The rows still carry their events' other fields (__extra, the table's JSON column): a field no column holds is read there. */
  extra?: boolean;
  /**
   * Fields that still hold the values of the events they came from (the search's step `base`),
   * and that no command so far has mixed: every row comes from events with its own values of
   * them. Leaving out the events with some values of these fields then leaves out exactly the
   * rows with those values, the others unchanged (stats, eventstats, dedup keep a field here only
   * when they group by it). A join leans on it to read only the events it can match.
   */
  lineage?: Lineage;
  /** Multivalue fields as stats' values() made them, with the hidden column that counts their values (mvcount reads it). */
  counts?: ReadonlyMap<string, string>;
}

export interface Lineage {
  base: Rel;
  fields: readonly string[];
}

/** A lineage narrowed to the fields `keep` allows. */
export function narrowed(lineage: Lineage | undefined, keep: (name: string) => boolean): Lineage | undefined {
  return lineage ? { base: lineage.base, fields: lineage.fields.filter(keep) } : undefined;
}

/** The commands of the subset, each its translator. */
export type Translator = (t: Translate, rel: Rel, command: Command) => Rel;

export class Translate {
  readonly steps: Sql[] = [];
  /** Each step's name and body, as in `steps`. */
  private readonly names: string[] = [];
  private readonly bodies: Sql[] = [];
  /** Where step() puts a new step (before): the end otherwise. */
  private cursor: number | undefined;
  readonly missing = new Set<string>();
  /** Fields read from the events' JSON (no column holds them). */
  readonly fromExtra = new Set<string>();
  /** The tables the events came from, with their JSON column (to look for those fields). */
  readonly sources = new Map<string, string>();
  private n = 0;
  constructor(
    readonly text: string,
    readonly options: SplOptions,
    /** A subsearch's pipeline as a relation (join, append). */
    readonly subsearch: (pipeline: Pipeline) => Rel,
  ) {}

  fail(at: number, message: string): never {
    throw new SplError(this.text, at, message);
  }

  /** A new CTE; its columns are `fields` (in order) and __seq, __tie. */
  step(body: Sql, fields: Fields, carry?: Carry): Rel {
    if (this.cursor === undefined) return this.stepAt(this.steps.length, body, fields, carry);
    return this.stepAt(this.cursor++, body, fields, carry);
  }

  /** A name for a hidden column (__count_3), unique in the statement. */
  hidden(what: string): string {
    return `__${what}_${this.n++}`;
  }

  /**
   * The rows' event order, for a window's ORDER BY: the fields they are sorted by where that is
   * known (after stats: __seq is then a row of them, which sorts several times slower: 0.85 of
   * 4.3 s in the seed's dedup), else __seq; __tie last.
   */
  eventOrder(rel: Rel): Sql {
    const by = rel.carry?.sortedBy;
    if (by && by.length > 0 && by.every((f) => rel.fields.has(f) && rel.fields.get(f) !== 'mv'))
      return sql`${join(by.map((f) => sql`${ident(f)}`))}, __tie`;
    return raw('__seq, __tie');
  }

  /** Where new steps go while `work` runs: before the step `at` (steps it makes there must not read later ones). */
  before<T>(at: Rel, work: () => T): T {
    const was = this.cursor;
    this.cursor = this.names.indexOf(at.name);
    try {
      return work();
    } finally {
      this.cursor = was;
    }
  }

  /** A new CTE placed at `at` among those made so far (before the steps that will read it). */
  stepAt(at: number, body: Sql, fields: Fields, carry?: Carry): Rel {
    const name = `s${this.n++}`;
    this.steps.splice(at, 0, sql`${ident(name)} AS (${body})`);
    this.names.splice(at, 0, name);
    this.bodies.splice(at, 0, body);
    return { name, fields, carry };
  }

  /** Only the rows of a step that meet `condition` (over its fields) go on to the steps that read it. */
  restrict(rel: Rel, condition: Sql): void {
    const i = this.names.indexOf(rel.name);
    const body = sql`SELECT * FROM (${this.bodies[i]}) WHERE ${condition}`;
    this.bodies[i] = body;
    this.steps[i] = sql`${ident(rel.name)} AS (${body})`;
  }

  /** The translation so far, to go back to (reset) when a way of writing it does not work out. */
  mark(): { steps: number; n: number; missing: string[]; fromExtra: string[]; sources: [string, string][] } {
    return { steps: this.steps.length, n: this.n, missing: [...this.missing], fromExtra: [...this.fromExtra], sources: [...this.sources] };
  }

  reset(mark: ReturnType<Translate['mark']>): void {
    for (const list of [this.steps, this.names, this.bodies]) list.length = mark.steps;
    this.n = mark.n;
    for (const [set, was] of [
      [this.missing, mark.missing],
      [this.fromExtra, mark.fromExtra],
    ] as const) {
      set.clear();
      for (const v of was) set.add(v);
    }
    this.sources.clear();
    for (const [k, v] of mark.sources) this.sources.set(k, v);
  }

  /** A query over the CTEs made so far, as text and values (to ask the data something mid-translation). */
  query(select: Sql): { text: string; values: SqlValue[] } {
    const rendered = render(sql`WITH ${join(this.steps, ',\n')} ${select}`, duckdb);
    return { text: rendered.text, values: rendered.params };
  }

  /**
   * A field of a relation: its column; else, while the rows still carry their events' other
   * fields, that key of the event's JSON (Zeek's history, a Sysmon field …); else NULL, said once.
   */
  field(rel: Rel, name: string, prefix = ''): Typed {
    const kind = rel.fields.get(name);
    if (kind === undefined) {
      if (rel.carry?.extra) {
        this.fromExtra.add(name);
        const column = prefix ? sql`${raw(prefix)}.__extra` : raw('__extra');
        return { sql: sql`json_extract_string(${column}, ${`$.${JSON.stringify(name)}`})`, kind: 'str' };
      }
      this.missing.add(name);
      return { sql: raw('NULL'), kind: 'null' };
    }
    return { sql: prefix ? sql`${raw(prefix)}.${ident(name)}` : sql`${ident(name)}`, kind };
  }

  /** Every field as it is, but those in `replace` (in place) and then `add` (at the end). */
  select(rel: Rel, replace: Map<string, Typed>, drop: ReadonlySet<string> = new Set()): { columns: Sql[]; fields: Fields; carry: Carry } {
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
    // What the rows were keyed and ordered by holds while those fields stay as they were.
    const untouched = (names: readonly string[] | undefined) => (names?.every((n) => !replace.has(n) && !drop.has(n)) ? names : undefined);
    // (a field the search names like a hidden column takes its place)
    const counts = new Map(
      [...(rel.carry?.counts ?? [])].filter(([name, column]) => !replace.has(name) && !drop.has(name) && !fields.has(column)),
    );
    const carry: Carry = {
      counts: counts.size ? counts : undefined,
      unique: untouched(rel.carry?.unique),
      sortedBy: untouched(rel.carry?.sortedBy),
      extra: rel.carry?.extra,
      lineage: narrowed(rel.carry?.lineage, (n) => !replace.has(n) && !drop.has(n)),
    };
    const hidden = [...counts.values()].map((name) => sql`${ident(name)}`);
    return { columns: [...columns, ...hidden, ...(carry.extra ? [raw('__extra')] : []), raw('__seq'), raw('__tie')], fields, carry };
  }

  /** An eval expression as SQL; `bound` names values that stand for fields (mvfilter's each value). */
  expr(rel: Rel, e: SplExpr, bound: ReadonlyMap<string, Typed> = new Map()): Typed {
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
        return bound.get(e.name) ?? this.field(rel, e.name);
      case 'not':
        return { sql: sql`(NOT ${asBool(this.expr(rel, e.expr, bound))})`, kind: 'bool' };
      case 'neg':
        return { sql: sql`(- ${asNumber(this.expr(rel, e.expr, bound))})`, kind: 'num' };
      case 'like':
        return { sql: sql`(${asText(this.expr(rel, e.expr, bound))} LIKE ${asText(this.expr(rel, e.pattern, bound))})`, kind: 'bool' };
      case 'call': {
        const [only] = e.args;
        if (e.fn === 'mvcount' && e.args.length === 1 && only.kind === 'field' && !bound.has(only.name)) {
          const count = rel.carry?.counts?.get(only.name);
          if (count) return { sql: sql`(CASE WHEN ${ident(count)} > 0 THEN ${ident(count)} END)`, kind: 'num' };
        }
        const special = SPECIAL_FUNCTIONS[e.fn];
        if (special) {
          try {
            return special(e.args, (x, more) => this.expr(rel, x, new Map([...bound, ...(more ?? [])])));
          } catch (error) {
            if (error instanceof SplError) throw error;
            return this.fail(e.at, (error as Error).message);
          }
        }
        const fn = EVAL_FUNCTIONS[e.fn];
        if (!fn) this.fail(e.at, `function "${e.fn}" is not supported`);
        const [lo, hi] = fn.args;
        if (e.args.length < lo || e.args.length > hi) this.fail(e.at, `${e.fn}() takes ${arity(lo, hi)} arguments`);
        try {
          return fn.fn(e.args.map((a) => this.expr(rel, a, bound)));
        } catch (error) {
          return this.fail(e.at, (error as Error).message);
        }
      }
      case 'bin': {
        const [a, b] = [this.expr(rel, e.left, bound), this.expr(rel, e.right, bound)];
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
export const SQL_TYPE: Record<Kind, string> = { num: 'DOUBLE', mv: 'VARCHAR[]', str: 'VARCHAR', bool: 'BOOLEAN', null: 'VARCHAR' };

export const literal = (value: string): Typed =>
  /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(value)
    ? { sql: raw(String(Number(value))), kind: 'num' }
    : { sql: sql`${value}`, kind: 'str' };

export const present = (f: Typed): Sql => {
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

/** Arguments as a cursor: words, options (name=value), field lists. */
export class Args {
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
  /** A count written first (sort 100 …, dedup 2 …, top 5 …), or `fallback`. */
  leadingCount(fallback: number): number {
    const first = this.peek();
    if (first?.type !== 'word' || !/^\d+$/.test(first.value)) return fallback;
    this.i++;
    return Number(first.value);
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

export const wildcard = (pattern: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );

/** A span (10, 30s, 1h, 1d) in seconds. */
export function spanSeconds(t: Translate, text: string, at: number, name: string): number {
  const m = /^(\d+(?:\.\d+)?)([a-z]*)$/i.exec(text);
  if (!m) return t.fail(at, `${name}: span "${text}" is not a number with an optional unit (1h, 10m, 1d)`);
  const unit = m[2].toLowerCase();
  if (unit === '') return Number(m[1]);
  const seconds = SPAN_SECONDS[unit];
  if (seconds === undefined) return t.fail(at, `${name}: span unit "${m[2]}" is not supported (s, m, h, d, w)`);
  return Number(m[1]) * seconds;
}

const SPAN_SECONDS: Record<string, number> = {
  s: 1,
  sec: 1,
  secs: 1,
  m: 60,
  min: 60,
  mins: 60,
  h: 3600,
  hr: 3600,
  hrs: 3600,
  d: 86400,
  day: 86400,
  days: 86400,
  w: 604800,
};
