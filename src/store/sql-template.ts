/**
 * SQL as values: a statement is text with holes, and what fills each hole says what it is — a
 * value (bound, never spliced), an identifier (quoted, from the caller's whitelist), or another
 * statement fragment. Nothing here knows an engine: `render()` asks a Dialect how to write a
 * placeholder, so the same statement runs on DuckDB (bound `$n`) and on an engine whose old
 * servers take no server-side parameters (ClickHouse: the dialect inlines each value through one
 * audited quoting function).
 *
 *   const q = sql`SELECT count(*) FROM ${ident('http')} WHERE dest = ${host} AND ${cond}`;
 *   const { text, params } = render(q, duckdb);
 */
import type { SqlValue } from './sql.ts';

/** A statement or fragment: literal text parts and the holes between them. */
export class Sql {
  constructor(
    readonly parts: readonly string[],
    readonly holes: readonly Hole[],
  ) {}
}

/** An identifier a caller vouches for (a column or table name from a whitelist): quoted on render. */
export class Ident {
  constructor(readonly name: string) {}
}

/** A value the dialect writes itself (its placeholder or its literal). */
export class Value {
  constructor(readonly value: SqlValue) {}
}

export type Hole = Sql | Ident | Value;

/** What may fill a hole in a template: a fragment, an identifier, or any value (bound). */
export type Fill = Sql | Ident | SqlValue;

function hole(fill: Fill): Hole {
  return fill instanceof Sql || fill instanceof Ident ? fill : new Value(fill);
}

/** sql`…${x}…`: x is bound as a value unless it is already a fragment or an identifier. */
export function sql(strings: TemplateStringsArray, ...fills: Fill[]): Sql {
  return new Sql([...strings], fills.map(hole));
}

export function ident(name: string): Ident {
  return new Ident(name);
}

/** Text that is SQL by construction (a dialect's own function names, a keyword): never a log value. */
export function raw(text: string): Sql {
  return new Sql([text], []);
}

export function join(fragments: readonly Fill[], separator = ', '): Sql {
  if (fragments.length === 0) return raw('');
  const parts = ['', ...Array<string>(fragments.length - 1).fill(separator), ''];
  return new Sql(parts, fragments.map(hole));
}

/** What a dialect supplies to render: how to write a value's hole and an identifier. */
export interface Renderer {
  /** The text for the value in hole `index` (1-based, in order of appearance); push to `params` when bound. */
  value(value: SqlValue, params: SqlValue[]): string;
  ident(name: string): string;
}

export interface Rendered {
  text: string;
  params: SqlValue[];
}

/** Text and bound values of a statement; `params` continues a list already started (placeholders number on). */
export function render(statement: Sql, renderer: Renderer, params: SqlValue[] = []): Rendered {
  const out: string[] = [];
  const walk = (s: Sql) => {
    s.parts.forEach((part, i) => {
      out.push(part);
      const h = s.holes[i];
      if (h === undefined) return;
      if (h instanceof Sql) walk(h);
      else if (h instanceof Ident) out.push(renderer.ident(h.name));
      else out.push(renderer.value(h.value, params));
    });
  };
  walk(statement);
  return { text: out.join(''), params };
}

/**
 * A statement already written as text with DuckDB's numbered placeholders ($1, $2 …) and its
 * values, as a statement value (for SQL built before `sql` existed; a quoted literal's text is
 * left alone). Its text stays DuckDB's: a stage made this way is a DuckDB stage.
 */
export function fromNumbered(text: string, values: readonly SqlValue[]): Sql {
  const parts: string[] = [];
  const holes: Hole[] = [];
  let last = 0;
  for (const m of text.matchAll(/'(?:[^']|'')*'|\$(\d+)\b/g)) {
    if (m[1] === undefined) continue;
    parts.push(text.slice(last, m.index));
    holes.push(new Value(values[Number(m[1]) - 1]));
    last = m.index + m[0].length;
  }
  parts.push(text.slice(last));
  return new Sql(parts, holes);
}
