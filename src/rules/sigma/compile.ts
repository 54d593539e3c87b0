/**
 * Sigma detections compiled to one SQL boolean per rule. Every value from a rule is a bound
 * parameter; field names only ever become JSON paths through the caller's `field` resolver.
 * Matching is case-insensitive unless |cased (or |re, which Sigma leaves case-sensitive).
 */
import type { SqlValue } from '../../store/sql.ts';
import { parseCidr } from '../../net/network.ts';
import { HuntbookError } from '../../errors.ts';
import type { Dialect } from '../../store/dialect.ts';
import { expandPattern, parseCondition, type ConditionNode } from './condition.ts';
import { base64, base64Offsets, encodeForModifiers, windashVariants } from './values.ts';

/** What a rule uses that huntbook does not support: the rule is skipped with this reason, the rest run. */
export class UnsupportedError extends HuntbookError {
  constructor(
    readonly reason: string,
    detail?: string,
  ) {
    super(detail ? `${reason}: ${detail}` : reason);
  }
}

export interface CompileContext {
  /** SQL text of a field's value (VARCHAR) for the rule's log source. */
  field: (name: string) => string;
  /** The same value lower-cased once per event, where the engine keeps it (else lower(field) per use). */
  lowered?: (name: string) => string;
  /** SQL text searched by keyword (field-less) detections. */
  fullText: () => string;
  loweredText?: () => string;
  bind: (value: SqlValue) => string;
  /** Values for |expand placeholders (%name%); an unknown placeholder matches nothing. */
  placeholders?: Record<string, string[]>;
  /** Told of every |re pattern, so the engine can check each compiles before a scan depends on it. */
  regex?: (pattern: string) => void;
}

const KNOWN_MODIFIERS = new Set([
  'contains',
  'startswith',
  'endswith',
  'all',
  're',
  'i',
  'm',
  's',
  'cidr',
  'base64',
  'base64offset',
  'windash',
  'utf16',
  'utf16le',
  'utf16be',
  'wide',
  'exists',
  'cased',
  'neq',
  'lt',
  'lte',
  'gt',
  'gte',
  'fieldref',
  'expand',
]);

type Scalar = string | number | boolean | null;

/** Sigma wildcards → a LIKE pattern: * → %, ? → _, \* \? \\ are literal; % _ and our escape char are escaped. */
export function sigmaToLike(value: string, prefix = '', suffix = ''): { pattern: string; wildcard: boolean } {
  let out = '';
  let wildcard = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '\\' && (value[i + 1] === '*' || value[i + 1] === '?' || value[i + 1] === '\\')) {
      out += escapeLike(value[i + 1]);
      i++;
    } else if (ch === '*') {
      out += '%';
      wildcard = true;
    } else if (ch === '?') {
      out += '_';
      wildcard = true;
    } else out += escapeLike(ch);
  }
  return { pattern: `${prefix}${out}${suffix}`, wildcard: wildcard || prefix !== '' || suffix !== '' };
}

function escapeLike(ch: string): string {
  return ch === '%' || ch === '_' || ch === '!' ? `!${ch}` : ch;
}

function unescapePlain(value: string): string {
  return value.replace(/\\([*?\\])/g, '$1');
}

interface FieldSpec {
  field: string | null;
  modifiers: string[];
}

function parseKey(key: string): FieldSpec {
  const [field, ...modifiers] = key.split('|');
  for (const m of modifiers) if (!KNOWN_MODIFIERS.has(m)) throw new UnsupportedError('unknown modifier', `|${m}`);
  return { field: field === '' ? null : field, modifiers };
}

function ipv4Range(cidr: string): [number, number] | undefined {
  const c = parseCidr(cidr);
  if (c.v6) return undefined;
  const size = 2 ** (32 - c.prefix);
  return [Number(c.bits), Number(c.bits) + size - 1];
}

