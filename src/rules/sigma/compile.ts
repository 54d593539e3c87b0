/**
 * Sigma detections compiled to one SQL boolean per rule. Every value from a rule is a bound
 * parameter; field names only ever become JSON paths through the caller's `field` resolver.
 * Matching is case-insensitive unless |cased (or |re, which Sigma leaves case-sensitive).
 */
import type { SqlValue } from '../../store/sql.ts';
import { parseCidr } from '../../net/network.ts';
import { HuntbookError } from '../../errors.ts';
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

/** One test of a field: its SQL, and the same test as data where it can be (not |cidr, |fieldref, |expand). */
export interface Atom {
  sql: string;
  data?: AtomData;
  /** A plain string test, which a list of values of the same test renders as one expression. */
  simple?: Simple;
}

/**
 * A detection's shape above its tests: `any` is an OR of tests (rendered with lists grouped),
 * `not` is Sigma's not (a missing field counts as not matched), and/or are parenthesised.
 */
export type Cond = { type: 'any'; atoms: Atom[] } | { type: 'and' | 'or'; items: Cond[] } | { type: 'not'; item: Cond };

function atom(sql: string, data?: AtomData): Atom {
  return data ? { sql, data } : { sql };
}

function matchOne(
  field: string | null,
  expr: string,
  lowered: string,
  raw: Scalar,
  modifiers: string[],
  ctx: CompileContext,
): Atom | Atom[] {
  const has = (m: string) => modifiers.includes(m);
  const data = (op: AtomData['op'], value: string | null = null, num: number | null = null, cased = true): AtomData => ({
    op,
    field,
    cased,
    value,
    num,
  });
  if (raw === null) return atom(`${expr} IS NULL`, data('null'));
  if (has('exists')) {
    const wanted = raw === true || String(raw).toLowerCase() === 'true';
    return wanted ? atom(`${expr} IS NOT NULL`, data('notnull')) : atom(`${expr} IS NULL`, data('null'));
  }
  if (has('fieldref')) {
    const other = ctx.field(String(raw));
    const cmp = has('cased') ? `${expr} = ${other}` : `lower(${expr}) = lower(${other})`;
    const modifier = (['startswith', 'endswith', 'contains'] as const).find(has);
    const fn = modifier && ({ startswith: 'starts_with', endswith: 'ends_with', contains: 'contains' } as const)[modifier];
    return atom(fn ? `${fn}(lower(${expr}), lower(${other}))` : cmp);
  }
  for (const op of ['lt', 'lte', 'gt', 'gte'] as const) {
    if (has(op)) {
      if (typeof raw !== 'number' && Number.isNaN(Number(raw))) throw new UnsupportedError(`|${op} needs a number`, String(raw));
      return atom(
        `TRY_CAST(${expr} AS DOUBLE) ${{ lt: '<', lte: '<=', gt: '>', gte: '>=' }[op]} ${ctx.bind(Number(raw))}`,
        data(op, null, Number(raw)),
      );
    }
  }
  if (has('cidr')) return atom(cidrSql(expr, String(raw), ctx));
  if (has('re')) {
    const flags = ['i', 'm', 's'].filter((f) => has(f)).join('');
    const pattern = `${flags ? `(?${flags})` : ''}${String(raw)}`;
    ctx.regex?.(pattern);
    return atom(`regexp_matches(${expr}, ${ctx.bind(pattern)})`, data('re', pattern));
  }
  const text = String(raw);
  if (has('expand')) {
    const placeholders = [...text.matchAll(/%([A-Za-z0-9_]+)%/g)].map((m) => m[1]);
    const values = ctx.placeholders ?? {};
    if (placeholders.some((p) => !values[p])) return atom('false'); // unknown placeholder: matches nothing unless configured
    let variants = [text];
    for (const p of placeholders) variants = variants.flatMap((v) => values[p].map((value) => v.replaceAll(`%${p}%`, value)));
    return atom(
      renderAny(
        variants.flatMap((v) =>
          [
            matchOne(
              field,
              expr,
              lowered,
              v,
              modifiers.filter((m) => m !== 'expand'),
              ctx,
            ),
          ].flat(),
        ),
      ),
    );
  }
  // Encodings produce literal strings to look for (no wildcards inside).
  const encodings = modifiers.filter((m) => ['base64', 'base64offset', 'utf16', 'utf16le', 'utf16be', 'wide'].includes(m));
  let needles: string[] | undefined;
  if (encodings.length > 0) {
    const plain = unescapePlain(text);
    const wide = encodeForModifiers(plain, has);
    if (has('base64offset')) needles = base64Offsets(wide);
    else if (has('base64')) needles = [base64(wide)];
    else needles = [wide.toString('latin1')];
  }
  const variants = needles ?? (has('windash') ? windashVariants(text) : [text]);
  const cased = has('cased');
  const target = cased ? expr : lowered;
  const fold = (v: string) => (cased ? v : v.toLowerCase());
  return variants.map((variant): Atom => {
    const literal = needles !== undefined;
    const value = literal ? variant.replace(/([*?\\])/g, '\\$1') : variant;
    // Without wildcards inside the value, a plain string function: far cheaper than a LIKE matcher.
    if (!sigmaToLike(value).wildcard) {
      const folded = fold(unescapePlain(value));
      const modifier = (['contains', 'startswith', 'endswith'] as const).find(has);
      const op =
        modifier === undefined ? '=' : ({ contains: 'contains', startswith: 'starts_with', endswith: 'ends_with' } as const)[modifier];
      const simple: Simple = { op, target, value: ctx.bind(folded) };
      return { sql: renderOne(simple), simple, data: data(op, folded, null, cased) };
    }
    const { pattern } = sigmaToLike(value, has('contains') || has('endswith') ? '%' : '', has('contains') || has('startswith') ? '%' : '');
    const simple: Simple = { op: 'LIKE', target, value: ctx.bind(fold(pattern)) };
    return { sql: renderOne(simple), simple, data: data('like', fold(pattern), null, cased) };
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

/** OR of the tests, in their order; many values of the same test and field become one list test. */
function renderAny(items: Atom[]): string {
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
export function renderCond(cond: Cond): string {
  switch (cond.type) {
    case 'any':
      return renderAny(cond.atoms);
    case 'not':
      return `NOT coalesce(${renderCond(cond.item)}, false)`;
    case 'and':
      return `(${cond.items.map(renderCond).join(' AND ')})`;
    case 'or':
      return `(${cond.items.map(renderCond).join(' OR ')})`;
  }
}

function compileFieldItem(spec: FieldSpec, values: unknown, ctx: CompileContext): Cond {
  const list = Array.isArray(values) ? values : [values];
  if (list.length === 0) throw new UnsupportedError('empty value list');
  for (const v of list) {
    if (v !== null && typeof v === 'object') throw new UnsupportedError('nested value', JSON.stringify(v).slice(0, 60));
  }
  const negate = spec.modifiers.includes('neq');
  const mods = spec.modifiers.filter((m) => m !== 'neq' && m !== 'all');
  const expr = spec.field === null ? ctx.fullText() : ctx.field(spec.field);
  let lowered = `lower(${expr})`;
  if (spec.field !== null && ctx.lowered) lowered = ctx.lowered(spec.field);
  else if (spec.field === null && ctx.loweredText) lowered = ctx.loweredText();
  const results = (list as Scalar[]).map((v) =>
    [matchOne(spec.field, expr, lowered, v, spec.field === null ? [...mods, 'contains'] : mods, ctx)].flat(),
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
function compileSearch(name: string, search: unknown, ctx: CompileContext): Cond {
  if (search === null || search === undefined) throw new UnsupportedError('empty search identifier', name);
  if (Array.isArray(search)) {
    if (search.length === 0) throw new UnsupportedError('empty search identifier', name);
    if (search.every((s) => s !== null && typeof s === 'object' && !Array.isArray(s))) {
      return { type: 'or', items: search.map((s, i) => compileSearch(`${name}[${i}]`, s, ctx)) };
    }
    if (search.every((s) => s === null || typeof s !== 'object')) return compileFieldItem({ field: null, modifiers: [] }, search, ctx);
    throw new UnsupportedError('mixed list of maps and keywords', name);
  }
  if (typeof search === 'object') {
    const entries = Object.entries(search as Record<string, unknown>);
    if (entries.length === 0) throw new UnsupportedError('empty search identifier', name);
    return { type: 'and', items: entries.map(([key, values]) => compileFieldItem(parseKey(key), values, ctx)) };
  }
  return compileFieldItem({ field: null, modifiers: [] }, [search as Scalar], ctx);
}

/** A detection's shape and tests; throws UnsupportedError for what huntbook does not run. */
export function detectionCond(detection: Record<string, unknown>, ctx: CompileContext): Cond {
  const conditions = detection.condition;
  const texts = Array.isArray(conditions) ? conditions.map(String) : [String(conditions ?? '')];
  if (texts.length === 0 || texts[0] === '' || texts[0] === 'undefined') throw new UnsupportedError('no condition');
  const names = Object.keys(detection).filter((k) => k !== 'condition' && k !== 'timeframe');
  if ('timeframe' in detection) throw new UnsupportedError('timeframe (correlation) is not supported');
  const compiled = new Map<string, Cond>();
  const search = (name: string): Cond => {
    if (!compiled.has(name)) {
      if (!(name in detection)) throw new UnsupportedError('condition names an unknown search identifier', name);
      compiled.set(name, compileSearch(name, detection[name], ctx));
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

export function compileDetection(detection: Record<string, unknown>, ctx: CompileContext): string {
  return renderCond(detectionCond(detection, ctx));
}
