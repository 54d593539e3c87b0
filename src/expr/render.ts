/** An expression tree as SQL for a dialect: every string bound, every name quoted, every operation in parentheses. */
import type { Dialect } from '../store/dialect.ts';
import { ident, join, raw, type Sql, sql } from '../store/sql-template.ts';
import type { Expr } from './ast.ts';
import { FUNCTIONS, TYPES } from './check.ts';

const OP_TEXT: Record<string, string> = { and: 'AND', or: 'OR' };

export function renderExpr(e: Expr, dialect: Dialect): Sql {
  const r = (x: Expr) => renderExpr(x, dialect);
  const not = (negated: boolean) => raw(negated ? 'NOT ' : '');
  switch (e.kind) {
    case 'num':
      return raw(e.text);
    case 'str':
      return sql`${e.value}`;
    case 'bool':
      return dialect.bool(e.value);
    case 'null':
      return raw('NULL');
    case 'col':
      return sql`${ident(e.name.toLowerCase())}`;
    case 'call':
      // Checked where the expression was read; checked again here, since a name becomes SQL text.
      if (!FUNCTIONS.has(e.fn)) throw new Error(`function ${e.fn}() is not allowed`);
      // json_extract_string of a literal '$.key' path: a top-level field, which every dialect can read
      if (e.fn === 'json_extract_string' && dialect.name !== 'duckdb') {
        const path = e.args[1];
        const key = path?.kind === 'str' ? /^\$\.("?)([^."]+)\1$/.exec(path.value)?.[2] : undefined;
        if (key === undefined) throw new Error(`json_extract_string on ${dialect.name} takes a literal top-level path like '$.key'`);
        return dialect.jsonField(r(e.args[0]), key);
      }
      return dialect.call(e.fn, e.args.map(r));
    case 'cast':
      if (!TYPES.has(e.type)) throw new Error(`type ${e.type} is not allowed`);
      return dialect.cast(r(e.expr), e.type, e.try);
    case 'not':
      return sql`(NOT ${r(e.expr)})`;
    case 'neg':
      return sql`(- ${r(e.expr)})`;
    case 'bin':
      return sql`(${r(e.left)} ${raw(OP_TEXT[e.op] ?? e.op)} ${r(e.right)})`;
    case 'in':
      return sql`(${r(e.expr)} ${not(e.negated)}IN (${join(e.list.map(r))}))`;
    case 'isnull':
      return sql`(${r(e.expr)} IS ${not(e.negated)}NULL)`;
    case 'like': {
      const options = { caseInsensitive: e.caseInsensitive, negated: e.negated };
      if (e.pattern.kind === 'str' && (e.escape === undefined || e.escape.kind === 'str')) {
        return dialect.like(r(e.expr), e.pattern.value, e.escape?.kind === 'str' ? { ...options, escape: e.escape.value } : options);
      }
      // A pattern computed per row: only DuckDB reads it as written.
      if (dialect.name !== 'duckdb') throw new Error(`LIKE on ${dialect.name} takes a literal pattern`);
      return sql`(${r(e.expr)} ${not(e.negated)}${raw(e.caseInsensitive ? 'ILIKE' : 'LIKE')} ${r(e.pattern)}${e.escape ? sql` ESCAPE ${r(e.escape)}` : raw('')})`;
    }
    case 'between':
      return sql`(${r(e.expr)} ${not(e.negated)}BETWEEN ${r(e.low)} AND ${r(e.high)})`;
    case 'case':
      return sql`CASE ${join(
        e.whens.map((w) => sql`WHEN ${r(w.when)} THEN ${r(w.result)}`),
        ' ',
      )}${e.otherwise ? sql` ELSE ${r(e.otherwise)}` : raw('')} END`;
  }
}