function cidrSql(expr: string, cidr: string, ctx: CompileContext): string {
  const v4 = ipv4Range(cidr);
  if (v4) {
    const parts = [1, 2, 3, 4].map((i) => `TRY_CAST(split_part(${expr}, '.', ${i}) AS BIGINT)`);
    const number = `(${parts[0]} * 16777216 + ${parts[1]} * 65536 + ${parts[2]} * 256 + ${parts[3]})`;
    return `(regexp_full_match(${expr}, '\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}') AND ${number} BETWEEN ${ctx.bind(v4[0])} AND ${ctx.bind(v4[1])})`;
  }
  const c = parseCidr(cidr);
  if (c.prefix === 128) return `lower(${expr}) = ${ctx.bind(cidr.split('/')[0].toLowerCase())}`;
  if (c.prefix <= 16) {
    // Compare the first 16-bit group: enough for the ranges rules use (fe80::/10, fc00::/7, ff00::/8).
    const first = Number(c.bits >> 112n);
    const shift = 16 - c.prefix;
    return `(contains(${expr}, ':') AND (TRY_CAST(('0x' || split_part(${expr}, ':', 1)) AS INTEGER) >> ${shift}) = ${ctx.bind(first >> shift)})`;
  }
  throw new UnsupportedError('IPv6 |cidr longer than /16 (other than /128)', cidr);
}

/**
 * What a test does, as data: the engine runs small batches' tests from a table of these (one
 * statement for all rules, nothing to plan per rule), big batches' as the compiled SQL.
 * `value` is what the field is compared with, already folded as the test reads it.
 */
export interface AtomData {
  op: '=' | 'contains' | 'starts_with' | 'ends_with' | 'like' | 'null' | 'notnull' | 're' | 'lt' | 'lte' | 'gt' | 'gte';
  /** null: the event's whole text. */
  field: string | null;
  /** Compared as written (|cased, |re, numbers, null tests), else lower-cased. */
  cased: boolean;
  value: string | null;
  num: number | null;
}

/**
 * Every test a Sigma rule makes, as data: the compiler's intermediate form. The engine's SQL is
 * rendered from it through a dialect's operator table (SIGMA_OPERATORS), as pySigma's backends
 * render one rule tree for many query languages; the data path runs the plain string tests
 * (AtomData) straight from a table of them.
 */
export type SigmaTest =
  | AtomData
  | { op: 'cidr'; field: string | null; network: string }
  | { op: 'fieldref'; field: string | null; other: string; match: '=' | 'contains' | 'starts_with' | 'ends_with'; cased: boolean }
  /** |expand of a placeholder nobody configured: matches nothing. */
  | { op: 'false'; field: string | null };

/** One test of a field: the test as data, its SQL for the engine, and the data path's form where it has one. */
export interface Atom {
  test: SigmaTest;
  sql: string;
  /** The test as the data path runs it (not |cidr, |fieldref, an unconfigured |expand). */
  data?: AtomData;
  /** A plain string test, which a list of values of the same test renders as one expression. */
  simple?: Simple;
  /** The same for ClickHouse: many values of one test become one IN or one regular expression. */
  listed?: Listed;
}

/** A ClickHouse string test of one value, kept apart so a rule's list of them renders as one test. */
interface Listed {
  op: '=' | 'contains' | 'starts_with' | 'ends_with';
  target: string;
  value: string;
  bind: (value: SqlValue) => string;
}

/** A value as a regular expression matching itself (RE2's metacharacters escaped). */
const reQuote = (text: string) => text.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');

/**
 * A list of one ClickHouse test's values as one expression: 18.16 has no multiSearchAny, and
 * plans a thousand-term OR (a Sigma rule of hashes) in tens of seconds; one IN or one RE2
 * alternation is planned at once and runs as one automaton.
 */
function renderListed(group: Listed[]): string {
  const { op, target, bind } = group[0];
  if (op === '=') return `${target} IN (${group.map((x) => bind(x.value)).join(', ')})`;
  const alternatives = `(?:${group.map((x) => reQuote(x.value)).join('|')})`;
  const pattern = { contains: alternatives, starts_with: `^${alternatives}`, ends_with: `${alternatives}$` }[op];
  return `match(${target}, ${bind(pattern)})`;
}

/**
 * ClickHouse's OR of tests, in their order: the values of one test of one field, from LIST_FROM
 * on, as one test where the first of them stood; a short list as its tests, parenthesised (it
 * may sit inside an AND).
 */
