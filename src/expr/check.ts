/**
 * What each place lets an expression hold. A rule's or a feature's condition: the columns of its
 * table, a short list of functions and types. Alert logic: metric names, numbers and arithmetic.
 * Each refusal names what was refused.
 */
import { type Expr, nodes } from './ast.ts';

/** Functions a rule or a feature may call: string and date tests, no table access, no side effects. */
export const FUNCTIONS: ReadonlySet<string> = new Set([
  'lower',
  'upper',
  'length',
  'contains',
  'starts_with',
  'ends_with',
  'regexp_matches',
  'regexp_full_match',
  'coalesce',
  'nullif',
  'abs',
  'hour',
  'dayofweek',
  'date_part',
  'json_extract_string',
  'split_part',
  'strlen',
  'trim',
  'left',
  'right',
  'list_contains',
  'string_split',
  'len',
]);

export const TYPES: ReadonlySet<string> = new Set(['VARCHAR', 'BIGINT', 'INTEGER', 'DOUBLE', 'BOOLEAN', 'TIMESTAMP', 'JSON']);

/** The first thing the expression may not hold, in words, or undefined when it is fine. */
export function predicateProblem(e: Expr, columns: ReadonlySet<string>, table: string): string | undefined {
  for (const n of nodes(e)) {
    if (n.kind === 'col' && !columns.has(n.name.toLowerCase())) return `"${n.name}" is not a column of ${table}`;
    if (n.kind === 'call' && !FUNCTIONS.has(n.fn)) return `function ${n.fn}() is not allowed`;
    if (n.kind === 'cast' && !TYPES.has(n.type)) return `type ${n.type} is not allowed`;
  }
  return undefined;
}

const ALERT_OPS = new Set(['and', 'or', '=', '<>', '<', '<=', '>', '>=', '+', '-', '*', '/']);

/** Alert logic holds numbers, metric names, arithmetic, comparisons, and/or/not: nothing else. */
export function alertProblem(e: Expr, metrics: readonly string[]): string | undefined {
  for (const n of nodes(e)) {
    if (n.kind === 'col' && !metrics.includes(n.name)) return `unknown metric "${n.name}"; use ${metrics.join(', ')}`;
    if (n.kind === 'bin' && !ALERT_OPS.has(n.op)) return `"${n.op}" is not allowed (arithmetic, comparisons, and, or, not)`;
    if (!['num', 'col', 'bin', 'not', 'neg'].includes(n.kind))
      return `only numbers, metric names, arithmetic, comparisons, and, or, not are allowed`;
  }
  return undefined;
}
