/**
 * SPL values in SQL. Splunk's fields are dynamically typed (a number is text that reads as one) and
 * may hold several values; each SQL column here has one of four kinds, and every place that needs
 * a number, a text or a truth converts with these (so `'i_bytecount' / 't_bytecount'` divides, and
 * a values() with one value is a single value, as in Splunk).
 */
import { raw, type Sql, sql } from '../store/sql-template.ts';

/** num: DOUBLE or an integer type; str: VARCHAR; mv: VARCHAR[] (values() and list()); bool: a test's result; null: NULL. */
export type Kind = 'num' | 'str' | 'mv' | 'bool' | 'null';

export interface Typed {
  sql: Sql;
  kind: Kind;
}

/** A multivalue with exactly one value is that value; with several, no single value (NULL). */
const single = (mv: Sql) => sql`CASE WHEN len(${mv}) = 1 THEN ${mv}[1] END`;

export function asNumber(v: Typed): Sql {
  switch (v.kind) {
    case 'num':
      return v.sql;
    case 'str':
      return sql`TRY_CAST(${v.sql} AS DOUBLE)`;
    case 'mv':
      return sql`TRY_CAST(${single(v.sql)} AS DOUBLE)`;
    case 'bool':
      return sql`CAST(${v.sql} AS DOUBLE)`;
    default:
      return raw('CAST(NULL AS DOUBLE)');
  }
}

/** A number as Splunk prints it: whole numbers without a fraction, others in full. */
export function numberText(n: Sql): Sql {
  return sql`(CASE WHEN isfinite(CAST(${n} AS DOUBLE)) AND CAST(${n} AS DOUBLE) = round(CAST(${n} AS DOUBLE)) AND abs(CAST(${n} AS DOUBLE)) < 1e15
    THEN CAST(CAST(${n} AS BIGINT) AS VARCHAR) ELSE CAST(CAST(${n} AS DOUBLE) AS VARCHAR) END)`;
}

export function asText(v: Typed): Sql {
  switch (v.kind) {
    case 'str':
      return v.sql;
    case 'num':
      return numberText(v.sql);
    case 'mv':
      return single(v.sql);
    case 'bool':
      return sql`CASE WHEN ${v.sql} THEN 'true' WHEN NOT ${v.sql} THEN 'false' END`;
    default:
      return raw('CAST(NULL AS VARCHAR)');
  }
}

/** Every value as a list of texts (a single value a list of one; NULL an empty list). */
export function asList(v: Typed): Sql {
  if (v.kind === 'mv') return sql`coalesce(${v.sql}, CAST([] AS VARCHAR[]))`;
  return sql`(CASE WHEN ${asText(v)} IS NULL THEN CAST([] AS VARCHAR[]) ELSE [${asText(v)}] END)`;
}

/** A truth: a test's result, or a value that is there (Splunk's where takes only tests; eval's if() too). */
export function asBool(v: Typed): Sql {
  if (v.kind === 'bool') return v.sql;
  if (v.kind === 'null') return raw('CAST(NULL AS BOOLEAN)');
  return sql`(${v.kind === 'num' ? v.sql : asText(v)} IS NOT NULL)`;
}

/** The kind two values share when one expression may give either (if, case, coalesce). */
export function common(kinds: Kind[]): Kind {
  const present = [...new Set(kinds.filter((k) => k !== 'null'))];
  if (present.length === 0) return 'null';
  if (present.length === 1) return present[0];
  if (present.every((k) => k === 'num' || k === 'bool')) return 'num';
  if (present.includes('mv')) return 'mv';
  return 'str';
}

/** A value converted to a kind. */
export function as(v: Typed, kind: Kind): Sql {
  if (kind === 'num') return asNumber(v);
  if (kind === 'str') return asText(v);
  if (kind === 'mv') return asList(v);
  if (kind === 'bool') return asBool(v);
  return raw('NULL');
}

/** Comparison as Splunk does it: as numbers when both sides read as numbers, else as text. */
export function compare(op: string, a: Typed, b: Typed): Sql {
  const o = raw(op === '!=' ? '<>' : op);
  if ((a.kind === 'num' || a.kind === 'bool') && (b.kind === 'num' || b.kind === 'bool')) return sql`(${asNumber(a)} ${o} ${asNumber(b)})`;
  if (a.kind === 'null' || b.kind === 'null') return raw('CAST(NULL AS BOOLEAN)');
  return sql`coalesce(${asNumber(a)} ${o} ${asNumber(b)}, ${asText(a)} ${o} ${asText(b)})`;
}