function renderAnyListed(items: Atom[]): string {
  const parts: (Atom | Atom[])[] = [];
  const groups = new Map<string, Atom[]>();
  for (const item of items) {
    if (!item.listed) {
      parts.push(item);
      continue;
    }
    const key = `${item.listed.op}\u0000${item.listed.target}`;
    const group = groups.get(key);
    if (group) group.push(item);
    else {
      groups.set(key, [item]);
      parts.push(groups.get(key)!);
    }
  }
  const texts = parts.map((part) => {
    if (!Array.isArray(part)) return part.sql;
    if (part.length >= LIST_FROM) return renderListed(part.map((a) => a.listed!));
    return part.length === 1 ? part[0].sql : `(${part.map((a) => a.sql).join(' OR ')})`;
  });
  return texts.length === 1 ? texts[0] : `(${texts.join(' OR ')})`;
}

/**
 * A detection's shape above its tests: `any` is an OR of tests (rendered with lists grouped),
 * `not` is Sigma's not (a missing field counts as not matched), and/or are parenthesised.
 */
export type Cond = { type: 'any'; atoms: Atom[] } | { type: 'and' | 'or'; items: Cond[] } | { type: 'not'; item: Cond };

const DATA_OPS: ReadonlySet<string> = new Set([
  '=',
  'contains',
  'starts_with',
  'ends_with',
  'like',
  'null',
  'notnull',
  're',
  'lt',
  'lte',
  'gt',
  'gte',
]);

/** What an operator renders with: the field as written and lower-cased, the context's binds and fields. */
interface Operand {
  expr: string;
  lowered: string;
  ctx: CompileContext;
}

/** One dialect's SQL for each test: a plain string test gives its Simple (grouped into lists), the others their text. */
type TestOf<Op> = Op extends AtomData['op'] ? AtomData : Extract<SigmaTest, { op: Op }>;
type OperatorTable = { [Op in SigmaTest['op']]: (test: TestOf<Op>, o: Operand) => string | Simple };

const COMPARE = { lt: '<', lte: '<=', gt: '>', gte: '>=' } as const;

const plain = (t: AtomData, o: Operand, op: Simple['op']): Simple => ({
  op,
  target: t.cased ? o.expr : o.lowered,
  value: o.ctx.bind(t.value),
});

/** DuckDB: the workspace's engine. */
const DUCKDB_OPERATORS: OperatorTable = {
  null: (_t, o) => `${o.expr} IS NULL`,
  notnull: (_t, o) => `${o.expr} IS NOT NULL`,
  '=': (t, o) => plain(t, o, '='),
  contains: (t, o) => plain(t, o, 'contains'),
  starts_with: (t, o) => plain(t, o, 'starts_with'),
  ends_with: (t, o) => plain(t, o, 'ends_with'),
  like: (t, o) => plain(t, o, 'LIKE'),
  re: (t, o) => `regexp_matches(${o.expr}, ${o.ctx.bind(t.value)})`,
  lt: (t, o) => `TRY_CAST(${o.expr} AS DOUBLE) ${COMPARE.lt} ${o.ctx.bind(t.num)}`,
  lte: (t, o) => `TRY_CAST(${o.expr} AS DOUBLE) ${COMPARE.lte} ${o.ctx.bind(t.num)}`,
  gt: (t, o) => `TRY_CAST(${o.expr} AS DOUBLE) ${COMPARE.gt} ${o.ctx.bind(t.num)}`,
  gte: (t, o) => `TRY_CAST(${o.expr} AS DOUBLE) ${COMPARE.gte} ${o.ctx.bind(t.num)}`,
  cidr: (t, o) => cidrSql(o.expr, t.network, o.ctx),
  fieldref: (t, o) => {
    const other = o.ctx.field(t.other);
    if (t.match !== '=') return `${t.match}(lower(${o.expr}), lower(${other}))`;
    return t.cased ? `${o.expr} = ${other}` : `lower(${o.expr}) = lower(${other})`;
  },
  false: () => 'false',
};

/** A LIKE pattern with '!' as its escape (sigmaToLike) as ClickHouse reads one: backslash escapes, no ESCAPE clause. */
export function likeForClickHouse(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '!' && i + 1 < pattern.length) {
      const next = pattern[++i];
      out += next === '!' ? '!' : `\\${next}`;
    } else out += ch === '\\' ? '\\\\' : ch;
  }
  return out;
}

/** ClickHouse (18.16 and later): plain functions; numbers as 0/1 where DuckDB has booleans. */
const CLICKHOUSE_OPERATORS: OperatorTable = {
  null: (_t, o) => `${o.expr} IS NULL`,
  notnull: (_t, o) => `${o.expr} IS NOT NULL`,
  '=': (t, o) => `${t.cased ? o.expr : o.lowered} = ${o.ctx.bind(t.value)}`,
  contains: (t, o) => `position(${t.cased ? o.expr : o.lowered}, ${o.ctx.bind(t.value)}) > 0`,
  starts_with: (t, o) => `startsWith(${t.cased ? o.expr : o.lowered}, ${o.ctx.bind(t.value)})`,
  ends_with: (t, o) => `endsWith(${t.cased ? o.expr : o.lowered}, ${o.ctx.bind(t.value)})`,
  like: (t, o) => `like(${t.cased ? o.expr : o.lowered}, ${o.ctx.bind(likeForClickHouse(t.value ?? ''))})`,
  // Flags as a group, (?i:…): 18.16 reads a leading (?i) as text when it looks for the pattern's literal part.
  re: (t, o) => `match(${o.expr}, ${o.ctx.bind((t.value ?? '').replace(/^\(\?([a-z]+)\)([\s\S]*)$/, '(?$1:$2)'))})`,
  lt: (t, o) => `toFloat64OrNull(${o.expr}) ${COMPARE.lt} ${o.ctx.bind(t.num)}`,
  lte: (t, o) => `toFloat64OrNull(${o.expr}) ${COMPARE.lte} ${o.ctx.bind(t.num)}`,
  gt: (t, o) => `toFloat64OrNull(${o.expr}) ${COMPARE.gt} ${o.ctx.bind(t.num)}`,
  gte: (t, o) => `toFloat64OrNull(${o.expr}) ${COMPARE.gte} ${o.ctx.bind(t.num)}`,
  cidr: (t, o) => {
    const v4 = ipv4Range(t.network);
    if (!v4) {
      // As DuckDB reads it (cidrSql): /128 an exact address, up to /16 the first group's leading bits.
      const c = parseCidr(t.network);
      if (c.prefix === 128) return `lowerUTF8(${o.expr}) = ${o.ctx.bind(t.network.split('/')[0].toLowerCase())}`;
      if (c.prefix > 16) throw new UnsupportedError('IPv6 |cidr longer than /16 (other than /128)', t.network);
      const shift = 16 - c.prefix;
      // The first group's hex read by hand (no parser that throws on odd text, on any server).
      const group = `splitByChar(':', ifNull(${o.expr}, ''))[1]`;
      const value = `reinterpretAsUInt16(reverse(unhex(concat(substring('0000', 1, 4 - length(${group})), ${group}))))`;
      return `(position(${o.expr}, ':') > 0 AND if(match(${group}, '^[0-9a-fA-F]{1,4}$'), bitShiftRight(${value}, ${shift}) = ${o.ctx.bind(Number(c.bits >> 112n) >> shift)}, NULL))`;
    }
    const dotted = o.ctx.bind('^\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}$');
    // Only a dotted quad reaches the parser: newer servers throw on other text, even behind AND or if().
    return `(match(${o.expr}, ${dotted}) AND IPv4StringToNum(if(match(${o.expr}, ${dotted}), ${o.expr}, '0.0.0.0')) BETWEEN ${o.ctx.bind(v4[0])} AND ${o.ctx.bind(v4[1])})`;
  },
  fieldref: (t, o) => {
    const other = o.ctx.field(t.other);
    const fn = { contains: 'position', starts_with: 'startsWith', ends_with: 'endsWith' } as const;
    if (t.match === 'contains') return `position(lowerUTF8(${o.expr}), lowerUTF8(${other})) > 0`;
    if (t.match !== '=') return `${fn[t.match]}(lowerUTF8(${o.expr}), lowerUTF8(${other}))`;
    return t.cased ? `${o.expr} = ${other}` : `lowerUTF8(${o.expr}) = lowerUTF8(${other})`;
  },
  false: () => '0',
};

/** The operator table of each dialect a rule renders for. */
export const SIGMA_OPERATORS: Partial<Record<Dialect['name'], OperatorTable>> = {
  duckdb: DUCKDB_OPERATORS,
  clickhouse: CLICKHOUSE_OPERATORS,
};

/** A test as an atom: rendered through the dialect's table, with its data form where the data path runs it. */
export function renderTest(test: SigmaTest, o: Operand, dialect: Dialect['name'] = 'duckdb'): Atom {
  const table = SIGMA_OPERATORS[dialect];
  if (!table) throw new UnsupportedError(`Sigma rules have no ${dialect} rendering yet`);
  const render = () => (table[test.op] as (t: SigmaTest, o: Operand) => string | Simple)(test, o);
  if (dialect === 'clickhouse' && LISTED_OPS.has(test.op) && (test as AtomData).value != null) {
    // Its SQL is written (and its value bound) only if it is not part of a list rendered as one test.
    const data = test as AtomData;
    const listed: Listed = { op: data.op as Listed['op'], target: data.cased ? o.expr : o.lowered, value: data.value!, bind: o.ctx.bind };
    let sql: string | undefined;
    return {
      test,
      data,
      listed,
      get sql() {
        sql ??= render() as string;
        return sql;
      },
    };
  }
  const rendered = render();
  const data = DATA_OPS.has(test.op) ? (test as AtomData) : undefined;

  if (typeof rendered === 'string') return data ? { test, sql: rendered, data } : { test, sql: rendered };
  return { test, sql: renderOne(rendered), simple: rendered, ...(data ? { data } : {}) };
}

/** The tests one value of a field makes (several for encodings, |windash, |expand). */
function matchOne(field: string | null, raw: Scalar, modifiers: string[], ctx: CompileContext): SigmaTest[] {
  const has = (m: string) => modifiers.includes(m);
  const data = (op: AtomData['op'], value: string | null = null, num: number | null = null, cased = true): AtomData => ({
    op,
    field,
    cased,
    value,
    num,
  });
  if (raw === null) return [data('null')];
  if (has('exists')) {
    const wanted = raw === true || String(raw).toLowerCase() === 'true';
    return [data(wanted ? 'notnull' : 'null')];
  }
  if (has('fieldref')) {
    const modifier = (['startswith', 'endswith', 'contains'] as const).find(has);
    const match = modifier ? ({ startswith: 'starts_with', endswith: 'ends_with', contains: 'contains' } as const)[modifier] : '=';
    return [{ op: 'fieldref', field, other: String(raw), match, cased: has('cased') }];
  }
  for (const op of ['lt', 'lte', 'gt', 'gte'] as const) {
    if (has(op)) {
      if (typeof raw !== 'number' && Number.isNaN(Number(raw))) throw new UnsupportedError(`|${op} needs a number`, String(raw));
      return [data(op, null, Number(raw))];
    }
  }
  if (has('cidr')) {
    cidrSql('x', String(raw), { ...ctx, bind: () => '' }); // refuses what cannot be rendered, at compile time
    return [{ op: 'cidr', field, network: String(raw) }];
  }
  if (has('re')) {
    const flags = ['i', 'm', 's'].filter((f) => has(f)).join('');
    const pattern = `${flags ? `(?${flags})` : ''}${String(raw)}`;
    ctx.regex?.(pattern);
    return [data('re', pattern)];
  }
  const text = String(raw);
  if (has('expand')) {
    const placeholders = [...text.matchAll(/%([A-Za-z0-9_]+)%/g)].map((m) => m[1]);
    const values = ctx.placeholders ?? {};
    if (placeholders.some((p) => !values[p])) return [{ op: 'false', field }]; // unknown placeholder: matches nothing unless configured
    let variants = [text];
    for (const p of placeholders) variants = variants.flatMap((v) => values[p].map((value) => v.replaceAll(`%${p}%`, value)));
    const rest = modifiers.filter((m) => m !== 'expand');
    return variants.flatMap((v) => matchOne(field, v, rest, ctx));
  }
  // Encodings produce literal strings to look for (no wildcards inside).
  const encodings = modifiers.filter((m) => ['base64', 'base64offset', 'utf16', 'utf16le', 'utf16be', 'wide'].includes(m));
  let needles: string[] | undefined;
  if (encodings.length > 0) {
    const plainText = unescapePlain(text);
    const wide = encodeForModifiers(plainText, has);
    if (has('base64offset')) needles = base64Offsets(wide);
    else if (has('base64')) needles = [base64(wide)];
    else needles = [wide.toString('latin1')];
  }
  const variants = needles ?? (has('windash') ? windashVariants(text) : [text]);
  const cased = has('cased');
  const fold = (v: string) => (cased ? v : v.toLowerCase());
  return variants.map((variant): AtomData => {
    const literal = needles !== undefined;
    const value = literal ? variant.replace(/([*?\\])/g, '\\$1') : variant;
    // Without wildcards inside the value, a plain string function: far cheaper than a LIKE matcher.
    if (!sigmaToLike(value).wildcard) {
      const modifier = (['contains', 'startswith', 'endswith'] as const).find(has);
      const op =
        modifier === undefined ? '=' : ({ contains: 'contains', startswith: 'starts_with', endswith: 'ends_with' } as const)[modifier];
      return data(op, fold(unescapePlain(value)), null, cased);
    }
    const { pattern } = sigmaToLike(value, has('contains') || has('endswith') ? '%' : '', has('contains') || has('startswith') ? '%' : '');
    return data('like', fold(pattern), null, cased);
  });
}

/** One string test of a field against one value: grouped with its like when a rule lists many values. */
interface Simple {
  op: '=' | 'contains' | 'starts_with' | 'ends_with' | 'LIKE';
  target: string;
  value: string;
}

/** Values of one test from which on a list is one expression, not one per value: DuckDB plans each expression, and rules list dozens. */
const LIST_FROM = 3;

function renderOne({ op, target, value }: Simple): string {
  if (op === '=') return `${target} = ${value}`;
  return op === 'LIKE' ? `${target} LIKE ${value} ESCAPE '!'` : `${op}(${target}, ${value})`;
}

const LISTED_OPS = new Set(['=', 'contains', 'starts_with', 'ends_with']);

/** OR of the tests, in their order; many values of the same test and field become one list test. */
function renderAny(items: Atom[]): string {
  if (items.some((item) => item.listed)) return renderAnyListed(items);
  const groups = new Map<string, Atom[]>();
  items.forEach((item, i) => {
    const key = item.simple === undefined ? `#${i}` : `${item.simple.op}\u0000${item.simple.target}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(item);
  });
  const parts = [...groups.values()].flatMap((group): string[] => {
    if (group[0].simple === undefined || group.length < LIST_FROM) return group.map((a) => a.sql);
    const simples = group.map((a) => a.simple!);
    const { op, target } = simples[0];
    const values = simples.map((x) => x.value).join(', ');
    if (op === '=') return [`${target} IN (${values})`];
    const test = op === 'LIKE' ? `${target} LIKE hb_v ESCAPE '!'` : `${op}(${target}, hb_v)`;
    return [`list_bool_or(list_transform([${values}], hb_v -> ${test}))`];
  });
  return parts.length === 1 ? parts[0] : `(${parts.join(' OR ')})`;
}

/** The SQL of a detection's shape: a missing field gives NULL, which AND, OR and WHERE read as false; only a negation must be told (coalesce). */
export function renderCond(cond: Cond, dialect: Dialect['name'] = 'duckdb'): string {
  const r = (c: Cond) => renderCond(c, dialect);
  switch (cond.type) {
    case 'any':
      return renderAny(cond.atoms);
    case 'not':
      // 18.16 has no false literal: 0 is ClickHouse's
      return `NOT coalesce(${r(cond.item)}, ${dialect === 'duckdb' ? 'false' : '0'})`;
    case 'and':
      return `(${cond.items.map(r).join(' AND ')})`;
    case 'or':
      return `(${cond.items.map(r).join(' OR ')})`;
  }
}

function compileFieldItem(spec: FieldSpec, values: unknown, ctx: CompileContext, dialect: Dialect['name']): Cond {
  const list = Array.isArray(values) ? values : [values];
  if (list.length === 0) throw new UnsupportedError('empty value list');
  for (const v of list) {
    if (v !== null && typeof v === 'object') throw new UnsupportedError('nested value', JSON.stringify(v).slice(0, 60));
  }
  const negate = spec.modifiers.includes('neq');
  const mods = spec.modifiers.filter((m) => m !== 'neq' && m !== 'all');
  const expr = spec.field === null ? ctx.fullText() : ctx.field(spec.field);
  // ClickHouse's lower() is ASCII only; values are folded as Unicode (toLowerCase), as DuckDB's lower() does.
  let lowered = dialect === 'duckdb' ? `lower(${expr})` : `lowerUTF8(${expr})`;
  if (spec.field !== null && ctx.lowered) lowered = ctx.lowered(spec.field);
  else if (spec.field === null && ctx.loweredText) lowered = ctx.loweredText();
  const operand: Operand = { expr, lowered, ctx };
  const results = (list as Scalar[]).map((v) =>
    matchOne(spec.field, v, spec.field === null ? [...mods, 'contains'] : mods, ctx).map((test) => renderTest(test, operand, dialect)),
  );
  const joined: Cond =
    spec.modifiers.includes('all') && results.length > 1
      ? { type: 'and', items: results.map((r): Cond => ({ type: 'any', atoms: r })) }
      : { type: 'any', atoms: results.flat() };
  // A missing field gives NULL, which AND and OR treat as false would be; only a negation must
  // see it as false, so that "not" of a filter keeps events without the field (see `not` below).
  return negate ? { type: 'not', item: joined } : joined;
}

/** One search identifier: a map (AND of fields), a list of maps (OR), or a list of keywords. */
function compileSearch(name: string, search: unknown, ctx: CompileContext, dialect: Dialect['name']): Cond {
  if (search === null || search === undefined) throw new UnsupportedError('empty search identifier', name);
  if (Array.isArray(search)) {
    if (search.length === 0) throw new UnsupportedError('empty search identifier', name);
    if (search.every((s) => s !== null && typeof s === 'object' && !Array.isArray(s))) {
      return { type: 'or', items: search.map((s, i) => compileSearch(`${name}[${i}]`, s, ctx, dialect)) };
    }
    if (search.every((s) => s === null || typeof s !== 'object'))
      return compileFieldItem({ field: null, modifiers: [] }, search, ctx, dialect);
    throw new UnsupportedError('mixed list of maps and keywords', name);
  }
  if (typeof search === 'object') {
    const entries = Object.entries(search as Record<string, unknown>);
    if (entries.length === 0) throw new UnsupportedError('empty search identifier', name);
    return { type: 'and', items: entries.map(([key, values]) => compileFieldItem(parseKey(key), values, ctx, dialect)) };
  }
  return compileFieldItem({ field: null, modifiers: [] }, [search as Scalar], ctx, dialect);
}

/** A detection's shape and tests; throws UnsupportedError for what huntbook does not run. */
export function detectionCond(detection: Record<string, unknown>, ctx: CompileContext, dialect: Dialect['name'] = 'duckdb'): Cond {
  const conditions = detection.condition;
  const texts = Array.isArray(conditions) ? conditions.map(String) : [String(conditions ?? '')];
  if (texts.length === 0 || texts[0] === '' || texts[0] === 'undefined') throw new UnsupportedError('no condition');
  const names = Object.keys(detection).filter((k) => k !== 'condition' && k !== 'timeframe');
  if ('timeframe' in detection) throw new UnsupportedError('timeframe (correlation) is not supported');
  const compiled = new Map<string, Cond>();
  const search = (name: string): Cond => {
    if (!compiled.has(name)) {
      if (!(name in detection)) throw new UnsupportedError('condition names an unknown search identifier', name);
      compiled.set(name, compileSearch(name, detection[name], ctx, dialect));
    }
    return compiled.get(name)!;
  };
  const walk = (node: ConditionNode): Cond => {
    switch (node.type) {
      case 'ref':
        return search(node.name);
      case 'not':
        return { type: 'not', item: walk(node.operand) };
      case 'and':
        return { type: 'and', items: node.operands.map(walk) };
      case 'or':
        return { type: 'or', items: node.operands.map(walk) };
      case 'of': {
        const matched = expandPattern(node.pattern, names);
        if (matched.length === 0) throw new UnsupportedError('"of" pattern matches no search identifier', node.pattern);
        return { type: node.quantifier === 'all' ? 'and' : 'or', items: matched.map(search) };
      }
    }
  };
  let ast: ConditionNode[];
  try {
    ast = texts.map((text) => parseCondition(text));
  } catch (error) {
    throw new UnsupportedError('condition', (error as Error).message);
  }
  // Several conditions in a list are alternatives.
  return ast.length === 1 ? walk(ast[0]) : { type: 'or', items: ast.map(walk) };
}

export function compileDetection(detection: Record<string, unknown>, ctx: CompileContext, dialect: Dialect['name'] = 'duckdb'): string {
  return renderCond(detectionCond(detection, ctx, dialect), dialect);
}
